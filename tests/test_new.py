"""``attnkb new``, templates and ``init --starter``: safe names, no overwrites, notes due today."""

import json
import os
import stat
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnkb.errors import UsageError
from attnkb.note import parse_text
from attnkb.templates import Values, render, safe_file_name, template_names

TODAY = "2026-03-04"


@pytest.fixture
def new(cli, make_vault):
    root = make_vault({"注意力机制概述.md": "# 注意力机制概述\n"})

    def run(*args, env=None):
        return cli("--vault", root, "new", *args, env={"ATTNKB_NOW": TODAY, **(env or {})})

    run.root = root
    return run


def read_note(path: Path):
    return parse_text(path.name, path.read_text(encoding="utf-8"))


def test_new_writes_a_note_from_the_concept_template_due_today(new, cli):
    r = new("多头注意力", "--tag", "attention", "--tag", "#transformer/core", "--link", "注意力机制概述")
    assert r.exit_code == 0, r.output
    path = Path(r.stdout.strip())
    assert path == new.root / "多头注意力.md" and r.stderr == ""
    note = read_note(path)
    assert note.problems == []
    assert note.title == "多头注意力"
    assert note.tags == ["attention", "transformer/core"]
    assert note.meta["type"] == "concept"
    assert note.meta["next_review"] == TODAY and note.meta["created"] == TODAY
    assert note.meta["review_count"] == 0 and note.meta["last_reviewed"] is None
    assert [link.target for link in note.links if link.kind == "front-matter"] == ["注意力机制概述"]
    assert len(note.cards) >= 3 and len(note.examples) == 1
    # A new card (never reviewed, so not overdue), linked both ways into the graph, example passes.
    due = cli("--vault", new.root, "due", "--json", env={"ATTNKB_NOW": TODAY})
    assert "多头注意力.md" in {c["path"] for c in json.loads(due.stdout)["new"]}
    links = json.loads(cli("--vault", new.root, "links", "注意力机制概述", "--json").stdout)
    assert {b["sourcePath"] for b in links["backlinks"]} == {"多头注意力.md"}
    assert cli("--vault", new.root, "run-example", "多头注意力").exit_code == 0


def test_new_never_overwrites(new):
    assert new("自注意力").exit_code == 0
    path = new.root / "自注意力.md"
    path.write_text("my own words\n", encoding="utf-8")
    r = new("自注意力", "--template", "interview")
    assert r.exit_code == 1
    assert r.stdout.strip() == str(path)
    assert r.stderr.strip() == "attnkb: 自注意力.md: a note with this name already exists; nothing written"
    assert path.read_text(encoding="utf-8") == "my own words\n"


HOSTILE = [
    "../../etc/passwd",
    "a/b\\c",
    "/absolute/path",
    "名字/../../逃逸",
    "\x00\x1b[31mred\x7f",
    "line\nbreak\rand\ttab",
    "\u202eexe.md",
    ".hidden",
    "trailing dots...",
    "CON",
    "con.txt",
    "lpt9",
    "what? <a|b> *star* : colon",
    "长" * 300,
    "[[link]] ![[embed]] `code` $x$ # not a heading",
]


@pytest.mark.parametrize("title", HOSTILE)
def test_hostile_titles_stay_inside_the_vault(new, tmp_path, title):
    before = set(tmp_path.iterdir())
    r = new(title)
    assert r.exit_code == 0, r.output
    path = Path(r.stdout.strip())
    assert path.parent == new.root and path.suffix == ".md"
    assert set(tmp_path.iterdir()) == before  # nothing written beside the vault
    name = path.name
    assert not name.startswith(".") and ".." not in name
    assert not any(c in name for c in '/\\<>:"|?*') and all(c.isprintable() for c in name)
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT9", "COM1"}
    assert len(name.encode()) <= 255
    note = read_note(path)
    assert note.problems == []
    assert note.title == " ".join("".join(c if c.isprintable() else " " for c in title).split())


