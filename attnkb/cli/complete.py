"""Shell completion of NOTE arguments and ``--tag`` values, from the vault's index summaries.

These run only when the shell asks (Typer's ``_ATTNKB_COMPLETE`` protocol), never for ``--help``,
and they must never fail loudly: a traceback on TAB would land in the user's prompt, so any
problem (no vault, unreadable index) completes nothing.
"""

from __future__ import annotations

import os
import re

import typer

from attnkb.cli.render import clean
from attnkb.plural import counted


def _summaries(ctx: typer.Context) -> list[dict]:
    from attnkb.vault import Index, find_root

    try:
        return Index(find_root(ctx.find_root().params.get("vault"))).summaries()
    except Exception:
        return []


_SHELL_SPECIAL = re.compile(r"([\s'\"\\$`!*?\[\]{}()<>|&;#~])")


def _for_shell(value: str) -> str:
    """Bash inserts a completion as it is, so spaces and quotes in a name come escaped
    (``Self\\ Attention``); zsh and fish quote for themselves."""
    return _SHELL_SPECIAL.sub(r"\\\1", value) if "COMP_WORDS" in os.environ else value


def _matching(pairs: list[tuple[str, str]], incomplete: str) -> list[tuple[str, str]]:
    """Typer keeps the values that start with what was typed; the values are cleaned first, as
    they go to the shell."""
    found: dict[str, str] = {}
    for value, help_text in pairs:
        value = clean(value, multiline=False)
        if value and value.startswith(incomplete):
            found.setdefault(_for_shell(value), clean(help_text, multiline=False))
    return sorted(found.items())


def note_names(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Paths (relative to the vault) and titles of notes, each with the other as its help."""
    pairs = []
    for s in _summaries(ctx):
        pairs += [(s["path"], s["title"]), (s["title"], s["path"])]
    return _matching(pairs, incomplete)


def tag_names(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Every tag in the vault, and the parents of nested tags (``--tag a`` matches ``a/b``)."""
    from attnkb.notefields import with_parents

    counts: dict[str, int] = {}
    for s in _summaries(ctx):
        for tag in {p for t in s["tags"] for p in with_parents(t)}:
            counts[tag] = counts.get(tag, 0) + 1
    return _matching([(t, f"{counted(n, 'note')}") for t, n in counts.items()], incomplete.lstrip("#"))
