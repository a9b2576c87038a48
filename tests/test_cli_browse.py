import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attnkb.cli.common import _json_lines
from attnkb.cli.render import markdown_source
from attnkb.vault import Index, find_root, walk

FILES = {
    "intro.md": "---\ntitle: Intro\ntags: [start, ml/attn]\n---\n# Intro\n\n[[Deep]] [[missing]]\n",
    "topics/Deep.md": "# Deep\n\nback to [intro](../intro.md)\n",
    "topics/bad.md": "---\ntitle: [unclosed\n---\nbody\n",
    "lonely.md": "# Lonely\n",
    ".obsidian/skip.md": "[[nothing]]",
    "._intro.md": b"\x00\x05binary appledouble",
    "binary.md": b"abc\x00def",
    "topics/code/script.py": "print('not a note')",
}


def test_list_json_and_tag_filter(make_vault, cli):
    root = make_vault(FILES)
    r = cli("--vault", root, "list", "--json")
    assert r.exit_code == 0, r.output
    notes = json.loads(r.stdout)
    assert [n["path"] for n in notes] == [
        "intro.md",
        "lonely.md",
        "topics/Deep.md",
        "topics/bad.md",
    ]
    assert notes[0]["title"] == "Intro" and notes[0]["tags"] == ["start", "ml/attn"]
    r = cli("--vault", root, "list", "--json", "--tag", "ml")
    assert [n["path"] for n in json.loads(r.stdout)] == ["intro.md"]


