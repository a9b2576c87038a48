"""The review session as a state machine: the CLI feeds it keys and renders what it says.

Keys: space or Enter reveal the answer; 1-4 grade (Again, Hard, Good, Easy); u undoes the last
grade; s skips; q quits. Every grade is saved the moment it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from attnkb.srs.deck import Deck, Item

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


@dataclass
class Session:
    deck: Deck
    queue: list[Item]
    clock: Callable[[], datetime]
    pos: int = 0
    revealed: bool = False
    finished: bool = False
    graded: list[tuple[Item, int, int]] = field(default_factory=list)  # item, rating, position
    skipped: int = 0
    shown_at: datetime | None = None

    @property
    def current(self) -> Item | None:
        return None if self.finished or self.pos >= len(self.queue) else self.queue[self.pos]

    def start(self) -> None:
        self.shown_at = self.clock()
        if not self.queue:
            self.finished = True

    def key(self, key: str) -> str:
        """Apply one key; returns what happened: reveal, graded, undone, skipped, quit, ignored."""
        key = key.lower()
        if key == "q":
            self.finished = True
            return "quit"
        if key == "u":
            return self._undo()
        item = self.current
        if item is None:
            return "ignored"
        if key in (" ", "", "\r", "\n", "enter", "space"):
            if self.revealed:
                return "ignored"
            self.revealed = True
            return "reveal"
        if key == "s":
            self.skipped += 1
            self._advance()
            return "skipped"
        if key in ("1", "2", "3", "4") and self.revealed:
            now = self.clock()
            duration = int((now - self.shown_at).total_seconds() * 1000) if self.shown_at else 0
            self.deck.grade(item, int(key), now, max(duration, 0))
            self.graded.append((item, int(key), self.pos))
            self._advance()
            return "graded"
        return "ignored"

    def _advance(self) -> None:
        self.pos += 1
        self.revealed = False
        self.shown_at = self.clock()
        if self.pos >= len(self.queue):
            self.finished = True

    def _undo(self) -> str:
        if not self.graded:
            return "ignored"
        item, _, position = self.graded.pop()
        self.deck.undo(item, self.clock())
        self.pos = position  # back to that card, to grade it again
        self.revealed = False
        self.finished = False
        self.shown_at = self.clock()
        return "undone"

    def stats(self) -> dict[str, object]:
        reviewed = len(self.graded)
        recalled = sum(1 for _, r, _ in self.graded if r > 1)
        upcoming = [i.due for i in self.deck.items.values()]
        return {
            "reviewed": reviewed,
            "skipped": self.skipped,
            "retention": recalled / reviewed if reviewed else None,
            "next_due": min(upcoming) if upcoming else None,
        }
