"""What every record of a note answers the same way from its path, tags and front matter: the
parsed ``Note`` and the deck's ``DeckNote`` alike. Apart from the note parser, so that the deck
and filtering by tag import no parser."""

from __future__ import annotations

from collections.abc import Iterable
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


def with_parents(tag: str) -> list[str]:
    """``a/b/c`` with the tags it is nested in: ``a``, ``a/b``, ``a/b/c`` (``--tag a`` matches)."""
    parts = tag.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


SHOWN_TAGS = 12  # tags listed in the message for a tag no note has


def require_tags(tag_lists: Iterable[list[str]], wanted: list[str] | None) -> None:
    """Refuse a wanted tag that no note has (as itself or as the parent of a nested tag),
    naming the closest tags and the vault's tags, most used first: filtering by it would show
    nothing, which reads as "nothing is due" rather than as a typo."""
    if not wanted:
        return
    counts: dict[str, int] = {}
    for tags in tag_lists:
        for tag in {parent for t in tags for parent in with_parents(t)}:
            counts[tag] = counts.get(tag, 0) + 1
    known = {t.lower() for t in counts}
    for w in wanted:
        if w.lstrip("#").lower() in known:
            continue
        from attnkb.errors import UnknownTag
        from attnkb.suggest import closest, did_you_mean

        if not counts:
            raise UnknownTag(f"no note has tag {w!r}: no note has any tag")
        ranked = sorted(counts, key=lambda t: (-counts[t], t))
        listed = ", ".join(ranked[:SHOWN_TAGS])
        if len(ranked) > SHOWN_TAGS:
            listed += f", … ({len(ranked)} in all)"
        hint = did_you_mean(closest(w.lstrip("#"), [(t, t) for t in ranked]), before=" (")
        raise UnknownTag(f"no note has tag {w!r}{hint and hint + ')'}; tags: {listed}")


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
