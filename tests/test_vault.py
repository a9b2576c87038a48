"""The vault as the index sees it: odd file names, binary and huge files, the cache's life."""

import json
import os
import sqlite3

from attnkb.markdown import extract
from attnkb.vault import Index, find_root, walk

BAD_NAME = os.fsdecode(b"caf\xe9.md")  # Latin-1 bytes: not UTF-8, kept by the OS as a surrogate


def test_non_utf8_file_name_is_reported_and_skipped(make_vault, cli):
    root = make_vault({"ok.md": "# OK\n\n[[other]]\n", "other.md": "[[ok]]\n"})
    (root / BAD_NAME).write_text("# Café\n")
    (root / os.fsdecode(b"dir\xff")).mkdir()
    (root / os.fsdecode(b"dir\xff") / "inside.md").write_text("# Inside\n")
    cli("init", root)
    for command in ("list", "due", "check"):
        r = cli("--vault", root, command, "--json")
        assert "internal error" not in r.output
        assert "caf\\xe9.md" in r.stderr or command == "check", (command, r.stderr)
    r = cli("--vault", root, "list", "--json")
    assert r.exit_code == 0
    assert [n["path"] for n in json.loads(r.stdout)] == ["ok.md", "other.md"]
    assert "caf\\xe9.md: warning: file name is not valid UTF-8" in r.stderr
    assert "dir\\xff: warning: folder name is not valid UTF-8" in r.stderr
    r = cli("--vault", root, "check", "--json")
    assert r.exit_code == 1
    problems = {(p["path"], p["kind"]) for p in json.loads(r.stdout)["problems"]}
    assert ("caf\\xe9.md", "skipped") in problems and ("dir\\xff", "skipped") in problems
    r = cli("--vault", root, "review", input="q\n")
    assert r.exit_code == 0, r.output


def test_note_with_a_nul_byte_is_reported_with_its_line(make_vault, cli):
    root = make_vault({"a.md": "[[b]]\n", "b.md": b"# B\n\n[[a]]\nbroken \x00 here\n"})
    for _ in range(2):  # cold, then from the cache
        r = cli("--vault", root, "check")
        assert r.exit_code == 1
        assert "attnkb: b.md:4: holds a NUL byte" in r.stderr
        cli("init", root)
    r = cli("--vault", root, "list", "--json")
    assert [n["path"] for n in json.loads(r.stdout)] == ["a.md"]
    assert "b.md:4: warning: holds a NUL byte" in r.stderr


def test_a_note_is_read_whole_or_refused_even_when_it_grows_while_read(tmp_path, monkeypatch):
    """read_note reads as many bytes as the file holds when opened (not max_bytes + 1 at once);
    a file longer than that by the time it is read is read on, up to the limit."""
    import pytest

    from attnkb import vault

    text = "# Grown\n\n" + "长" * 40 + "\n"
    (tmp_path / "g.md").write_text(text, encoding="utf-8")
    size = len(text.encode())
    real_fstat = os.fstat
    monkeypatch.setattr(vault.os, "fstat", lambda fd: os.stat_result((*real_fstat(fd)[:6], 7, 0, 0, 0)))
    assert os.fstat(0).st_size == 7  # every file looks 7 bytes long when opened
    for limit in (None, size, size + 1):
        note, read, _ = vault.read_note(tmp_path, "g.md", limit)
        assert read == text and note.title == "Grown"
    with pytest.raises(vault.NotANote, match="grew over"):
        vault.read_note(tmp_path, "g.md", size - 1)
    monkeypatch.undo()
    with pytest.raises(vault.NotANote, match="grew over"):  # listed small, longer when opened
        vault.read_note(tmp_path, "g.md", 20)


def test_files_over_the_size_limit_are_skipped_unread(make_vault, cli, monkeypatch):
    root = make_vault({"small.md": "# Small\n", "big.md": "# Big\n" + "x" * 5000})
    r = cli("--vault", root, "list", "--json")
    assert [n["path"] for n in json.loads(r.stdout)] == ["big.md", "small.md"]  # default: 20 MB
    (root / ".attnkb").mkdir()
    (root / ".attnkb" / "config.toml").write_text("[vault]\nmax_note_bytes = 1000\n")
    opened = []
    real_open = open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    r = cli("--vault", root, "list", "--json")
    assert r.exit_code == 0
    assert [n["path"] for n in json.loads(r.stdout)] == ["small.md"]
    assert "big.md: warning: 5006 bytes is over the 1000 bytes limit ([vault] max_note_bytes" in r.stderr
    assert not any(f.endswith("big.md") for f in opened)
    r = cli("--vault", root, "check", "--json")
    found = [p for p in json.loads(r.stdout)["problems"] if p["path"] == "big.md"]
    assert found[0]["kind"] == "skipped" and found[0]["severity"] == "warning"


