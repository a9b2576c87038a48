"""Tag matching, shared by ``list``, ``search`` and the deck's ``--tag``; apart from the note
parser so that filtering by tag imports no parser."""

from __future__ import annotations


def tags_match(tags: list[str], wanted: list[str]) -> bool:
    """Every wanted tag matches itself or a nested child: ``a`` matches ``a/b``."""
    lowered = [t.lower() for t in tags]
    for w in wanted:
        w = w.lstrip("#").lower()
        if not any(t == w or t.startswith(w + "/") for t in lowered):
            return False
    return True
