from datetime import date

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from attnkb import frontmatter
from attnkb.errors import FrontMatterError


def test_split_handles_bom_crlf_and_reports_body_line():
    text = "\ufeff---\r\ntitle: A\r\n---\r\nbody\r\n"
    parts = frontmatter.split(text)
    assert parts.bom == "\ufeff"
    assert parts.fm_text == "title: A\r\n"
    assert parts.body == "body\r\n"
    assert parts.body_line == 4


def test_unclosed_front_matter_is_flagged():
    parts = frontmatter.split("---\ntitle: x\nbody\n")
    assert parts.unclosed and parts.fm_text is None


def test_parse_reports_yaml_error_with_file_line():
    fm = frontmatter.parse("title: ok\ntags: [a, b\nx: 1\n", first_line=2)
    assert fm.data == {}
    assert fm.problems[0].line >= 3
    assert "invalid front matter" in fm.problems[0].message


def test_a_key_written_twice_is_a_warning_at_its_second_line(cli, make_vault):
    fm = frontmatter.parse("title: A\ntags: [x]\ntitle: B\nmeta: {k: 1, k: 2}\n", first_line=2)
    assert fm.data["title"] == "B"  # as YAML readers do; the note still works
    assert [(p.line, p.severity) for p in fm.problems] == [(4, "warning")]
    assert "'title' is written twice" in fm.problems[0].message
    assert frontmatter.parse("a: 1\nb: {a: 2}\n").problems == []  # same key, other mapping
    root = make_vault({"n.md": "---\ntitle: A\ntitle: B\n---\n# H\n"})
    r = cli("--vault", root, "check")
    assert "n.md:3: warning: key 'title' is written twice" in r.stderr


def test_python_tags_are_never_executed():
    fm = frontmatter.parse("x: !!python/object/apply:os.system ['echo pwned']\n")
    assert fm.problems and "constructor" in fm.problems[0].message


def test_update_keeps_every_other_byte():
    text = (
        '\ufeff---\r\ntitle: "Q"   # keep me\r\ntags:\r\n- a\r\n- b\r\n'
        "next_review: '2025-10-19'  # due\r\nreview_count: 0\r\n---\r\nbody\r\n"
    )
    new = frontmatter.update_keys(
        text, {"next_review": date(2026, 1, 2), "review_count": 3, "mastery_level": 0.5}
    )
    assert new == (
        '\ufeff---\r\ntitle: "Q"   # keep me\r\ntags:\r\n- a\r\n- b\r\n'
        "next_review: '2026-01-02'  # due\r\nreview_count: 3\r\nmastery_level: 0.5\r\n"
        "---\r\nbody\r\n"
    )


def test_update_adds_front_matter_when_missing():
    assert frontmatter.update_keys("# T\n", {"review_count": 1}) == "---\nreview_count: 1\n---\n# T\n"


def test_update_replaces_a_multiline_value_whole():
    text = "---\nlast_reviewed:\n  - 2024-01-01\nother: 1\n---\n"
    new = frontmatter.update_keys(text, {"last_reviewed": date(2024, 2, 2)})
    assert new == "---\nlast_reviewed: '2024-02-02'\nother: 1\n---\n"


def test_update_refuses_flow_mapping_and_broken_yaml():
    with pytest.raises(FrontMatterError):
        frontmatter.update_keys("---\n{a: 1}\n---\n", {"b": 1})
    with pytest.raises(FrontMatterError):
        frontmatter.update_keys("---\n# c\n{a: 1}\n---\n", {"b": 1})
    with pytest.raises(FrontMatterError):
        frontmatter.update_keys("---\na: [1\n---\n", {"b": 1})


keys = st.sampled_from(["title", "tags", "date", "note", "x_y", "review_count", "next_review"])
scalars = st.one_of(
    st.integers(-5, 5),
    st.text(alphabet="ab 注意:#'\"", max_size=6),
    st.none(),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
)