@pytest.mark.parametrize("title", ["", "   ", "..", "/", "\x00\x01", "../..", "..."])
def test_titles_that_leave_no_name_are_refused(new, title):
    r = new(title)
    assert r.exit_code == 2
    assert r.stderr.startswith("attnkb: ") and "Traceback" not in r.output
    assert sorted(p.name for p in new.root.iterdir()) == ["注意力机制概述.md"]


@given(st.text(max_size=300))
def test_safe_file_name_never_escapes_its_folder(title):
    try:
        name = safe_file_name(title)
    except UsageError:
        return
    assert name.endswith(".md") and len(name.encode()) <= 255
    assert "/" not in name and "\\" not in name and ".." not in name and "\x00" not in name
    assert not name.startswith(".") and all(c.isprintable() for c in name)
    assert (Path("/vault") / name).parent == Path("/vault")


@pytest.mark.parametrize(
    "title", ["2024-01-01", "true", "null", "a, b", "[x]", "{y: 1}", "- item", "'q'", "1.5"]
)
def test_titles_yaml_would_misread_are_kept_as_text(new, title):
    r = new("--tag", "a, b", "--tag", "2024", "--link", "x: y", "--", title)
    assert r.exit_code == 0, r.output
    note = read_note(Path(r.stdout.strip()))
    assert note.problems == []
    assert note.title == title and note.meta["title"] == title
    assert note.tags == ["a, b", "2024"]
    assert [link.target for link in note.links if link.kind == "front-matter"] == ["x: y"]
    assert "[[x: y]]" in Path(r.stdout.strip()).read_text(encoding="utf-8")


def test_unresolved_links_warn_but_the_note_is_written(new):
    r = new("新笔记", "--link", "注意力机制概述", "--link", "还没写的笔记")
    assert r.exit_code == 0
    assert r.stderr.strip() == "attnkb: warning: --link '还没写的笔记' matches no note (yet)"
    assert (new.root / "新笔记.md").exists()


def test_links_that_would_break_the_link_syntax_are_refused(new):
    r = new("n", "--link", "a]] [[b")
    assert r.exit_code == 2 and "--link" in r.stderr
    assert not (new.root / "n.md").exists()


@pytest.mark.parametrize("name", ["concept", "interview", "lecture"])
def test_bundled_templates_make_clean_notes(new, cli, name):
    r = new(f"模板 {name}", "--template", name, "--tag", "t", "--link", "注意力机制概述")
    assert r.exit_code == 0, r.output
    path = Path(r.stdout.strip())
    note = read_note(path)
    assert note.problems == [] and note.meta["type"] == name
    assert note.meta["next_review"] == TODAY and len(note.cards) >= 2
    check = json.loads(cli("--vault", new.root, "check", "--json").stdout)
    assert check["errors"] == 0 and check["warnings"] == 0, check["problems"]


def test_unknown_template_lists_the_known_ones(new):
    r = new("x", "--template", "nope")
    assert r.exit_code == 2
    assert "no template 'nope'; there are: concept, interview, lecture" in r.stderr
    assert new("x", "--template", "../concept").exit_code == 2


def test_a_vault_template_overrides_the_bundled_one(new):
    own = new.root / ".attnkb" / "templates"
    own.mkdir(parents=True)
    (own / "concept.md").write_text(
        "---\ntitle: {{ title }}\nmine: true\n---\n# {{title}}\n$x^{{2}}$ costs $5\n"
    )
    (own / "flash.md").write_text("# {{ title }} ({{ date }})\nrelated: {{ related }}\n")
    r = new("Mine")
    assert r.exit_code == 0, r.output
    assert (
        new.root / "Mine.md"
    ).read_text() == "---\ntitle: Mine\nmine: true\n---\n# Mine\n$x^{{2}}$ costs $5\n"
    assert new("Flash", "--template", "flash", "--link", "A").exit_code == 0
    assert (new.root / "Flash.md").read_text() == f"# Flash ({TODAY})\nrelated: [[A]]\n"
    assert "flash" in template_names(new.root)


