"""Related notes and the generated related section."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnkb import related_section as rs
from attnkb.graph import Graph
from attnkb.related_section import Entry, SectionConfig
from attnkb.vault import Index
from tests.conftest import need_shared

CONFIG = SectionConfig()
ENTRIES = [Entry("sub/b.md", "B [x]", 36, ["a", "b"]), Entry("c d.md", "C", 12, [])]
LINE = re.compile(r"^- \[.+\]\(.+\.md\) - 相似度: \d+%( \| 标签: .+)?$")

text_line = st.one_of(
    st.text(alphabet=st.sampled_from("ab 注意#-`~<>!相关笔记"), max_size=12),
    st.sampled_from(["```", "~~~~", "## 相关笔记", "<!-- 自动生成 -->", "# h", "### h3", "    ```"]),
)


@st.composite
def layouts(draw):
    """Notes of every shape: BOM or not, LF or CRLF, our section or not (old content of any
    kind under it), a section after it, and a missing final newline."""
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    before = draw(st.lists(text_line, max_size=6))
    parts = before[:]
    if draw(st.booleans()):
        parts += [
            "",
            CONFIG.heading,
            CONFIG.marker,
            *draw(st.lists(text_line.filter(lambda s: not s.startswith("#")), max_size=5)),
        ]
    after = draw(st.sampled_from([[], ["## Next", "kept"], ["# Top", "", "kept too"]]))
    text = nl.join(parts + after)
    if draw(st.booleans()):
        text += nl
    return draw(st.sampled_from(["", "\ufeff"])) + text


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_rewrite_is_byte_exact_and_idempotent(text):
    try:
        block = rs.find_block(text, CONFIG)
    except rs.ForeignSection:
        with pytest.raises(rs.ForeignSection):
            rs.render(text, "a.md", ENTRIES, CONFIG)
        return
    new = rs.render(text, "a.md", ENTRIES, CONFIG)
    assert rs.render(new, "a.md", ENTRIES, CONFIG) == new
    nl = rs.newline_of(text)
    core = CONFIG.marker + nl + nl + nl.join(rs.link_line("a.md", e) for e in ENTRIES)
    if block is None:
        assert new.startswith(text) and new.endswith(core + nl)
    else:
        assert new == text[: block.start] + core + text[block.end :]
        rest = text[block.end :].lstrip()  # nothing, or the next heading: ATX or setext
        assert (
            rest == "" or rest.startswith("#") or re.match(r"[^\n]*\r?\n {0,3}(=+|-+)[ \t]*(\r?\n|$)", rest)
        )
    assert new.startswith("\ufeff") == text.startswith("\ufeff")
    if nl == "\r\n":
        assert "\n" not in new.replace("\r\n", "")


@pytest.mark.parametrize("after", ["After\n=====", "After\n-----", "   ## After", "##", "## After ##"])
def test_every_kind_of_heading_ends_the_block(after):
    """Setext headings, ATX headings indented up to 3 spaces and empty ones end a section as
    much as `## x` does: the block ran over them and the user's text below was replaced."""
    text = f"# A\n\n## 相关笔记\n<!-- 自动生成 -->\n\nold\n\n{after}\n\nkeep me\n"
    new = rs.render(text, "a.md", ENTRIES, CONFIG)
    assert new.endswith(f"\n\n{after}\n\nkeep me\n") and "old" not in new
    assert rs.render(new, "a.md", ENTRIES, CONFIG) == new


def test_line_format_and_links_resolve(make_vault):
    assert rs.link_line("x/a.md", ENTRIES[0]) == "- [B \\[x\\]](../sub/b.md) - 相似度: 36% | 标签: a, b"
    assert rs.link_line("a.md", ENTRIES[1]) == "- [C](c%20d.md) - 相似度: 12%"
    root = make_vault(
        {"x/a.md": rs.render("# A\n", "x/a.md", ENTRIES, CONFIG), "sub/b.md": "# B\n", "c d.md": "# C\n"}
    )
    graph = Graph(Index(root).notes())
    assert sorted(e.target for e in graph.outgoing("x/a.md")) == ["c d.md", "sub/b.md"]


def test_a_title_or_tag_across_lines_stays_on_its_line():
    """`title: "a\\n## 相关笔记"` put a heading into the section: the next run found the heading
    without its marker and left the note broken."""
    entry = Entry("t.md", "a\n## 相关笔记\u2028b", 30, ["x\ny", "z"])
    assert rs.link_line("a.md", entry) == "- [a ## 相关笔记 b](t.md) - 相似度: 30% | 标签: x y, z"
    new = rs.render("# A\n", "a.md", [entry], CONFIG)
    assert rs.render(new, "a.md", [entry], CONFIG) == new


def test_a_file_name_with_line_breaks_is_one_link_that_resolves(make_vault):
    name = "c\nd\u2028e\tf.md"
    line = rs.link_line("a.md", Entry(name, "C", 30, []))
    assert line == "- [C](c%0Ad%E2%80%A8e%09f.md) - 相似度: 30%"
    root = make_vault({"a.md": rs.render("# A\n", "a.md", [Entry(name, "C", 30, [])], CONFIG), name: "# C\n"})
    assert [e.target for e in Graph(Index(root).notes()).outgoing("a.md")] == [name]


