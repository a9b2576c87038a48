"""Related notes and the generated related section."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from hypothesis import example, given, settings
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
    st.sampled_from(
        [
            "```",
            "~~~~",
            "## 相关笔记",
            "<!-- 自动生成 -->",
            "# h",
            "### h3",
            "    ```",
            "```x```",
            "a\x0c## b",
            "c\u2028```",
        ]
    ),
)


@st.composite
def layouts(draw):
    """Notes of every shape: BOM or not, LF, CRLF or CR, our section or not (old content of any
    kind under it), a section after it, and a missing final newline."""
    nl = draw(st.sampled_from(["\n", "\r\n", "\r"]))
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
@example("\n## 相关笔记\n<!-- 自动生成 -->\n>#")  # a heading in a quote ends the section too
def test_rewrite_is_byte_exact_and_idempotent(text):
    try:
        block = rs.find_block(text, CONFIG)
    except rs.ForeignSection:
        with pytest.raises(rs.ForeignSection):
            rs.render(text, "a.md", ENTRIES, CONFIG)
        return
    try:
        new = rs.render(text, "a.md", ENTRIES, CONFIG)
    except rs.ForeignSection as exc:  # a fence or HTML block left open would take the section in
        assert block is None and "never closed" in str(exc)
        return
    assert rs.render(new, "a.md", ENTRIES, CONFIG) == new
    nl = rs.newline_of(text)
    core = CONFIG.marker + nl + nl + nl.join(rs.link_line("a.md", e) for e in ENTRIES)
    if block is None:
        assert new.startswith(text) and new.endswith(core + nl)
    else:
        assert new == text[: block.start] + core + (nl if block.apart else "") + text[block.end :]
        # nothing, or the next heading: ATX or setext, maybe in a quote or list (still the user's)
        rest = text[block.end :].lstrip()
        assert (
            rest == ""
            or re.match(r"(?:(?:>|[*+-]|\d{1,9}[.)])[ \t]*)*#", rest)
            or re.match(r"(?:[^\r\n]*(?:\r?\n|\r))+ {0,3}(=+|-+)[ \t]*(\r?\n|\r|$)", rest)
        )
    assert new.startswith("\ufeff") == text.startswith("\ufeff")
    if nl == "\r\n":
        assert "\n" not in new.replace("\r\n", "")
    if nl == "\r":
        assert "\n" not in new


@pytest.mark.parametrize("after", ["After\n=====", "After\n-----", "   ## After", "##", "## After ##"])
def test_every_kind_of_heading_ends_the_block(after):
    """Setext headings, ATX headings indented up to 3 spaces and empty ones end a section as
    much as `## x` does: the block ran over them and the user's text below was replaced."""
    text = f"# A\n\n## 相关笔记\n<!-- 自动生成 -->\n\nold\n\n{after}\n\nkeep me\n"
    new = rs.render(text, "a.md", ENTRIES, CONFIG)
    assert new.endswith(f"\n\n{after}\n\nkeep me\n") and "old" not in new
    assert rs.render(new, "a.md", ENTRIES, CONFIG) == new


@pytest.mark.parametrize("code", ["```x```", "``` `x` ```", "````a```` b"])
def test_inline_code_is_no_fence(code):
    """A line of inline code that starts with backticks was read as an unclosed fence: the note
    was refused forever, and a later heading hidden, so the block ran past it."""
    text = f"# A\n\n{code}\n"
    assert rs.render(text, "a.md", ENTRIES, CONFIG).startswith(text + "\n## 相关笔记\n")
    text = f"# A\n\n## 相关笔记\n<!-- 自动生成 -->\n\n{code}\n\n## Next\n\nkeep me\n"
    new = rs.render(text, "a.md", ENTRIES, CONFIG)
    assert new.endswith("12%\n\n## Next\n\nkeep me\n") and code not in new


@pytest.mark.parametrize("opener", ["```", "~~~~ python", "<!--", "<pre>"])
def test_a_block_left_open_is_refused_not_swallowed(opener):
    with pytest.raises(rs.ForeignSection, match="never closed"):
        rs.render(f"# A\n\n{opener}\ncode\n", "a.md", ENTRIES, CONFIG)


def test_cr_only_notes_get_their_own_line_endings():
    text = "# A\r\rtext\r"
    new = rs.render(text, "a.md", ENTRIES, CONFIG)
    assert (
        new
        == text
        + "\r## 相关笔记\r<!-- 自动生成 -->\r\r"
        + "\r".join(rs.link_line("a.md", e) for e in ENTRIES)
        + "\r"
    )
    assert rs.render(new, "a.md", ENTRIES, CONFIG) == new
    assert rs.find_block(new, CONFIG) is not None


def test_form_feed_and_line_separator_break_no_line():
    """Markdown breaks lines at LF, CRLF and CR only: `old\f## x` is one line of text, not a
    heading that ends the block (str.splitlines made it one), and `a\u2028```` opens no fence."""
    text = "# A\n\n## 相关笔记\n<!-- 自动生成 -->\n\nold\x0c## not a heading\n\n## Next\nkeep\n"
    new = rs.render(text, "a.md", ENTRIES, CONFIG)
    assert "not a heading" not in new and new.endswith("12%\n\n## Next\nkeep\n")
    assert "## 相关笔记" in rs.render("# A\n\na\u2028```\n", "a.md", ENTRIES, CONFIG)