@settings(max_examples=150, deadline=None)
@given(
    items=st.dictionaries(keys, st.one_of(scalars, st.lists(scalars, max_size=3)), max_size=5),
    indent=st.sampled_from([2, 4]),
    crlf=st.booleans(),
    comment=st.booleans(),
    body=st.text(max_size=40),
    count=st.integers(0, 1000),
)
def test_update_round_trip_touches_only_owned_keys(items, indent, crlf, comment, body, count):
    fm = (
        yaml.safe_dump(items, default_flow_style=False, allow_unicode=True, sort_keys=False, indent=indent)
        if items
        else ""
    )
    if comment:
        fm = "# a comment\n" + fm
    nl = "\r\n" if crlf else "\n"
    text = ("---\n" + fm + "---\n").replace("\n", nl) + body
    new = frontmatter.update_keys(text, {"review_count": count, "mastery_level": 0.25})
    after = frontmatter.parse(frontmatter.split(new).fm_text)
    assert after.data["review_count"] == count and after.data["mastery_level"] == 0.25
    before = frontmatter.parse(frontmatter.split(text).fm_text).data
    assert {k: v for k, v in after.data.items() if k not in ("review_count", "mastery_level")} == {
        k: v for k, v in before.items() if k not in ("review_count", "mastery_level")
    }
    assert new.endswith("---" + nl + body)
    removed = [ln for ln in text.split(nl) if not ln.startswith(("review_count", "mastery_level"))]
    kept = [ln for ln in new.split(nl) if not ln.startswith(("review_count", "mastery_level"))]
    if "review_count" not in items:
        assert kept == removed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "---\n'review_count': 3\n\"next_review\": '2025-01-01'  # due\n---\nbody\n",
            "---\n'review_count': 4\n\"next_review\": '2026-01-02'  # due\n---\nbody\n",
        ),
        (
            "---\n? review_count\n: 3\ntitle: x\n---\n",
            "---\n? review_count\n: 4\ntitle: x\nnext_review: '2026-01-02'\n---\n",
        ),
        (
            "---\nreview_count: 3\n  # why three\nnext_review: 2025-01-01\n  # keep\n---\n",
            "---\nreview_count: 4\n  # why three\nnext_review: '2026-01-02'\n  # keep\n---\n",
        ),
        (
            "---\nreview_count:   # none yet\n---\n",
            "---\nreview_count: 4   # none yet\nnext_review: '2026-01-02'\n---\n",
        ),
        (
            "---\nreview_count :\n  # c\n  - 1\n  # after\ntitle: x\n---\n",
            "---\nreview_count : 4\n  # c\n  # after\ntitle: x\nnext_review: '2026-01-02'\n---\n",
        ),
    ],
)
def test_update_finds_keys_as_yaml_reads_them_and_keeps_comments(text, expected):
    values = {"review_count": 4, "next_review": date(2026, 1, 2)}
    assert frontmatter.update_keys(text, values) == expected


@pytest.mark.parametrize(
    "text",
    [
        "---\nreview_count: 1\nreview_count: 2\n---\n",
        "---\nx: &a 3\nreview_count: *a\n---\n",
        "---\nreview_count: &a 3\ny: *a\n---\n",
    ],
)
def test_update_refuses_duplicate_keys_and_aliases(text):
    with pytest.raises(FrontMatterError):
        frontmatter.update_keys(text, {"review_count": 4})


def test_verify_catches_a_repeated_key_and_a_lost_comment():
    before = "'review_count': 3\n  # mine\ntitle: t\n"
    data = frontmatter.parse(before).data
    with pytest.raises(FrontMatterError, match="repeat key 'review_count'"):
        frontmatter._verify(before, before + "review_count: 4\n", data, {"review_count": 4})
    with pytest.raises(FrontMatterError, match="remove a comment"):
        frontmatter._verify(before, "'review_count': 4\ntitle: t\n", data, {"review_count": 4})
    frontmatter._verify(before, "'review_count': 4\n  # mine\ntitle: t\n", data, {"review_count": 4})


@settings(max_examples=100, deadline=None)
@given(
    quote=st.sampled_from(["", "'", '"', "? "]),
    comment=st.sampled_from(["", "  # trailing", "\n  # below", "\n# top level below"]),
    old=st.sampled_from(["3", "'x'", "", "[1, 2]", "\n  - 1\n  - 2"]),
    count=st.integers(0, 99),
)
def test_update_never_repeats_a_key_or_drops_a_comment(quote, comment, old, count):
    key = "? review_count\n:" if quote == "? " else f"{quote}review_count{quote}:"
    if old.startswith("\n") and comment.startswith("  #"):
        old, comment = comment + old, ""
    fm = f"title: t\n{key}{' ' if old and not old.startswith(chr(10)) else ''}{old}{comment}\nother: 1\n"
    if frontmatter.parse(fm).problems:
        return
    new = frontmatter.update_keys(f"---\n{fm}---\nbody", {"review_count": count})
    new_fm = frontmatter.split(new).fm_text
    assert frontmatter.parse(new_fm).data == {"title": "t", "review_count": count, "other": 1}
    assert new_fm.count("review_count") == 1
    for line in fm.splitlines():
        if line.strip().startswith("#"):
            assert line in new_fm.splitlines()