def test_names_are_whole_words_but_chinese_matches_anywhere():
    from attnkb.related import names

    assert names("see note-4.", "note-4") and not names("see note-42", "note-4")
    assert not names("xmha", "mha") and names("用多头注意力时", "注意力")


def test_none_line_when_nothing_passes():
    assert rs.render("x", "a.md", [], CONFIG) == "x\n\n## 相关笔记\n<!-- 自动生成 -->\n\n暂无相关笔记\n"


def _vault(make_vault):
    body = "注意力 机制 查询 键 值 softmax attention 缩放 点积 多头"
    return make_vault(
        {
            "a.md": f"---\ntags: [attn]\n---\n# 甲\n\n{body} 甲\n",
            "b.md": f"---\ntags: [attn]\n---\n# 乙\n\n{body} 乙 [[a]]\n",
            "c.md": "# 丙\n\n卷积 池化 图像 convolution pooling\n",
            "d.md": "# 丁\n\n卷积 池化 图像 convolution kernel\n",
        }
    )


def test_related_rows_linked_and_unlinked(cli, make_vault):
    root = _vault(make_vault)
    rows = json.loads(cli("--vault", root, "related", "a.md", "--json").stdout)["related"]
    assert rows[0]["path"] == "b.md" and rows[0]["linked"] is True and rows[0]["similarity"] > 40
    assert set(rows[0]) == {"path", "title", "similarity", "tags", "linked"}
    assert all(r["path"] != "a.md" for r in rows)
    unlinked = json.loads(cli("--vault", root, "related", "a.md", "--json", "--unlinked").stdout)["related"]
    assert "b.md" not in [r["path"] for r in unlinked]
    plain = cli("--vault", root, "related", "丙")
    assert plain.exit_code == 0 and "d.md" in plain.stdout


def test_write_dry_run_idempotent_and_counted_as_links(cli, make_vault):
    root = _vault(make_vault)
    (root / "c.md").write_bytes("\ufeff# 丙\r\n\r\n卷积 池化 图像 convolution pooling".encode())
    before = {p.name: p.read_bytes() for p in root.glob("*.md")}
    dry = cli("--vault", root, "related", "--write", "--all", "--dry-run")
    assert dry.exit_code == 0 and "+## 相关笔记" in dry.stdout
    assert {p.name: p.read_bytes() for p in root.glob("*.md")} == before
    assert cli("--vault", root, "related", "--write", "--all").exit_code == 0
    after = {p.name: p.read_bytes() for p in root.glob("*.md")}
    c = after["c.md"]
    assert c.startswith(before["c.md"] + b"\r\n\r\n## ") and b"\n" not in c.replace(b"\r\n", b"")
    assert b"- [\xe4\xb8\x81](d.md) - \xe7\x9b\xb8\xe4\xbc\xbc\xe5\xba\xa6: " in c
    again = cli("--vault", root, "related", "--write", "--all")
    assert again.exit_code == 0 and {p.name: p.read_bytes() for p in root.glob("*.md")} == after
    rows = json.loads(cli("--vault", root, "related", "c.md", "--json").stdout)["related"]
    assert rows[0]["path"] == "d.md" and rows[0]["linked"] is True
    assert cli("--vault", root, "check").exit_code == 0


def test_write_never_clobbers_an_edit_made_meanwhile(make_vault, monkeypatch):
    from attnkb import related

    root = make_vault({"a.md": "# A\n"})
    real = rs.render
    calls = []

    def edit_then_render(text, *args):
        if not calls:
            (root / "a.md").write_text("# A\n\nedited meanwhile\n", encoding="utf-8")
        calls.append(text)
        return real(text, *args)

    monkeypatch.setattr(rs, "render", edit_then_render)
    outcome = related.write_section(root, "a.md", ENTRIES, CONFIG)
    assert outcome.status == "updated" and len(calls) == 2
    assert (root / "a.md").read_text(encoding="utf-8").startswith("# A\n\nedited meanwhile\n\n## 相关笔记")


def test_foreign_section_and_bad_bytes_are_left_alone(cli, make_vault):
    root = _vault(make_vault)
    (root / "c.md").write_text("# 丙\n\n## 相关笔记\n\nmy own list\n", encoding="utf-8")
    (root / "d.md").write_bytes(b"# \xff\n")
    result = cli("--vault", root, "related", "--write", "c.md", "d.md")
    assert result.exit_code == 1
    assert (
        "c.md: has '## 相关笔记' without the marker" in result.stderr
        and "d.md: not valid UTF-8" in result.stderr
    )
    assert (root / "c.md").read_text(encoding="utf-8") == "# 丙\n\n## 相关笔记\n\nmy own list\n"
    assert (root / "d.md").read_bytes() == b"# \xff\n"