def test_a_setext_heading_right_under_the_block_stays_a_heading():
    text = "# A\n\n## 相关笔记\n<!-- 自动生成 -->\nNext\n----\nkeep\n"
    new = rs.render(text, "a.md", ENTRIES, CONFIG)
    assert new.endswith("12%\n\nNext\n----\nkeep\n")
    assert rs.render(new, "a.md", ENTRIES, CONFIG) == new


def test_link_styles():
    entry = Entry("notes/C++/b.md", "B", 30, [])
    paths = ["notes/C++/b.md", "notes/Go/a.md", "x/b2.md"]
    assert rs.Links.of("vault", paths).href("notes/Go/a.md", entry.path) == "notes/C++/b.md"
    assert rs.Links.of("relative", paths).href("notes/Go/a.md", entry.path) == "../C++/b.md"
    assert rs.Links.of("shortest", paths).href("notes/Go/a.md", entry.path) == "b.md"
    clash = rs.Links.of("shortest", [*paths, "other/B.md"])
    assert clash.href("notes/Go/a.md", entry.path) == "notes/C++/b.md"  # the name is not unique


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


def _owner_vault(make_vault):
    body = "移动语义 右值引用 std::move 完美转发 拷贝 构造 析构 智能指针 所有权"
    return make_vault(
        {
            f"notes/C++/{name}.md": f"---\ntags: [C++]\n---\n# {name}\n\n## 面试标准答案\n\n{body} {name}\n"
            for name in ("移动语义", "右值引用", "完美转发")
        }
        | {"notes/Go/通道.md": f"---\ntags: [Go]\n---\n# 通道\n\n{body} 通道 channel\n"}
    )


@pytest.mark.parametrize("style", ["vault", "relative", "shortest"])
def test_the_vault_link_style_is_detected_and_kept(cli, make_vault, style):
    """The owner's sections link from the vault's root: the first `--write --all` rewrote every
    note to links from the note's folder, though nothing else had changed."""
    root = _owner_vault(make_vault)
    (root / ".attnkb").mkdir()
    config = root / ".attnkb" / "config.toml"
    config.write_text(f'[related]\nlinks = "{style}"\n', encoding="utf-8")
    assert cli("--vault", root, "related", "--write", "--all").exit_code == 0
    text = (root / "notes/Go/通道.md").read_text(encoding="utf-8")
    href = {"vault": "notes/C++/", "relative": "../C++/", "shortest": ""}[style]
    assert re.search(rf"\]\({re.escape(href)}(移动语义|右值引用|完美转发)\.md\)", text), text
    config.unlink()  # from now on the style is read off the sections themselves
    again = cli("--vault", root, "related", "--write", "--all", "--dry-run")
    assert again.exit_code == 0 and again.stderr == "would update 0 notes, 4 unchanged, 0 skipped\n"
    # a new note gets the vault's style too
    (root / "notes/Go/协程.md").write_text("# 协程\n\n移动语义 右值引用 协程\n", encoding="utf-8")
    assert cli("--vault", root, "related", "--write", "notes/Go/协程.md").exit_code == 0
    assert f"]({href}" in (root / "notes/Go/协程.md").read_text(encoding="utf-8")


def test_a_link_style_that_is_no_style_is_refused(cli, make_vault):
    root = _owner_vault(make_vault)
    (root / ".attnkb").mkdir()
    (root / ".attnkb" / "config.toml").write_text('[related]\nlinks = "absolute"\n', encoding="utf-8")
    r = cli("--vault", root, "related", "--write", "--all")
    assert (
        r.exit_code == 2 and "config.toml:2: [related] links must be one of 'vault', 'relative'" in r.stderr
    )


def test_style_read_from_sections_whose_targets_are_elsewhere():
    """A vault holding part of the notes its sections name: the style is read off the shape."""
    text = "# A\n\n## 相关笔记\n<!-- 自动生成 -->\n\n- [x](notes/C%2B%2B/x.md) - 相似度: 3%\n- [y](notes/DS/y.md) - 相似度: 2%\n"
    block = rs.find_block(text, CONFIG)
    assert rs.block_style(text, block, "notes/深度学习/a.md", set()) == "vault"
    rel = text.replace("](notes/", "](../")
    assert rs.block_style(rel, rs.find_block(rel, CONFIG), "notes/深度学习/a.md", set()) == "relative"
    assert rs.block_style(text, block, "a.md", set()) is None  # from the top all styles agree


def test_progress_on_a_terminal_only(make_vault):
    import os
    import pty
    import subprocess
    import sys

    root = _owner_vault(make_vault)
    env = {**os.environ, "ATTNKB_CEILING_DIRECTORIES": str(root.parent), "COLUMNS": "100"}
    command = [sys.executable, "-m", "attnkb", "--vault", str(root), "related", "--write", "--all"]
    piped = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert piped.returncode == 0 and piped.stderr == b"" and b"Writing related" not in piped.stdout
    for f in root.rglob("*.md"):  # back to no section, so that every note is written again
        f.write_text(f.read_text(encoding="utf-8").split("\n## 相关笔记")[0], encoding="utf-8")
    leader, follower = pty.openpty()
    try:
        run = subprocess.run(command, stdout=subprocess.PIPE, stderr=follower, env=env, timeout=120)
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert run.returncode == 0 and b"Writing related sections" in seen
    assert run.stdout == b"updated 4 notes, 0 unchanged, 0 skipped\n"
