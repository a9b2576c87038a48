"""The review session as a state machine: the CLI feeds it keys and renders what it says.

Keys: space or Enter reveal the answer; 1-4 grade (Again, Hard, Good, Easy); u undoes the last
grade; s skips; q quits. Every grade is saved the moment it is given.

As in Anki, a card graded Again (or still in its learning steps) comes back in the same session
when it falls due; when nothing else is left, a card due within the learn-ahead window
(``learn_ahead``, 20 minutes by default) is shown early. The session ends when nothing is due
within that window.

Time: the real clock, or, when ``ATTNKB_NOW`` is set, a simulated one that starts there, moves
``KEY_SECONDS`` per key and, when the session would wait for a learning card, jumps to the
moment it falls due. So a piped session (``printf '\\n1\\n\\n3\\n' | attnkb review``) replays
the same way every time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from attnkb import clock as clocks
from attnkb.srs.deck import Deck, Item
from attnkb.srs.log import Entry
from attnkb.srs.memory import Memory

RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
KEY_SECONDS = 10


class SessionClock:
    """Real time, or simulated time from a fixed start (see the module docstring)."""

    def __init__(self, start: datetime | None = None):
        self.start = start
        self.offset = timedelta()

    @classmethod
    def from_env(cls) -> SessionClock:
        return cls(clocks.now() if os.environ.get("ATTNKB_NOW") else None)

    def now(self) -> datetime:
        return clocks.now() if self.start is None else self.start + self.offset

    def tick(self) -> None:
        if self.start is not None:
            self.offset += timedelta(seconds=KEY_SECONDS)

    def wait_until(self, moment: datetime) -> None:
        if self.start is not None and moment > self.now():
            self.offset = moment - self.start


@dataclass
class Session:
    deck: Deck
    queue: list[Item]
    clock: SessionClock = field(default_factory=SessionClock)
    current: Item | None = None
    revealed: bool = False
    finished: bool = False
    choices: dict[int, Memory] = field(default_factory=dict)  # what each grade gives, once revealed
    learning: list[Item] = field(default_factory=list)  # graded here, due again later
    graded: list[tuple[Item, Entry]] = field(default_factory=list)
    skipped: int = 0
    shown: int = 0
    shown_at: datetime | None = None
    undone: tuple[Item, Entry] | None = None  # what the last ``u`` took back: the card, its grade

    def start(self) -> None:
        self._next()

    @property
    def remaining(self) -> int:
        """Cards still to show, counting the current one and those coming back."""
        return len(self.queue) + len(self.learning) + (self.current is not None)

    def key(self, key: str) -> str:
        """Apply one key; returns what happened: reveal, graded, undone, skipped, quit, ignored."""
        self.clock.tick()
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
            self.choices = self.deck.preview(item, self.clock.now())
            return "reveal"
        if key == "s":
            self.skipped += 1
            self._next()
            return "skipped"
        if key in ("1", "2", "3", "4") and self.revealed:
            now = self.clock.now()
            duration = int((now - self.shown_at).total_seconds() * 1000) if self.shown_at else 0
            entry = self.deck.grade(item, int(key), now, max(duration, 0))
            self.graded.append((item, entry))
            if item.memory is not None and item.memory.learning:
                self.learning.append(item)
            self._next()
            return "graded"
        return "ignored"

    def _next(self) -> None:
        """Learning cards that are due come first, then the queue; with the queue empty, the
        first learning card due within the learn-ahead window; else the session is over."""
        now = self.clock.now()
        due = sorted((i for i in self.learning if i.due <= now), key=lambda i: i.due)
        ahead = sorted(
            (i for i in self.learning if i.due <= now + self.deck.config.learn_ahead), key=lambda i: i.due
        )
        if due:
            self.current = due[0]
        elif self.queue:
            self.current = self.queue.pop(0)
        elif ahead:
            self.current = ahead[0]
            self.clock.wait_until(self.current.due)
        else:
            self.current = None
            self.finished = True
            return
        if self.current in self.learning:
            self.learning.remove(self.current)
        self.revealed = False
        self.choices = {}
        self.shown += 1
        self.shown_at = self.clock.now()

    def _undo(self) -> str:
        if not self.graded:
            return "ignored"
        item, entry = self.graded.pop()
        self.deck.undo(item, self.clock.now(), entry)
        self.undone = (item, entry)
        if item in self.learning:
            self.learning.remove(item)
        if self.current is not None and self.current is not item:
            self.queue.insert(0, self.current)
            self.shown -= 1  # the card graded again takes back its number
        self.current = item  # back to that card, to grade it again
        self.revealed = False
        self.choices = {}
        self.finished = False
        self.shown_at = self.clock.now()
        return "undone"

    def stats(self) -> dict[str, object]:
        reviewed = len(self.graded)
        recalled = sum(1 for _, e in self.graded if e.rating > 1)
        return {
            "reviewed": reviewed,
            "skipped": self.skipped,
            "retention": recalled / reviewed if reviewed else None,
            "coming_back": sorted(i.due for i in self.learning),  # later this day, in steps
            "next_due": self.deck.next_due(),
        }