def test_config(cli, make_vault):
    root = _vault(make_vault)
    (root / ".attnkb").mkdir()
    (root / ".attnkb" / "config.toml").write_text(
        '[review]\nnew_per_day = 5\n[related]\nheading = "### See also"\nmarker = "<!-- gen -->"\nlimit = 1\nmin = 0\n',
        encoding="utf-8",
    )
    assert cli("--vault", root, "related", "--write", "a.md").exit_code == 0
    tail = (root / "a.md").read_text(encoding="utf-8").split("### See also\n")[1]
    assert tail.startswith("<!-- gen -->\n\n- [乙](b.md) - 相似度: ") and tail.count("\n- ") == 1
    (root / ".attnkb" / "config.toml").write_text("[related]\nlimt = 3\n", encoding="utf-8")
    typo = cli("--vault", root, "related", "a.md")  # warned, not fatal, as in [review]
    assert (
        typo.exit_code == 0 and "config.toml:2: warning: unknown key [related] limt (ignored)" in typo.stderr
    )
    (root / ".attnkb" / "config.toml").write_text("[related]\nlimit = 0\n", encoding="utf-8")
    bad = cli("--vault", root, "related", "--write", "a.md")
    assert bad.exit_code == 2 and "config.toml:2: [related] limit must be a whole number >= 1" in bad.stderr
    (root / ".attnkb" / "config.toml").write_text('[related]\nheading = "See also"\n', encoding="utf-8")
    assert "must be a Markdown heading" in cli("--vault", root, "related", "a.md").stderr


@pytest.mark.parametrize("marker", ["## gen", "# gen", "```", "~~~ gen"])
def test_marker_that_would_end_or_fence_the_block_is_refused(cli, make_vault, marker):
    """A heading as marker ends our own block at once (every run appended another copy); a
    fence as marker turned the rest of the note into code."""
    root = _vault(make_vault)
    (root / ".attnkb").mkdir()
    (root / ".attnkb" / "config.toml").write_text(f'[related]\nmarker = "{marker}"\n', encoding="utf-8")
    before = (root / "a.md").read_bytes()
    bad = cli("--vault", root, "related", "--write", "a.md")
    assert bad.exit_code == 2 and "config.toml:2: [related] marker must not be" in bad.stderr
    assert (root / "a.md").read_bytes() == before


def test_output_piped_into_a_reader_that_stops_is_not_an_error(cli, make_vault, monkeypatch):
    """`related --write --all --dry-run | head`: the closed pipe printed `attnkb: Broken pipe`
    and exit 2 (our OSError mapping caught it before click's quiet EPIPE handling)."""
    root = _vault(make_vault)

    def closed(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("attnkb.cli.find._write", closed)
    result = cli("--vault", root, "related", "--write", "--all", "--dry-run")
    assert "Broken pipe" not in result.stderr and result.exit_code != 2


@pytest.mark.parametrize(
    "args", [[], ["a.md", "b.md"], ["--write"], ["--write", "a.md", "--all"], ["a.md", "--dry-run"], ["nope"]]
)
def test_usage_errors(cli, make_vault, args):
    root = _vault(make_vault)
    result = cli("--vault", root, "related", *args)
    assert result.exit_code == 2 and result.stderr.startswith("attnkb: ")


def test_real_vault_sections_keep_their_format(cli, tmp_path):
    src = need_shared("reference", "interview-vault")
    root = tmp_path / "iv"
    # copyfile: a copy the user may edit (../shared is read-only, and read-only notes are never rewritten)
    shutil.copytree(src, root, ignore=shutil.ignore_patterns(".attnkb"), copy_function=shutil.copyfile)
    with_section = sorted(
        p
        for p in (root / "notes").rglob("*.md")
        if rs.NONE_LINE not in p.read_text(encoding="utf-8")
        and CONFIG.marker in p.read_text(encoding="utf-8")
    )
    empty = sorted(p for p in (root / "notes").rglob("*.md") if rs.NONE_LINE in p.read_text(encoding="utf-8"))
    assert with_section and empty
    for path in (with_section[0], empty[0]):
        rel = path.relative_to(root).as_posix()
        old = path.read_text(encoding="utf-8")
        result = cli("--vault", root, "related", "--write", rel)
        assert result.exit_code == 0, result.stderr
        new = path.read_text(encoding="utf-8")
        head = old[: old.index(CONFIG.marker)]
        assert new.startswith(head + CONFIG.marker + "\n\n") and head.rstrip().endswith(CONFIG.heading)
        body = new[len(head) + len(CONFIG.marker) :].strip().splitlines()
        assert body == [rs.NONE_LINE] or all(LINE.match(line) for line in body)
        assert new.endswith("\n\n") == old.endswith("\n\n")
        assert cli("--vault", root, "related", "--write", rel).stdout.startswith("updated 0 notes")
        graph = Graph(Index(root).notes())
        written = [e for e in graph.outgoing(rel) if e.link.line > old.count("\n")]
        assert all(e.target for e in written)
