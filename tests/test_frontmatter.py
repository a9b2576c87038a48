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
