"""The deck: every card of the vault with its memory and due time, and recording grades.

Recording a grade appends to the log (the source of truth) and then rewrites the note's
summary keys in its front matter, both under one lock so two sessions never lose a review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from attnkb import frontmatter
from attnkb.errors import AttnkbError
from attnkb.files import atomic_write
from attnkb.note import Note, decode
from attnkb.srs.cards import Card, cards_for
from attnkb.srs.config import ReviewConfig
from attnkb.srs.log import Entry, ReviewLog
from attnkb.srs.memory import Memory, new_card, replay, review, scheduler
from attnkb.vault import STATE_DIR

OWNED_KEYS = ("last_reviewed", "next_review", "review_count", "mastery_level")


@dataclass
class Item:
    card: Card
    title: str
    memory: Memory | None
    due: datetime

    @property
    def is_new(self) -> bool:
        return self.memory is None


def start_of_day(d: date, tz) -> datetime:
    return datetime.combine(d, time(), tzinfo=tz)


class Deck:
    def __init__(self, root: Path, notes: list[Note], config: ReviewConfig, now: datetime):
        self.root = root
        self.now = now
        self.config = config
        self.log = ReviewLog(root / STATE_DIR)
        self.sched = scheduler(config)
        self.entries = self.log.entries()
        self.notes = {n.path: n for n in notes}
        memories = replay(self.sched, self.entries)
        cards = [c for n in notes for c in cards_for(n)]
        _follow_moves(memories, cards)
        self.items: dict[tuple[str, str], Item] = {}
        for card in cards:
            note = self.notes[card.path]
            memory = memories.get(card.key)
            if memory is not None:
                due = memory.card.due.astimezone(now.tzinfo)
            else:
                planned = note.date_field("next_review")
                due = start_of_day(planned, now.tzinfo) if planned else now
            self.items[card.key] = Item(card, note.title, memory, due)

    # --- queues ---------------------------------------------------------------------------

    def end_of_today(self) -> datetime:
        return start_of_day(self.now.date(), self.now.tzinfo) + timedelta(days=1)

    def due_items(self, tags: list[str] | None = None) -> list[Item]:
        items = [i for i in self.items.values() if i.due < self.end_of_today()]
        if tags:
            items = [i for i in items if self.notes[i.card.path].has_tags(tags)]
        return sorted(items, key=lambda i: (i.due, i.card.path, i.card.line))

    def reviewed_today(self) -> tuple[int, int]:
        """(reviews today, new cards first seen today), for the daily limits."""
        start = start_of_day(self.now.date(), self.now.tzinfo)
        first_seen: dict[tuple[str, str], datetime] = {}
        count = 0
        for e in self.entries:
            if not e.is_review:
                continue
            first_seen.setdefault((e.path, e.card), e.time)
            if e.time >= start:
                count += 1
        return count, sum(1 for t in first_seen.values() if t >= start)

    def queue(self, tags: list[str] | None, limit: int | None, new_limit: int | None) -> list[Item]:
        done, new_done = self.reviewed_today()
        review_room = max(self.config.reviews_per_day - done, 0)
        new_room = max((self.config.new_per_day if new_limit is None else new_limit) - new_done, 0)
        out: list[Item] = []
        for item in self.due_items(tags):
            if item.is_new:
                if new_room == 0:
                    continue
                new_room -= 1
            elif review_room == 0:
                continue
            else:
                review_room -= 1
            out.append(item)
        return out[:limit] if limit is not None else out

    def preview(self, item: Item, when: datetime) -> dict[int, timedelta]:
        """The interval each grade would give, shown on the choices."""
        card = item.memory.card if item.memory else new_card()
        return {r: review(self.sched, card, r, when).due - when for r in (1, 2, 3, 4)}

    # --- recording --------------------------------------------------------------------------

    def grade(self, item: Item, rating: int, when: datetime, duration_ms: int) -> None:
        entry = Entry(when, item.card.id, rating, duration_ms, item.card.path)
        with self.log.locked():
            self.log.append(entry)
            self.entries.append(entry)
            card = item.memory.card if item.memory else new_card()
            history = (item.memory.history if item.memory else []) + [entry]
            item.memory = Memory(review(self.sched, card, rating, when, duration_ms), history)
            item.due = item.memory.card.due.astimezone(self.now.tzinfo)
            self._write_summary(item.card.path, when, +1)

    def undo(self, item: Item, when: datetime) -> None:
        """Append an undo line and restore the card to before its latest grade."""
        if item.memory is None:
            return
        with self.log.locked():
            entry = Entry(when, item.card.id, 0, 0, item.card.path)
            self.log.append(entry)
            self.entries.append(entry)
            history = item.memory.history[:-1]
            if history:
                item.memory = replay(self.sched, history)[item.card.key]
                item.due = item.memory.card.due.astimezone(self.now.tzinfo)
            else:
                item.memory = None
                item.due = when
            self._write_summary(item.card.path, when, -1)

    def summary(self, path: str, when: datetime) -> dict[str, object]:
        items = [i for i in self.items.values() if i.card.path == path]
        masteries = [i.memory.mastery if i.memory else 0.0 for i in items]
        reviewed = [i.memory.history[-1].time for i in items if i.memory and i.memory.history]
        return {
            "last_reviewed": max(reviewed).astimezone(when.tzinfo).date() if reviewed else None,
            "next_review": min(i.due for i in items).astimezone(when.tzinfo).date(),
            "mastery_level": round(sum(masteries) / len(masteries), 2) if masteries else 0.0,
        }

    def _write_summary(self, path: str, when: datetime, count_delta: int) -> None:
        """Re-read the note now (it may have been edited during the session) and rewrite only
        the keys we own. The log already holds the review, so a note we cannot rewrite safely
        loses nothing: the error names it and the schedule still lives in the log."""
        file = self.root / path
        text, problems = decode(file.read_bytes())
        if problems:
            raise AttnkbError(
                "not valid UTF-8; review logged, front matter not updated", path, problems[0].line
            )
        parts = frontmatter.split(text)
        current = frontmatter.parse(parts.fm_text).data if parts.fm_text is not None else {}
        count = current.get("review_count")
        count = count if isinstance(count, int) and not isinstance(count, bool) else 0
        values = self.summary(path, when)
        values["review_count"] = max(count + count_delta, 0)
        ordered = {k: values[k] for k in OWNED_KEYS}
        try:
            new = frontmatter.update_keys(text, ordered)
        except AttnkbError as exc:
            raise AttnkbError(
                f"{exc.message}; review logged, front matter not updated", path, exc.line
            ) from exc
        if new != text:
            atomic_write(file, new)


def _follow_moves(memories: dict[tuple[str, str], Memory], cards: list[Card]) -> None:
    """A note renamed or moved keeps its cards' history: a memory whose note is gone goes to
    the one current card with the same question that has no history of its own."""
    present = {c.path for c in cards}
    by_id: dict[str, list[Card]] = {}
    for c in cards:
        by_id.setdefault(c.id, []).append(c)
    for (path, cid), memory in list(memories.items()):
        if path in present:
            continue
        homeless = [c for c in by_id.get(cid, []) if c.key not in memories]
        if len(homeless) == 1:
            memories[homeless[0].key] = memory
            del memories[(path, cid)]
