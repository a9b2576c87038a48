"""The one write rule, for every file attnkb writes: each writer is run here with a symlink out
of the vault planted where it writes (as a cloned vault can carry one), and the file outside must
stay as it was, with a one-line message naming the file. A source scan checks that no module but
``attnkb.files`` opens a file for writing, so a new writer cannot bypass the rule unnoticed."""

from __future__ import annotations

import ast
import errno
import os
import stat
from pathlib import Path

import pytest

from tests.test_anki import build_package
from tests.test_optimize import simulated_reviews, write_log

NOW = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "laptop"}
NOTE = "# Attention\n\n### Q: what is attention?\n\nA weighted sum.\n"
SHELL = b"# the user's shell start-up file\nexport PATH=$HOME/bin:$PATH\n"
BLOCK = "# E\n\n```attention\nop: softmax\nscores: [[0, 0], [1, 0]]\nexpect:\n  weights: [[0.9, 0.1], [0.5, 0.5]]\n```\n"
WORDS = "scaled dot product attention softmax query key value"


def _outside(tmp_path: Path, name: str = "bashrc", data: bytes | None = SHELL) -> Path:
    """A file of the user's outside the vault (``data=None``: a name that does not exist yet)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    path = home / name
    if data is not None:
        path.write_bytes(data)
    return path


def _state(root: Path) -> Path:
    (root / ".attnkb" / "reviews").mkdir(parents=True, exist_ok=True)
    return root / ".attnkb"


# Each writer: plant a link, run the command; returns (result, the planted name, outside files).


def w_log_append(root, tmp_path, cli):
    target = _outside(tmp_path)
    os.symlink(target, _state(root) / "reviews" / "laptop.log")
    (root / "x;echo PWNED;#.md").write_text(NOTE)
    return cli("--vault", root, "review", input="\n3\n", env=NOW), ".attnkb/reviews/laptop.log", [target]


def w_log_migration(root, tmp_path, cli):
    target = _outside(tmp_path)
    state = _state(root)
    (state / "reviews.log").write_text("2026-11-01T10:00:00+00:00\tc\t3\t1000\tn.md\n")
    os.symlink(target, state / "reviews" / "laptop.log")
    result = cli("--vault", root, "review", input="\n3\n", env=NOW)
    assert (state / "reviews.log").exists()  # the old log is kept until it could be moved
    return result, ".attnkb/reviews/laptop.log", [target]


def w_state_folder(root, tmp_path, cli):
    away = tmp_path / "home" / "state"
    (away / "reviews").mkdir(parents=True)
    os.symlink(away, root / ".attnkb")
    return cli("--vault", root, "review", input="\n3\n", env=NOW), ".attnkb", [away]


def w_lock(root, tmp_path, cli):
    target = _outside(tmp_path, "created-by-attnkb", None)
    os.symlink(target, _state(root) / "lock")
    return cli("--vault", root, "review", input="\n3\n", env=NOW), ".attnkb/lock", [target]


def w_git_files(root, tmp_path, cli):
    target = _outside(tmp_path, "gitignore", None)
    os.symlink(target, _state(root) / ".gitignore")
    return cli("--vault", root, "init"), None, [target]


def w_config(root, tmp_path, cli):
    target = _outside(tmp_path, "config.toml", b"# someone else's settings\n")
    write_log(root, simulated_reviews(80))
    os.symlink(target, root / ".attnkb" / "config.toml")
    return cli("--vault", root, "optimize"), ".attnkb/config.toml", [target]


def w_anki_default_folder(root, tmp_path, cli):
    away = tmp_path / "home" / "autostart"
    away.mkdir(parents=True)
    os.symlink(away, root / "anki")
    package = build_package(tmp_path / "deck.apkg", tmp_path, "legacy")
    return cli("--vault", root, "import", "anki", str(package), "--deck", "ML"), "anki", [away]


def w_anki_note(root, tmp_path, cli):
    target = _outside(tmp_path, "note.md", None)
    (root / "in").mkdir()
    os.symlink(target, root / "in" / "What is attention.md")
    package = build_package(tmp_path / "deck.apkg", tmp_path, "legacy")
    result = cli("--vault", root, "import", "anki", str(package), "--into", root / "in", "--deck", "ML")
    assert (root / "in" / "Hostile question.md").is_file()  # the other notes are written
    return result, None, [target]


def w_anki_media(root, tmp_path, cli):
    target = _outside(tmp_path, "fig.png", None)
    (root / "in").mkdir()
    os.symlink(target, root / "in" / "fig.png")
    package = build_package(tmp_path / "deck.apkg", tmp_path, "legacy")
    result = cli("--vault", root, "import", "anki", str(package), "--into", root / "in", "--deck", "ML")
    assert "in/fig.png: exists with other content; kept" in result.output
    return result, None, [target]


def w_export(root, tmp_path, cli):
    target = _outside(tmp_path)
    os.symlink(target, root / ".out.apkg.tmp")  # the temp name main used to write through
    result = cli("--vault", root, "export", "anki", root / "out.apkg")
    assert result.exit_code == 0, result.output
    assert (root / "out.apkg").is_file() and not (root / "out.apkg").is_symlink()
    return result, None, [target]


def w_export_target(root, tmp_path, cli):
    target = _outside(tmp_path)
    os.symlink(target, root / "out.apkg")
    return cli("--vault", root, "export", "anki", root / "out.apkg"), "out.apkg", [target]


def w_checklist(root, tmp_path, cli):
    target = _outside(tmp_path)
    os.symlink(target, root / "today.md")
    return cli("--vault", root, "due", "--markdown", "-o", root / "today.md", env=NOW), "today.md", [target]


def w_checklist_folder(root, tmp_path, cli):
    away = tmp_path / "home" / "daily"
    away.mkdir(parents=True)
    os.symlink(away, root / "daily")
    result = cli("--vault", root, "due", "--markdown", "-o", root / "daily" / "today.md", env=NOW)
    return result, "daily/today.md", [away]


def w_export_folder(root, tmp_path, cli):
    away = tmp_path / "home" / "decks"
    away.mkdir(parents=True)
    os.symlink(away, root / "decks")
    return cli("--vault", root, "export", "anki", root / "decks" / "x.apkg"), "decks/x.apkg", [away]


def w_checklist_untick(root, tmp_path, cli):
    away = _outside(tmp_path, "list.md", None)
    assert cli("--vault", root, "due", "--markdown", "-o", away, env=NOW).exit_code == 0
    away.write_bytes(away.read_bytes().replace(b"- [ ]", b"- [x]"))
    ticked = away.read_bytes()
    os.symlink(away, root / "today.md")
    result = cli("--vault", root, "review", "--checklist", root / "today.md", env=NOW)
    assert away.read_bytes() == ticked
    assert "Recorded 1 review for 1 note" in result.stdout  # the grade is kept
    return result, "today.md", []


def w_new_note(root, tmp_path, cli):
    away = tmp_path / "home" / "away"
    away.mkdir(parents=True)
    os.symlink(away, root / "sub")
    return cli("--vault", root, "new", "Fresh", "--dir", "sub"), "sub", [away]


def w_starter(root, tmp_path, cli):
    target = _outside(tmp_path, "starter.md", None)
    os.symlink(target, root / "交叉注意力.md")
    result = cli("init", root, "--starter")
    assert len(list(root.glob("*.md"))) > 3  # the other starter notes are copied
    assert "kept 1 existing files as they were: 交叉注意力.md" in result.stderr
    return result, None, [target]


def w_index_cache(root, tmp_path, cli):
    target = _outside(tmp_path, "empty", b"")
    os.symlink(target, _state(root) / "index.sqlite")
    result = cli("--vault", root, "list")
    assert "Attention" in result.stdout  # the command works without its cache
    return result, ".attnkb/index.sqlite", [target]


def w_index_journal(root, tmp_path, cli):
    target = _outside(tmp_path)
    os.symlink(target, _state(root) / "index.sqlite-journal")
    result = cli("--vault", root, "list")
    assert "Attention" in result.stdout
    return result, ".attnkb/index.sqlite-journal", [target]


def w_review_summary(root, tmp_path, cli):
    target = _outside(tmp_path, "n.md", NOTE.encode())
    (root / "n.md").unlink()
    os.symlink(target, root / "n.md")
    result = cli("--vault", root, "review", input="\n3\n", env=NOW)
    assert result.exit_code == 0 and "Session over" in result.stdout
    return result, "n.md", [target]


def w_related(root, tmp_path, cli):
    target = _outside(tmp_path, "b.md", f"# Self attention\n\n{WORDS} heads\n".encode())
    (root / "a.md").write_text(f"# A\n\n{WORDS}\n")
    os.symlink(target, root / "b.md")
    return cli("--vault", root, "related", "--write", "--all"), "b.md", [target]


def w_run_example(root, tmp_path, cli):
    target = _outside(tmp_path, "e.md", BLOCK.encode())
    os.symlink(target, root / "e.md")
    return cli("--vault", root, "run-example", "e.md", "--update"), "e.md", [target]


WRITERS = {f.__name__[2:]: f for f in list(globals().values()) if callable(f) and f.__name__.startswith("w_")}


def _snapshot(path: Path):
    if path.is_dir():
        return sorted(
            (p.relative_to(path).as_posix(), p.read_bytes()) for p in path.rglob("*") if p.is_file()
        )
    return path.read_bytes() if os.path.lexists(path) else None


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_no_writer_follows_a_link_out_of_the_vault(name, make_vault, cli, tmp_path, monkeypatch):
    root = make_vault({"n.md": NOTE})
    before: dict[Path, object] = {}  # each outside file as it was when the link to it was planted
    plant = os.symlink

    def symlink(src, dst, *args, **kwargs):
        if not Path(src).is_relative_to(root) and not str(src).startswith("."):
            before[Path(src)] = _snapshot(Path(src))
        return plant(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "symlink", symlink)
    result, planted, protected = WRITERS[name](root, tmp_path, cli)
    monkeypatch.undo()
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert before and set(protected) <= set(before)
    for path, was in before.items():
        assert _snapshot(path) == was, f"{path} was changed through the vault's link"
    if planted is not None:
        line = next(
            (x for x in result.stderr.splitlines() if f"{planted}: " in x and "outside the vault" in x), None
        )
        assert line is not None and line.startswith("attnkb: "), result.output


def test_the_default_anki_folder_is_refused_before_any_media_is_written(make_vault, cli, tmp_path):
    root = make_vault({"n.md": NOTE})
    away = tmp_path / "away"
    away.mkdir()
    os.symlink(away, root / "anki")
    package = build_package(tmp_path / "deck.apkg", tmp_path, "latest")
    result = cli("--vault", root, "import", "anki", str(package))
    assert result.exit_code == 2 and "attnkb: anki: leads to" in result.stderr
    assert list(away.iterdir()) == [] and not (root / ".attnkb" / "reviews").exists()


def test_the_review_log_names_the_file_and_saves_no_grade(make_vault, cli, tmp_path):
    root = make_vault({"x;echo PWNED;#.md": NOTE})
    target = _outside(tmp_path)
    os.symlink(target, _state(root) / "reviews" / "laptop.log")
    result = cli("--vault", root, "review", input="\n3\n", env=NOW)
    assert result.exit_code == 2
    assert "attnkb: .attnkb/reviews/laptop.log: leads to" in result.stderr
    assert target.read_bytes() == SHELL
    assert "review_count" not in (root / "x;echo PWNED;#.md").read_text()  # no summary without its log line


def test_writers_still_follow_links_that_stay_inside_the_vault(make_vault, cli):
    root = make_vault({"n.md": NOTE, "real/keep.log": ""})
    os.symlink("../../real/keep.log", _state(root) / "reviews" / "laptop.log")
    result = cli("--vault", root, "review", input="\n3\n", env=NOW)
    assert result.exit_code == 0, result.output
    assert "\t3\t" in (root / "real" / "keep.log").read_text()


# --- the rule is in one place -----------------------------------------------------------------

WRITING_CALLS = {"write_text", "write_bytes", "mkstemp", "mkdtemp", "NamedTemporaryFile", "symlink_to"}
WRITING_MODULE_CALLS = {"os": {"open", "replace", "rename", "link", "symlink", "truncate"}, "shutil": None}
ALLOWED = {
    ("attnkb/cli/__init__.py", "os.open"): "os.open(os.devnull) for a reader that stopped",
    ("attnkb/interop/anki.py", "write_bytes"): "the collection, into a private TemporaryDirectory",
}


def _writes(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        if owner in WRITING_MODULE_CALLS:
            if WRITING_MODULE_CALLS[owner] is None or name in WRITING_MODULE_CALLS[owner]:
                yield f"{owner}.{name}", node.lineno
        elif name in WRITING_CALLS:
            yield name, node.lineno
        elif name == "open":
            modes = [a for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [k.value for k in node.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)]
            if any(set(str(m.value)) & set("wax+") for m in modes):
                yield name, node.lineno


def test_only_the_files_module_opens_files_for_writing():
    package = Path(__file__).resolve().parents[1] / "attnkb"
    found = []
    for source in sorted(package.rglob("*.py")):
        rel = source.relative_to(package.parent).as_posix()
        if rel == "attnkb/files.py":
            continue
        for name, line in _writes(ast.parse(source.read_text(encoding="utf-8"))):
            if (rel, name) not in ALLOWED:
                found.append(f"{rel}:{line}: {name}")
    assert found == [], "write through attnkb.files instead"


# --- modes and error names --------------------------------------------------------------------


def test_new_files_get_the_mode_new_gives(make_vault, cli, tmp_path):
    old = os.umask(0o022)
    try:
        root = make_vault({"n.md": NOTE})
        assert cli("--vault", root, "new", "Fresh").exit_code == 0
        assert cli("--vault", root, "due", "--markdown", "-o", root / "today.md", env=NOW).exit_code == 0
        assert cli("--vault", root, "export", "anki", tmp_path / "x.apkg").exit_code == 0
        assert cli("--vault", root, "review", input="\n3\n", env=NOW).exit_code == 0
        package = build_package(tmp_path / "deck.apkg", tmp_path, "legacy")
        assert cli("--vault", root, "import", "anki", str(package), "--deck", "ML").exit_code == 0
        made = [
            root / "Fresh.md",
            root / "today.md",
            tmp_path / "x.apkg",
            root / ".attnkb" / "reviews" / "laptop.log",
            root / "anki" / "What is attention.md",
            root / "anki" / "fig.png",
        ]
        assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in made} == {p.name: "0o644" for p in made}
        os.chmod(root / "today.md", 0o640)  # a rewrite keeps the file's own mode
        assert cli("--vault", root, "due", "--markdown", "-o", root / "today.md", env=NOW).exit_code == 0
        assert stat.S_IMODE((root / "today.md").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_a_full_disk_names_the_file_not_a_temp_file(make_vault, cli, tmp_path, monkeypatch):
    root = make_vault({"n.md": NOTE})
    (root / "today.md").write_text(
        "# Reviews for 2026-11-20\n\n<!-- attnkb due 2026-11-20T10:00:00+00:00 -->\n"
    )
    before = (root / "today.md").read_bytes()

    def full(fd):  # every file's data reaches the disk through fsync before it takes its name
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = cli("--vault", root, "export", "anki", "x.apkg")
    assert result.exit_code == 2 and result.stderr == "attnkb: x.apkg: No space left on device\n"
    result = cli("--vault", root, "due", "--markdown", "-o", root / "today.md", env=NOW)
    assert result.exit_code == 2 and result.stderr == "attnkb: today.md: No space left on device\n"
    monkeypatch.undo()
    assert (root / "today.md").read_bytes() == before
    assert sorted(p.name for p in [*root.iterdir(), *tmp_path.iterdir()] if p.name.endswith(".tmp")) == []


def test_a_note_with_the_longest_name_is_still_rewritten(make_vault, cli):
    name = "注" * 84 + ".md"  # 255 bytes: a temp name built from it whole would be too long
    root = make_vault({name: NOTE})
    result = cli("--vault", root, "review", input="\n3\n", env=NOW)
    assert result.exit_code == 0 and "front matter not updated" not in result.output, result.output
    assert "review_count: 1" in (root / name).read_text(encoding="utf-8")
    assert [p.name for p in root.iterdir() if p.name.endswith(".tmp")] == []


def test_dot_dot_after_a_linked_folder_is_resolved_as_the_system_does(make_vault, cli, tmp_path):
    """``vault/sub/../today.md`` reads as ``vault/today.md``, but with ``sub`` linked out of the
    vault the system opens ``<outside>/../today.md``: refused, as the real path is outside."""
    root = make_vault({"n.md": NOTE})
    away = tmp_path / "home" / "deep" / "sub"
    away.mkdir(parents=True)
    os.symlink(away, root / "sub")
    result = cli("--vault", root, "due", "--markdown", "-o", f"{root}/sub/../today.md", env=NOW)
    assert result.exit_code == 2 and "outside the vault" in result.stderr
    assert not (tmp_path / "home" / "deep" / "today.md").exists() and not (root / "today.md").exists()
