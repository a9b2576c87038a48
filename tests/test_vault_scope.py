"""Where the vault is and what is a note: `init` from the vault's root, the vault a command
guessed named on stderr, `[vault] exclude`, and the checklist attnkb writes left out."""

from __future__ import annotations

import json

import pytest

from attnkb.exclude import Exclude
from attnkb.vault import walk

NOTE = "---\ntags: [cpp]\n---\n# {title}\n\n## 面试标准答案\n\n答案：{title}。\n"


def _owner_root(make_vault):
    """The root of an interview vault: notes/ and outlines/ beside files that are not notes."""
    return make_vault(
        {
            "README.md": "# 面试知识库\n\n### Q: 这是笔记吗？\n\n不是。\n",
            "QUICK_START.md": "# 快速开始\n\n运行脚本。\n",
            "docs/graph.md": "# 知识图谱\n\n生成的。\n",
            "docs/keep.md": "# 保留\n\n这一篇是笔记。\n",
            "gitpages/index.md": "# 网站\n",
            "notes/C++/移动语义.md": NOTE.format(title="移动语义"),
            "notes/C++/智能指针.md": NOTE.format(title="智能指针"),
            "outlines/C++.md": "# C++ 大纲\n\n- [移动语义](../notes/C++/移动语义.md)\n",
        },
        name="kb",
    )


def test_init_without_dir_makes_the_working_directory_the_vault(make_vault, cli, monkeypatch):
    root = _owner_root(make_vault)
    monkeypatch.chdir(root)
    r = cli("init")
    assert r.exit_code == 0, r.output
    assert (root / ".attnkb").is_dir() and not (root / "notes" / ".attnkb").exists()
    assert f"Vault ready: {root} " in r.stdout
    listed = cli("list", "--json")
    paths = {n["path"] for n in json.loads(listed.stdout)}
    assert "outlines/C++.md" in paths and "notes/C++/移动语义.md" in paths
    assert listed.stderr == ""  # found by its .attnkb/: nothing to announce
    # in a folder of the vault, init makes that folder a vault of its own, as `git init` does
    monkeypatch.chdir(root / "outlines")
    assert cli("init").exit_code == 0 and (root / "outlines" / ".attnkb").is_dir()


def test_init_honours_an_explicit_vault(make_vault, cli):
    root = _owner_root(make_vault)
    r = cli("--vault", root / "notes", "init")
    assert r.exit_code == 0 and (root / "notes" / ".attnkb").is_dir() and not (root / ".attnkb").exists()


@pytest.mark.parametrize("where", ["notes", "cwd"])
def test_a_guessed_vault_is_named_once_on_stderr(make_vault, cli, monkeypatch, where):
    root = _owner_root(make_vault)
    monkeypatch.chdir(root if where == "notes" else root / "notes")
    r = cli("list", "--json")
    assert r.exit_code == 0
    vault = root / "notes"
    what = "./notes" if where == "notes" else "the working directory"
    assert r.stderr == f"attnkb: using the vault {vault} ({what}: no .attnkb/ here or above)\n"
    assert json.loads(r.stdout)  # stdout stays JSON
    r = cli("links", "移动语义")  # looks the vault up twice: still said once
    assert r.stderr.count("using the vault") == 1


EXCLUDE = '[vault]\nexclude = ["docs/**", "!docs/keep.md", "README.md", "QUICK_START.md", "gitpages/"]\n'


def _excluding(make_vault):
    root = _owner_root(make_vault)
    (root / ".attnkb").mkdir()
    (root / ".attnkb" / "config.toml").write_text(EXCLUDE, encoding="utf-8")
    return root


def test_excluded_files_are_no_note_for_any_command(make_vault, cli):
    root = _excluding(make_vault)
    want = {"docs/keep.md", "notes/C++/移动语义.md", "notes/C++/智能指针.md", "outlines/C++.md"}
    assert {n["path"] for n in json.loads(cli("--vault", root, "list", "--json").stdout)} == want
    graph = json.loads(cli("--vault", root, "graph", "--format", "json").stdout)
    assert {n["path"] for n in graph["notes"]} == want
    check = json.loads(cli("--vault", root, "check", "--json").stdout)
    gone = {"README.md", "QUICK_START.md", "docs/graph.md", "gitpages/index.md"}
    assert check["notes"] == 4 and not [f for f in check["problems"] if f["path"] in gone]
    assert cli("--vault", root, "search", "脚本").stderr == "no notes match\n"  # QUICK_START.md
    due = json.loads(cli("--vault", root, "due", "--json", env={"ATTNKB_NOW": "2026-01-05"}).stdout)
    assert {c["path"] for c in due["new"]} <= want and "README.md" not in {c["path"] for c in due["new"]}
    r = cli("--vault", root, "show", "README.md")
    assert r.exit_code == 2 and "no note matches" in r.stderr
    assert "README.md" not in cli("--vault", root, "related", "移动语义", "--json").stdout


