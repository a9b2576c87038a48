"""What a new user meets: columns aligned by terminal cells, shell completion, no vault found."""

from __future__ import annotations

import json
import re

from rich.cells import cell_len
from typer.testing import CliRunner

NOTES = {
    "attn.md": "---\ntags: [注意力机制, ml]\n---\n# 自注意力\n\n### Q: 什么是自注意力？\n每个位置看所有位置。\n",
    "softmax.md": "---\ntags: [ml/basics]\n---\n# Softmax and temperature\n\n### Q: What is softmax?\nexp over sum.\n\n[[自注意力]]\n",
    "多头.md": "---\ntitle: Multi Head\ntags: [多头注意力与分组查询注意力, ml]\n---\n# x\n\n### Q: 为什么多头？\n子空间。\n\n[[attn]]\n",
}
NOW = {"ATTNKB_NOW": "2026-03-01T10:00:00+00:00", "COLUMNS": "80"}


def test_stats_mastery_by_tag_aligns_by_cell_width_at_80_columns(make_vault, cli):
    root = make_vault(NOTES)
    r = cli("--vault", root, "review", input="enter\n4\n" * 3, env=NOW)
    assert r.exit_code == 0, r.output
    later = {**NOW, "ATTNKB_NOW": "2026-03-02T10:00:00+00:00"}
    r = cli("--vault", root, "stats", env=later)
    assert r.exit_code == 0, r.output
    rows = r.stdout.split("Mastery by tag\n", 1)[1].splitlines()
    rows = [row.rstrip() for row in rows if row.strip()]
    assert {re.split(r"\s+", row.strip())[0] for row in rows} >= {
        "注意力机制",
        "多头注意力与分组查询注意力",
        "ml",
    }
    assert len({cell_len(row) for row in rows}) == 1, rows  # the values end in one column
    bar_starts = {cell_len(row[: row.index("█")]) for row in rows if "█" in row}
    assert len(bar_starts) == 1 and len(rows) >= 4, rows  # and the bars start in one column
    assert all(cell_len(row) <= 80 for row in r.stdout.splitlines())


def test_list_and_due_with_cjk_titles_fit_80_columns(make_vault, cli):
    root = make_vault(NOTES)
    r = cli("--vault", root, "list", env=NOW)
    assert r.exit_code == 0 and all(cell_len(row) <= 80 for row in r.stdout.splitlines())
    lines = [row for row in r.stdout.splitlines() if ".md" in row]
    assert (
        len(
            {
                cell_len(row[: row.index(title)])
                for row, title in zip(lines, ["自注意力", "Softmax", "Multi"], strict=True)
            }
        )
        == 1
    )
    r = cli("--vault", root, "due", env=NOW)
    assert r.exit_code == 0 and "什么是自注意力？" in r.stdout


def _complete(root, words: str, *, cwd_vault: bool = False):
    """What bash would get on TAB after ``words`` (Typer's completion protocol)."""
    from attnkb.cli import app

    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {"_ATTNKB_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    r = CliRunner().invoke(app, [], env=env, prog_name="attnkb")
    assert r.exit_code == 0, r.output
    return [line for line in r.stdout.splitlines() if line]


def test_completion_of_note_names_and_tags_in_bash(make_vault):
    root = make_vault(NOTES)
    got = _complete(root, f"attnkb --vault {root} show ")
    assert got == sorted(
        ["attn.md", "softmax.md", "多头.md", "自注意力", "Softmax\\ and\\ temperature", "Multi\\ Head"]
    )
    assert _complete(root, f"attnkb --vault {root} links So") == ["Softmax\\ and\\ temperature"]
    assert _complete(root, f"attnkb --vault {root} run-example 多") == ["多头.md"]
    assert _complete(root, f"attnkb --vault {root} list --tag m") == ["ml", "ml/basics"]
    assert _complete(root, f"attnkb --vault {root} due --tag 多") == ["多头注意力与分组查询注意力"]
    assert _complete(root, f"attnkb --vault {root} new X --link s") == ["softmax.md"]
    assert _complete(root, f"attnkb --vault {root} related 多") == ["多头.md"]
    assert _complete(root, f"attnkb --vault {root} search --tag ml/") == ["ml/basics"]


def test_completion_without_a_vault_completes_nothing(tmp_path):
    assert _complete(tmp_path, f"attnkb --vault {tmp_path / 'gone'} show ") == []


def test_completion_scripts_are_offered(cli, monkeypatch):
    from attnkb.cli import app

    # the shell named, not detected from the process tree (a test run from a job with no shell
    # parent failed ShellDetectionFailure): typer then takes `--show-completion SHELL`
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    r = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="attnkb")
    assert r.exit_code == 0 and "_ATTNKB_COMPLETE=complete_bash" in r.stdout
    assert "--install-completion" in cli("--help").stdout


def test_no_vault_found_says_where_it_looked(tmp_path, cli):
    for args in (
        ["list"],
        ["list", "--json"],
        ["due"],
        ["stats"],
        ["review"],
        ["check"],
        ["show", "x"],
        ["graph"],
    ):
        r = cli(*args)
        assert r.exit_code == 2, (args, r.output)
        assert r.stdout == ""
        assert r.stderr.startswith(
            f"attnkb: no vault found: no .attnkb/ in {tmp_path} or any folder above it"
        )
        assert "`attnkb init --starter`" in r.stderr and "`attnkb init`" in r.stderr
    r = cli("--vault", tmp_path, "list")
    assert r.exit_code == 2 and f"no notes in {tmp_path} (from --vault)" in r.stderr
    assert f"`attnkb init {tmp_path} --starter`" in r.stderr


def test_an_initialised_empty_vault_lists_nothing_with_a_hint(tmp_path, cli):
    assert cli("init").exit_code == 0
    r = cli("list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    assert "no notes in" in r.stderr and "`attnkb new TITLE`" in r.stderr
    for args in (["due"], ["stats"], ["review"], ["check"]):
        assert cli(*args).exit_code == 0, args
    assert cli("new", "First").exit_code == 0  # new and init never need notes
    assert "First.md" in cli("list").stdout