def test_bad_size_limit_is_a_config_error(make_vault, cli):
    root = make_vault({"a.md": "# A\n", ".attnkb/config.toml": "[vault]\nmax_note_bytes = 'big'\n"})
    r = cli("--vault", root, "list")
    assert r.exit_code == 2
    assert "config.toml:2: [vault] max_note_bytes must be a whole number" in r.stderr
    (root / ".attnkb" / "config.toml").write_text("\ufeff[vault]\nmax_note_bytes = 2\n")  # a BOM
    r = cli("--vault", root, "list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == [] and "a.md: warning: 4 bytes is over" in r.stderr


def test_wikilink_rule_reads_each_character_about_once(monkeypatch):
    """Counted, not timed: 160 KB of ``[`` made the rule rescan to the end from every ``[[``."""
    import attnkb.markdown as md

    scanned = []

    def counting_find(src, needle, start):
        found = str.find(src, needle, start)
        scanned.append((len(src) if found < 0 else found) - start)
        return found

    monkeypatch.setattr(md, "_find", counting_find)
    for src in ("[" * 4000, "[[" * 2000 + "]]", "![[a" * 1000, "[[a]] x\n" * 500):
        scanned.clear()
        extract(src)
        assert sum(scanned) <= 4 * len(src), (src[:8], sum(scanned))
    links = extract("[[A|b]] ![[C#x]] [[bad\nx]] [[a[b]] `[[code]]` [[ ]]").links
    assert [(x.target, x.text, x.anchor, x.embed) for x in links] == [
        ("A", "b", "", False),
        ("C", "", "x", True),
    ]


def test_walk_reports_nothing_without_a_list(make_vault):
    root = make_vault({"a.md": "x"})
    (root / BAD_NAME).write_text("x")
    assert [f.rel for f in walk(root)] == ["a.md"]
    skipped = []
    assert [f.rel for f in walk(root, None, skipped)] == ["a.md"]
    assert [s.path for s in skipped] == ["caf\\xe9.md"]
    assert Index(root).summaries()[0]["path"] == "a.md"


READ_ONLY_COMMANDS = [
    ("list",),
    ("list", "--json"),
    ("check",),
    ("graph",),
    ("show", "a"),
    ("links", "a"),
    ("due",),
    ("stats",),
    ("run-example", "--all"),
    ("search", "this"),
    ("related", "a"),
    ("links", "a", "--mentions"),
]


def test_reading_commands_never_create_the_state_folder(make_vault, cli):
    root = make_vault({"a.md": "# A\n\n### Q: what?\n\nthis\n\n[[b]]\n", "b.md": "[[a]]\n"})
    for args in READ_ONLY_COMMANDS:
        r = cli("--vault", root, *args)
        assert r.exit_code == 0, (args, r.output)
        assert not (root / ".attnkb").exists(), args
    r = cli("--vault", root, "review", input="q\n")
    assert r.exit_code == 0, r.output
    assert (root / ".attnkb" / "index.sqlite").is_file()  # a writing command may keep a cache


def test_corrupt_index_is_deleted_and_rebuilt_with_a_warning(make_vault, cli):
    root = make_vault({"a.md": "# A\n", ".attnkb/index.sqlite": b"this is not a database" * 100})
    r = cli("--vault", root, "list", "--json")
    assert r.exit_code == 0
    assert [n["title"] for n in json.loads(r.stdout)] == ["A"]
    assert "attnkb: .attnkb/index.sqlite: warning: the index cache is corrupt" in r.stderr
    with sqlite3.connect(root / ".attnkb" / "index.sqlite") as db:  # rebuilt, and used again
        assert db.execute("SELECT path FROM notes").fetchall() == [("a.md",)]
    r = cli("--vault", root, "list", "--json")
    assert r.exit_code == 0 and r.stderr == ""


def test_corruption_found_while_reading_rows_rebuilds_too(make_vault):
    root = make_vault({f"n{i}.md": f"# N{i}\n\n" + "text " * 800 for i in range(60)})
    (root / ".attnkb").mkdir()
    Index(root).notes()
    db_file = root / ".attnkb" / "index.sqlite"
    data = bytearray(db_file.read_bytes())
    data[8192:] = b"\xff" * (len(data) - 8192)  # the header and schema pages stay readable
    db_file.write_bytes(bytes(data))
    index = Index(root)
    assert len(index.notes()) == 60
    assert [f.kind for f in index.findings] == ["index"]
    again = Index(root)
    assert len(again.notes()) == 60 and again.findings == []


def test_stray_state_folder_above_the_ceiling_is_ignored(tmp_path, monkeypatch):
    (tmp_path / ".attnkb").mkdir()
    (tmp_path / "work" / "deep").mkdir(parents=True)
    assert find_root(cwd=tmp_path / "work" / "deep") == tmp_path  # what a stray folder did
    monkeypatch.setenv("ATTNKB_CEILING_DIRECTORIES", f"/nonexistent{os.pathsep}{tmp_path}")
    assert find_root(cwd=tmp_path / "work" / "deep") == tmp_path / "work" / "deep"


def test_a_cache_that_cannot_be_written_midway_keeps_nothing_half_done(make_vault, monkeypatch):
    """Rows are written chunk by chunk while notes are parsed; when the cache turns out locked or
    read-only midway, this run's notes are still all there, nothing half-written is kept, and
    the next run fills the cache."""
    from attnkb import search

    root = make_vault({f"n{i}.md": f"# N{i}\n\n注意力 {i}\n" for i in range(5)})
    (root / ".attnkb").mkdir()
    real_sync = search.sync
    calls = []

    def sync_then_locked(db, changed, gone, cold=False):
        calls.append(1)
        if len(calls) == 3:
            raise sqlite3.OperationalError("database is locked")
        real_sync(db, changed, gone, cold)

    monkeypatch.setattr(search, "sync", sync_then_locked)
    index = Index(root)
    assert sorted(s["title"] for s in index.summaries()) == [f"N{i}" for i in range(5)]
    assert index.changed
    with sqlite3.connect(root / ".attnkb" / "index.sqlite") as db:
        assert db.execute("SELECT count(*) FROM notes").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM fts").fetchone() == (0,)
    monkeypatch.setattr(search, "sync", real_sync)
    again = Index(root)
    assert len(again.summaries()) == 5 and again.changed
    with sqlite3.connect(root / ".attnkb" / "index.sqlite") as db:
        assert db.execute("SELECT count(*) FROM notes").fetchone() == (5,)
    third = Index(root)
    assert len(third.summaries()) == 5 and not third.changed
    assert third.ask(lambda db: [h.path for h in search.search(db, "注意")]) != []