def test_exclude_patterns_follow_gitignore():
    ex = Exclude(["docs/**", "!docs/keep.md", "*.log.md", "/top.md", "build/"])
    assert ex.matches("docs/a.md") and not ex.matches("docs/keep.md")
    assert ex.matches("x/y.log.md") and ex.matches("top.md") and not ex.matches("x/top.md")
    assert Exclude(["build/"]).prunes("a/build/") and not ex.prunes("docs/")  # a negation: look inside


def test_walk_prunes_excluded_folders(make_vault):
    root = _owner_root(make_vault)
    rels = [f.rel for f in walk(root, exclude=Exclude(["docs/", "gitpages", "*.md", "!notes/**/*.md"]))]
    assert rels == ["notes/C++/智能指针.md", "notes/C++/移动语义.md"]


@pytest.mark.parametrize(
    "value, message",
    [
        ('"docs/**"', "must be a list of patterns"),
        ("[1]", "must be a list of patterns"),
        ('["a\\nb"]', "must hold one pattern a line"),
        ('["!"]', "has a pattern pathspec cannot read: '!'"),
        ('["' + "a" * 5000 + '"]', "has a pattern over 1000 characters: 'aaaa"),
    ],
)
def test_a_bad_exclude_is_an_error_naming_its_line(make_vault, cli, value, message):
    root = _owner_root(make_vault)
    (root / ".attnkb").mkdir()
    (root / ".attnkb" / "config.toml").write_text(f"# x\n[vault]\nexclude = {value}\n", encoding="utf-8")
    r = cli("--vault", root, "list")
    assert r.exit_code == 2
    assert f"config.toml:3: [vault] exclude {message}" in r.stderr


def test_the_checklist_attnkb_writes_is_not_a_note(make_vault, cli):
    root = _excluding(make_vault)
    env = {"ATTNKB_NOW": "2026-01-05T09:00:00+00:00"}
    r = cli("--vault", root, "due", "--markdown", "-o", root / "reviewsToday.md", env=env)
    assert r.exit_code == 0, r.output
    listed = cli("--vault", root, "list", "--json", env=env)
    assert "reviewsToday.md" not in {n["path"] for n in json.loads(listed.stdout)}
    assert listed.stderr == ""  # left out quietly: it is attnkb's own file
    check = cli("--vault", root, "check", "--json", env=env)
    assert "reviewsToday" not in check.stdout
    # a note that quotes the stamp in its text further down stays a note
    quoted = "# 清单\n\n" + "正文。\n" * 1000 + "<!-- attnkb due 2026-01-05T09:00:00+00:00 -->\n"
    (root / "notes" / "清单.md").write_text(quoted, encoding="utf-8")
    assert "notes/清单.md" in cli("--vault", root, "list", "--json", env=env).stdout


def test_a_new_note_in_an_excluded_folder_is_warned_about(make_vault, cli):
    root = _excluding(make_vault)
    r = cli("--vault", root, "new", "图谱说明", "--dir", "docs")
    assert r.exit_code == 0 and (root / "docs" / "图谱说明.md").is_file()
    assert "docs/图谱说明.md is left out by [vault] exclude" in r.stderr
    assert "left out" not in cli("--vault", root, "new", "移动构造", "--dir", "notes/C++").stderr


def test_the_indexing_bar_stays_off_a_pipe(capfd):
    """Under load, indexing 300 notes took over a second and the bar, drawn to a piped stderr,
    left a stray line break there (`list | head` then wrote b'\\n' to stderr)."""
    from attnkb.cli.common import LazyProgress

    progress = LazyProgress()
    progress.started -= 5  # as if indexing had taken five seconds
    progress(1, 2)
    progress(2, 2)
    progress.close()
    assert progress.bar is None and capfd.readouterr().err == ""
