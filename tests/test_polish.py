"""The small things a daily user meets (issue 26): messages, order, pager, help, progress."""

from __future__ import annotations

import pytest
import typer


def _commands():
    from attnkb.cli import app

    def walk(command, path):
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "attnkb")
def test_help_reads_clean_at_80_columns(cli, path):
    result = cli(*path, "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "\\" not in result.output, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80, result.output