def test_check_reports_problems_and_exits_1(make_vault, cli):
    root = make_vault(FILES)
    r = cli("--vault", root, "check", "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    found = {(p["path"], p["line"], p["kind"]) for p in report["problems"]}
    assert ("intro.md", 7, "broken-link") in found
    assert ("topics/bad.md", 2, "front-matter") in found
    assert ("lonely.md", 1, "orphan") in found and ("topics/bad.md", 1, "orphan") in found
    assert ("binary.md", 1, "skipped") in found  # a NUL byte: reported, never silently dropped
    assert report["errors"] == 3 and report["warnings"] == 2
    text = cli("--vault", root, "check")
    assert "intro.md:7: broken link '[[missing]]'" in text.stderr


def test_clean_vault_checks_ok(make_vault, cli):
    root = make_vault({"a.md": "[[b]]", "b.md": "[a](a.md)"})
    r = cli("--vault", root, "check")
    assert r.exit_code == 0 and "2 notes, 0 errors, 0 warnings" in r.stdout


def test_links_and_show_accept_title_file_name_or_path(make_vault, cli):
    root = make_vault(FILES)
    for spec in ("Intro", "intro", "intro.md"):
        r = cli("--vault", root, "links", spec, "--json")
        assert r.exit_code == 0, r.output
        data = json.loads(r.stdout)
        assert data["path"] == "intro.md"
        assert [o["targetPath"] for o in data["outgoing"]] == ["topics/Deep.md", None]
        assert data["backlinks"][0]["sourcePath"] == "topics/Deep.md"
    r = cli("--vault", root, "show", "Deep")
    assert r.exit_code == 0 and "topics/Deep.md" in r.stdout
    r = cli("--vault", root, "show", "nope")
    assert r.exit_code == 2 and r.stderr.endswith("attnkb: no note matches 'nope'\n")


def test_show_raw_prints_formulas_as_written(make_vault, cli):
    body = (
        "# F\n\nInline $\\mathrm{softmax}\\!(x)\\,y$ and $a*b*c$, prices $5 and $6.\n\n"
        "$$\n\\frac{QK^\\top}{\\sqrt{d_k}} \\{x\\}\n$$\n\n"
        "```python\nprint('$\\!$')\n```\n"
    )
    root = make_vault({"f.md": body})
    r = cli("--vault", root, "show", "--raw", "f.md", env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "$\\mathrm{softmax}\\!(x)\\,y$" in r.stdout
    assert "$a*b*c$" in r.stdout and "prices $5 and $6." in r.stdout
    assert "$$\\frac{QK^\\top}{\\sqrt{d_k}} \\{x\\}$$" in r.stdout
    assert "print('$\\!$')" in r.stdout


@given(st.text(alphabet="$`~\\*_ab \n", max_size=60))
def test_math_protection_only_adds_backticks_and_spacing(text):
    def bare(t: str) -> str:
        return "".join(c for c in t if c not in "` \n")

    assert bare(markdown_source(text, raw_math=True)) == bare(text)


def test_graph_formats(make_vault, cli):
    root = make_vault(FILES)
    data = json.loads(cli("--vault", root, "graph").stdout)
    link = next(li for li in data["links"] if li["href"] == "missing")
    assert link == {
        **link,
        "sourcePath": "intro.md",
        "targetPath": None,
        "type": "wiki-link",
        "ambiguous": False,
    }
    assert {"path", "title", "tags"} <= set(data["notes"][0])
    dot = cli("--vault", root, "graph", "--format", "dot").stdout
    assert '"intro.md" -> "topics/Deep.md";' in dot
    mermaid = cli("--vault", root, "graph", "--format", "mermaid").stdout
    assert mermaid.startswith("graph LR") and "-->" in mermaid
    assert cli("--vault", root, "graph", "--format", "png").exit_code == 2


def test_cache_is_used_and_refreshed(make_vault, cli):
    root = make_vault({"a.md": "# A\n", ".attnkb/config.toml": ""})
    assert json.loads(cli("--vault", root, "list", "--json").stdout)[0]["title"] == "A"
    assert (root / ".attnkb" / "index.sqlite").exists()
    p = root / "a.md"
    p.write_text("# Changed title\n")
    os.utime(p, ns=(p.stat().st_mtime_ns + 10**9, p.stat().st_mtime_ns + 10**9))
    assert json.loads(cli("--vault", root, "list", "--json").stdout)[0]["title"] == "Changed title"
    p.unlink()
    assert json.loads(cli("--vault", root, "list", "--json").stdout) == []


def test_summaries_agree_with_whole_notes_cold_and_warm(make_vault):
    root = make_vault(FILES)
    whole = [n.summary() for n in Index(root).notes()]  # cold: parses and fills the cache
    assert Index(root).summaries() == whole  # warm: read from the summary column alone
    (root / "lonely.md").write_text("---\ntags: late\n---\n# Lonely again\n")
    os.utime(root / "lonely.md", ns=(1, 10**18))
    summaries = Index(root).summaries()  # the changed note is parsed again on this path too
    assert summaries == [n.summary() for n in Index(root).notes()]
    assert {s["path"]: s["tags"] for s in summaries}["lonely.md"] == ["late"]


def test_cache_from_another_parser_version_is_rebuilt(make_vault, cli):
    root = make_vault({"a.md": "# A\n"})
    state = root / ".attnkb"
    state.mkdir()
    db = sqlite3.connect(state / "index.sqlite")
    db.execute("CREATE TABLE notes (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, data TEXT)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('version', 'old')")
    db.commit()
    db.close()
    r = cli("--vault", root, "list", "--json")
    assert r.exit_code == 0, r.output
    assert [n["title"] for n in json.loads(r.stdout)] == ["A"]


def test_vault_where_the_cache_cannot_be_made_still_lists(make_vault, cli):
    # A file where .attnkb/ should be stands in for a read-only vault (root may write anywhere).
    root = make_vault({"a.md": "# A\n", ".attnkb": "not a folder"})
    for what in ("list", "check"):
        r = cli("--vault", root, what, "--json")
        assert r.exit_code == 0, r.output
    assert json.loads(cli("--vault", root, "list", "--json").stdout)[0]["title"] == "A"
    assert (root / ".attnkb").read_text() == "not a folder"


def test_json_output_is_one_element_per_line_and_exact():
    data = [{"path": "a.md", "title": "注意力", "tags": ["x"]}, {"path": "b.md", "title": "", "tags": []}]
    text = _json_lines(data, 0)
    assert json.loads(text) == data
    assert text.splitlines()[1] == '  {"path": "a.md", "title": "注意力", "tags": ["x"]},'
    nested = {"notes": data, "links": [], "n": 1}
    assert json.loads(_json_lines(nested, 0)) == nested


def test_symlink_loops_are_skipped(make_vault):
    root = make_vault({"a/n.md": "x"})
    os.symlink(root, root / "a" / "loop")
    os.symlink(root / "a" / "n.md", root / "alias.md")
    assert [f.rel for f in walk(root)] == ["a/n.md"]


def test_vault_discovery(tmp_path, monkeypatch):
    (tmp_path / "v" / ".attnkb").mkdir(parents=True)
    (tmp_path / "v" / "deep").mkdir()
    assert find_root(cwd=tmp_path / "v" / "deep") == tmp_path / "v"
    (tmp_path / "w" / "notes").mkdir(parents=True)
    assert find_root(cwd=tmp_path / "w") == tmp_path / "w" / "notes"
    monkeypatch.setenv("ATTNKB_VAULT", str(tmp_path / "w"))
    assert find_root(cwd=tmp_path) == tmp_path / "w"


def test_init_is_idempotent_and_bad_vault_is_exit_2(tmp_path, cli):
    assert cli("init", tmp_path / "new").exit_code == 0
    assert cli("init", tmp_path / "new").exit_code == 0
    assert (tmp_path / "new" / ".attnkb").is_dir()
    r = cli("--vault", tmp_path / "nowhere", "list")
    assert r.exit_code == 2 and "vault is not a folder" in r.stderr


def test_every_command_is_in_the_readme_tour():
    from attnkb.cli import app

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [g.name for g in app.registered_groups]  # import, export: "| `attnkb import anki …"
    assert len(names) >= 11
    for name in names:
        assert f"| `attnkb {name}" in readme, name


def _listed_commands(help_text: str) -> dict[str, str]:
    """{command: summary} from the Commands section of a help screen."""
    section = help_text.split("Commands:\n")[1]
    rows = [line.split(None, 1) for line in section.splitlines() if line.startswith("  ")]
    return {row[0]: row[1].strip() for row in rows}


def test_version_and_help_list_exactly_the_commands_with_their_summaries(cli):
    from attnkb import __version__
    from attnkb.cli import app

    r = cli("--version")
    assert (r.exit_code, r.stdout) == (0, f"attnkb {__version__}\n")
    r = cli("--help", env={"COLUMNS": "80"})  # summaries fit a plain terminal, never cut short
    assert r.exit_code == 0 and r.stdout.count("Usage: attnkb [OPTIONS] COMMAND") == 1
    registered = {
        c.name or c.callback.__name__: c.callback.__doc__.strip().splitlines()[0]
        for c in app.registered_commands
    }
    registered.update({g.name: g.typer_instance.info.help for g in app.registered_groups})
    assert _listed_commands(r.stdout) == registered
    for group in app.registered_groups:
        sub = cli(group.name, "--help", env={"COLUMNS": "80"})
        assert _listed_commands(sub.stdout) == {
            c.name: c.callback.__doc__.strip().splitlines()[0]
            for c in group.typer_instance.registered_commands
        }
    bare = cli(env={"COLUMNS": "80"})  # no arguments: the same listing on stderr, a usage error
    assert bare.exit_code == 2 and _listed_commands(bare.stderr) == registered
    for name in registered:
        sub = cli(name, "--help", env={"COLUMNS": "250"})
        assert sub.exit_code == 0 and f"Usage: attnkb {name} " in sub.stdout, name
    r = cli("no-such-command")
    assert r.exit_code == 2 and "No such command 'no-such-command'" in r.output


@pytest.mark.parametrize("vault", ["interview-vault", "."])
def test_reference_vault_goes_through_every_command(cli, vault):
    from tests.conftest import need_shared

    root = need_shared("reference", vault)
    for args in (["list", "--json"], ["graph"], ["check", "--json"]):
        r = cli("--vault", root, *args)
        assert r.exit_code in (0, 1), r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
        json.loads(r.stdout)
    report = json.loads(cli("--vault", root, "check", "--json").stdout)
    # interview-vault-root/ holds the owner's checklist, whose links point into the whole vault
    # (not this part of it): only the notes of this part are counted
    broken = {
        p["message"]
        for p in report["problems"]
        if p["kind"] == "broken-link" and not p["path"].startswith("interview-vault-root/")
    }
    # the outline names four notes that are not in this part of the vault; all else resolves
    assert sum("时间复杂度O(n²d)的来源" in m for m in broken) == 1
    assert len(broken) == 6
    r = cli("--vault", root, "links", "传统注意力机制回顾", "--json")
    data = json.loads(r.stdout)
    assert len(data["outgoing"]) == 3 and all(o["targetPath"] for o in data["outgoing"])
    assert any(b["sourcePath"].endswith("精通Transformer.md") for b in data["backlinks"])


@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["due"]])
def test_output_into_a_reader_that_stops_is_not_an_error(make_vault, args):
    """`attnkb list | head -1`: the reader closes the pipe; attnkb stops quietly with 0 (rich
    alone exits 1, which `set -o pipefail` scripts would take for a failure)."""
    import subprocess
    import sys

    root = make_vault({f"n{i:03}.md": f"# Note {i}\n\n### Q: q{i}?\nA\n" for i in range(300)})
    read_end, write_end = os.pipe()
    os.close(read_end)  # a reader that has already stopped
    env = {**os.environ, "ATTNKB_CEILING_DIRECTORIES": str(root.parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "attnkb", "--vault", str(root), *args],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
    )
    os.close(write_end)
    assert proc.returncode == 0 and proc.stderr == b""
