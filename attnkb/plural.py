"""Counts in messages: ``1 day``, ``2 days``, never ``1 days``.

Every message that puts a number before a noun goes through ``counted``; a test reads the
source for f-strings that put a count before a plural noun by hand."""

from __future__ import annotations


def plural(noun: str, n: int, many: str | None = None) -> str:
    """``noun`` as it goes with ``n``: ``day``/``days``, ``entry``/``entries``, or ``many``."""
    if n == 1:
        return noun
    if many is not None:
        return many
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def counted(n: int, noun: str, many: str | None = None) -> str:
    """``1 day``, ``3 days``: the number and its noun."""
    return f"{n} {plural(noun, n, many)}"
