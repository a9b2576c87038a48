"""What every record of a note answers the same way from its path, tags and front matter: the
parsed ``Note`` and the deck's ``DeckNote`` alike. Apart from the note parser, so that the deck
and filtering by tag import no parser."""

from __future__ import annotations

from datetime import date
from pathlib import PurePosixPath
from typing import Any

from attnkb.clock import day_of


def tags_match(tags: list[str], wanted: list[str]) -> bool:
    """Every wanted tag matches itself or a nested child: ``a`` matches ``a/b``."""
    lowered = [t.lower() for t in tags]
    for w in wanted:
        w = w.lstrip("#").lower()
        if not any(t == w or t.startswith(w + "/") for t in lowered):
            return False
    return True


class NoteFields:
    """Mixed into records with ``path``, ``tags`` and ``meta`` (front matter, JSON-safe)."""

    path: str
    tags: list[str]
    meta: dict[str, Any]

    @property
    def stem(self) -> str:
        return PurePosixPath(self.path).stem

    def date_field(self, key: str) -> date | None:
        return day_of(self.meta.get(key))

    def has_tags(self, wanted: list[str]) -> bool:
        return tags_match(self.tags, wanted)
