"""The effective review history: what the log means once undos, duplicates and renames are
taken into account. Replay, daily limits, stats and fitting all read it through
``effective_history``, so they never disagree about which reviews count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from attnkb.srs.cards import Card, DeckNote
from attnkb.srs.log import Entry, ReviewLog

Key = tuple[str, str]  # (note path, card id)


@dataclass
class History:
    entries: list[Entry]  # every entry of every device's log, exact duplicates dropped, by time
    reviews: dict[Key, list[Entry]]  # per card: reviews and imported states in effect, by time
    warnings: list[str] = field(default_factory=list)  # lines of the log that could not be read

    def effective(self) -> list[Entry]:
        """Every entry in effect (undone grades and undo lines left out), by time."""
        return sorted((e for h in self.reviews.values() for e in h), key=lambda e: e.time)


def effective_history(
    log: ReviewLog, cards: Iterable[Card] | None = None, notes: Iterable[DeckNote] | None = None
) -> History:
    """Read the log once: duplicates dropped, undone grades removed (an undo names its entry),
    and, given the vault's current cards and notes, the history of a note that is gone moved to
    the note it was renamed to."""
    entries = log.entries()
    undone = log.undone
    reviews: dict[Key, list[Entry]] = {}
    for e in entries:
        if not e.is_undo and e not in undone:
            reviews.setdefault((e.path, e.card), []).append(e)
    if cards is not None:
        _follow_moves(reviews, list(cards), {n.path: n for n in notes or ()})
    return History(entries, reviews, list(log.warnings))


def _follow_moves(reviews: dict[Key, list[Entry]], cards: list[Card], notes: dict[str, DeckNote]) -> None:
    """History moves to a renamed note only when its old path is gone, the note's content
    matches what it was at the last review, and exactly one such card has no history yet."""
    present = {c.path for c in cards}

    def print_of(path: str) -> str | None:
        return notes[path].fingerprint if path in notes else None

    by_id: dict[str, list[Card]] = {}
    for c in cards:
        by_id.setdefault(c.id, []).append(c)
    for (path, cid), history in list(reviews.items()):
        if path in present:
            continue
        was = next((e.fingerprint for e in reversed(history) if e.fingerprint), "")
        homes = [c for c in by_id.get(cid, []) if c.key not in reviews and was and print_of(c.path) == was]
        if len(homes) == 1:
            reviews[homes[0].key] = reviews.pop((path, cid))