def test_broken_templates_name_the_template_and_line(new):
    own = new.root / ".attnkb" / "templates"
    own.mkdir(parents=True)
    (own / "typo.md").write_text("---\ntitle: {{ title }}\n---\n\n# {{ titel }}\n")
    r = new("x", "--template", "typo")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        f"attnkb: {own / 'typo.md'}:5: unknown placeholder {{{{ titel }}}}; use title, date, tags, related"
    )
    (own / "yaml.md").write_text("---\ntitle: [{{ title }}\n---\n")
    r = new("x", "--template", "yaml")
    assert r.exit_code == 2 and "invalid front matter" in r.stderr
    assert not (new.root / "x.md").exists()


def test_render_writes_values_as_yaml_in_front_matter_and_text_in_body():
    values = Values("a: b", date(2026, 1, 2), ["x y"], ["P"])
    text = render("---\nt: {{title}}\nr: {{related}}\n---\n{{title}} {{related}} {{tags}}\n", values)
    assert text == '---\nt: "a: b"\nr: [[P]]\n---\na: b [[P]] x y\n'


def test_dir_puts_the_note_in_a_folder_inside_the_vault(new, tmp_path):
    r = new("深层", "--dir", "概念/注意力")
    assert r.exit_code == 0
    assert Path(r.stdout.strip()) == new.root / "概念" / "注意力" / "深层.md"
    for bad in ("../outside", "/tmp", ".obsidian", "a/../../b"):
        r = new("x", "--dir", bad)
        assert r.exit_code == 2 and "--dir" in r.stderr, bad
    os.symlink(tmp_path, new.root / "escape")
    r = new("x", "--dir", "escape")
    assert r.exit_code == 2 and "outside the vault" in r.stderr
    assert not (tmp_path / "x.md").exists()


def test_edit_opens_the_editor_with_the_new_note(new, tmp_path):
    editor = tmp_path / "fake editor.sh"
    editor.write_text('#!/bin/sh\nprintf "%s\\n" "$1" "$2" > "$(dirname "$0")/args"\necho edited >> "$2"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    r = new("编辑我", "--edit", env={"EDITOR": f"'{editor}' --wait"})
    assert r.exit_code == 0, r.output
    path = new.root / "编辑我.md"
    assert (tmp_path / "args").read_text().splitlines() == ["--wait", str(path)]
    assert path.read_text(encoding="utf-8").endswith("edited\n")
    r = new("另一个", "--edit", env={"EDITOR": str(tmp_path / "no-such-editor")})
    assert r.exit_code == 2 and "cannot start the editor" in r.stderr
    assert (new.root / "另一个.md").exists()  # the note was written before the editor failed


def test_init_starter_copies_the_bundled_vault_without_overwriting(cli, tmp_path):
    target = tmp_path / "study"
    target.mkdir()
    (target / "注意力机制概述.md").write_text("mine\n", encoding="utf-8")
    r = cli("init", target, "--starter")
    assert r.exit_code == 0, r.output
    assert "kept 1 existing files as they were: 注意力机制概述.md" in r.stderr
    assert (target / "注意力机制概述.md").read_text(encoding="utf-8") == "mine\n"
    bundled = sorted(p.name for p in (Path(__file__).parents[1] / "notes").glob("*.md"))
    assert sorted(p.name for p in target.glob("*.md")) == bundled
    assert (target / ".attnkb").is_dir()
    fresh = tmp_path / "fresh"
    assert cli("init", fresh, "--starter").exit_code == 0
    assert cli("--vault", fresh, "check").exit_code == 0
    assert cli("--vault", fresh, "run-example", "--all", "--quiet").exit_code == 0
