"""The deck: every card of the vault with its memory and due time, and recording grades.

Recording a grade appends to this device's log (the source of truth) and then rewrites the
note's summary keys in its front matter, both under one lock. The summary is computed from the
log as it stands under that lock (every device and session merged), never from this session's
older view. A note that cannot be rewritten loses nothing: the grade stays in the log and the
problem becomes a notice the caller shows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from attnkb.cards import note_answer
from attnkb.errors import AttnkbError
from attnkb.files import atomic_write
from attnkb.srs.cards import Card, DeckNote, cards_for
from attnkb.srs.config import ReviewConfig
from attnkb.srs.days import day_start, study_day
from attnkb.srs.history import History, effective_history
from attnkb.srs.log import UNDO, Entry, ReviewLog, new_id
from attnkb.srs.memory import Memory, Scheduler
from attnkb.vault import STATE_DIR, Index, NotANote, read_note, read_text

if TYPE_CHECKING:
    from attnkb.note import Note

OWNED_KEYS = ("last_reviewed", "next_review", "review_count", "mastery_level")
DUE_GROUPS = ("overdue", "today", "week")


@dataclass(eq=False)  # an item is one card of one deck: compared by identity
class Item:
    card: Card
    title: str
    memory: Memory | None
    due: datetime
    planned: bool = False  # a hand-kept schedule (next_review with review_count > 0), no log yet

    @property
    def is_new(self) -> bool:
        """Never reviewed: counted against the new-card limit, never overdue."""
        return self.memory is None and not self.planned


class Deck:
    """Every card of the notes given: the index's :class:`DeckNote` records (cards without
    answers, read when shown) or whole notes (their cards keep their answers)."""

    def __init__(
        self,
        root,
        notes: Iterable[Note | DeckNote],
        config: ReviewConfig,
        now: datetime,
        index: Index | None = None,
    ):
        self.root = root
        self.index = index  # where the vault's link counts are kept between runs
        self.now = now
        self.tz = now.tzinfo
        self.config = config
        self.log = ReviewLog(root / STATE_DIR)
        self.sched = Scheduler(config, self.tz)
        self.notes = {n.path: n if isinstance(n, DeckNote) else DeckNote.of(n) for n in notes}
        self.cards = [c for n in self.notes.values() for c in n.cards]
        self.notices: list[str] = []  # what the caller should tell the user (warnings)
        self.items: dict[tuple[str, str], Item] = {}
        self.by_path: dict[str, list[Item]] = {}  # each note's items, in card order
        self.history = self._read()
        planned = {path: self._planned(note) for path, note in self.notes.items()}
        for card in self.cards:
            item = self._item(card, planned[card.path])
            self.items[card.key] = item
            self.by_path.setdefault(card.path, []).append(item)
        self.notices.extend(self.history.warnings)

    def _read(self) -> History:
        return effective_history(self.log, self.cards, self.notes.values())

    def _planned(self, note: DeckNote) -> datetime | None:
        """A hand-kept schedule: ``next_review`` with ``review_count`` > 0, before any log."""
        count = note.meta.get("review_count")
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            day = note.date_field("next_review")
            return self.day_start(day) if day else None
        return None

    def _item(self, card: Card, planned: datetime | None) -> Item:
        title = self.notes[card.path].title
        history = self.history.reviews.get(card.key)
        memory = self.sched.replay(history) if history else None
        if memory is not None:
            return Item(card, title, memory, memory.due)
        if planned is not None:
            return Item(card, title, None, planned, planned=True)
        return Item(card, title, None, self.now)

    # --- days -----------------------------------------------------------------------------

    def today(self) -> date:
        return study_day(self.now, self.tz, self.config.day_starts_at)

    def day_start(self, day: date) -> datetime:
        return day_start(day, self.tz, self.config.day_starts_at)

    def end_of_today(self) -> datetime:
        return self.day_start(self.today() + timedelta(days=1))

    def study_day(self, moment: datetime) -> date:
        return study_day(moment, self.tz, self.config.day_starts_at)

    # --- queues ---------------------------------------------------------------------------

    def _tagged(self, items, tags: list[str] | None) -> list[Item]:
        return [i for i in items if not tags or self.notes[i.card.path].has_tags(tags)]

    def due_items(self, tags: list[str] | None = None) -> list[Item]:
        """Cards with a schedule that falls due by the end of today (new cards apart)."""
        soon = self.end_of_today()
        items = [i for i in self.items.values() if not i.is_new and i.due < soon]
        return sorted(self._tagged(items, tags), key=lambda i: (i.due, i.card.path, i.card.line))

    def new_items(self, tags: list[str] | None = None) -> list[Item]:
        """Cards never reviewed, in the configured ``new_order``."""
        items = self._tagged([i for i in self.items.values() if i.is_new], tags)
        order = self.config.new_order
        if order == "links":
            incoming = self._incoming()
            return sorted(items, key=lambda i: (-incoming.get(i.card.path, 0), i.card.path, i.card.line))
        if order == "created":

            def created(i: Item) -> date:
                return self.notes[i.card.path].date_field("created") or date.max

            return sorted(items, key=lambda i: (created(i), i.card.path, i.card.line))
        return sorted(items, key=lambda i: (i.card.path, i.card.line))

    def _incoming(self) -> dict[str, int]:
        """How many other notes link to each note: foundations first. Resolving every link
        of a large vault takes a while, so the counts are kept in the index for the notes'
        names and links as they are (any change there, or to the resolution rules, counts again)."""
        import hashlib
        import json

        from attnkb.vault import code_version

        digest = hashlib.sha1(code_version("links.py").encode())
        for note in self.notes.values():
            digest.update(
                "\x1e".join([note.path, note.title, *note.aliases, "", *note.links, "\x1d"]).encode(
                    "utf-8", "surrogatepass"
                )
            )
        key = digest.hexdigest()
        kept = self.index.derived("incoming", key) if self.index else None
        if kept is not None:
            return json.loads(kept)
        from attnkb.links import Resolver  # with Markdown and YAML parsers: ~60 ms to import

        resolver = Resolver(list(self.notes.values()))
        sources: dict[str, set[str]] = {}
        for note in self.notes.values():
            for target in note.links:
                found = resolver.resolve(target, note.path).path
                if found is not None and found != note.path:
                    sources.setdefault(found, set()).add(note.path)
        counts = {path: len(found) for path, found in sources.items()}
        if self.index:
            self.index.keep_derived("incoming", key, json.dumps(counts))
        return counts

    def reviewed_today(self) -> tuple[int, int]:
        """(reviews today, new cards first seen today), for the daily limits. A review counts
        when the card's previous grade was on an earlier day (same-day learning steps do not);
        undone grades are not in the effective history, so they never count."""
        today = self.today()
        count = new = 0
        for history in self.history.reviews.values():
            days = [self.study_day(e.time) for e in history if e.is_review]
            if days and days[0] == today:
                new += 1
            count += sum(1 for before, day in itertools.pairwise(days) if day == today > before)
        return count, new

    def queue(self, tags: list[str] | None, limit: int | None, new_limit: int | None) -> list[Item]:
        """What a session starts with: due cards within the daily review limit, then new
        cards within the new-card limit. Cards in their learning steps are never held back."""
        done, new_done = self.reviewed_today()
        review_room = max(self.config.reviews_per_day - done, 0)
        new_room = max((self.config.new_per_day if new_limit is None else new_limit) - new_done, 0)
        ahead = self.now + self.config.learn_ahead
        out: list[Item] = []
        for item in self.due_items(tags):
            if item.memory is not None and item.memory.learning:
                if item.due <= ahead:  # later ones join the session when they fall due
                    out.append(item)
            elif review_room > 0:
                review_room -= 1
                out.append(item)
        if new_room:
            out += self.new_items(tags)[:new_room]
        return out[:limit] if limit is not None else out

    def groups(self, tags: list[str] | None = None) -> dict[str, list[Item]]:
        """``due``: new cards apart; scheduled cards overdue, due today, due in the next 7 days."""
        today = self.day_start(self.today())
        out: dict[str, list[Item]] = {"new": self.new_items(tags)}
        out.update({name: [] for name in DUE_GROUPS})
        for item in sorted(self._tagged(self.items.values(), tags), key=lambda i: (i.due, i.card.path)):
            if item.is_new:
                continue
            if item.due < today:
                out["overdue"].append(item)
            elif item.due < today + timedelta(days=1):
                out["today"].append(item)
            elif item.due < today + timedelta(days=8):
                out["week"].append(item)
        return out

    def next_day_due(self, tags: list[str] | None = None) -> tuple[date, int] | None:
        """The first study day after today with scheduled cards due, and how many."""
        soon = self.end_of_today()
        days = [
            self.study_day(i.due)
            for i in self._tagged(self.items.values(), tags)
            if not i.is_new and i.due >= soon
        ]
        if not days:
            return None
        first = min(days)
        return first, days.count(first)

    def next_due(self) -> datetime | None:
        upcoming = [i.due for i in self.items.values() if not i.is_new]
        return min(upcoming) if upcoming else None

    def preview(self, item: Item, when: datetime) -> dict[int, Memory]:
        """The state each grade would give: what a button shows is what the grade applies."""
        return self.sched.options(item.memory, when, item.card.id)

    def answer(self, item: Item) -> str:
        """The answer to show; a note card's is its first section, and the answer of a card
        kept in the index without it is the card's in the note, both read now. A note that
        cannot be read any more, or no longer holds the card, gives no answer and a notice,
        never the end of the session."""
        from attnkb import frontmatter

        card = item.card
        if card.answer is not None and card.kind != "note":
            return card.answer
        try:
            if card.kind == "note":
                return note_answer(frontmatter.split(read_text(self.root, card.path)).body)
            note, _, _ = read_note(self.root, card.path)
        except OSError as exc:
            self.notices.append(f"{card.path}: cannot read the note ({exc.strerror or exc})")
            return ""
        except NotANote as exc:
            self.notices.append(f"{card.path}: {exc.message}")
            return ""
        found = next((c.answer for c in cards_for(note) if c.id == card.id), None)
        if found is None:
            self.notices.append(f"{card.path}: the note no longer holds this question; no answer to show")
        return found or ""

    # --- recording --------------------------------------------------------------------------

    def grade(self, item: Item, rating: int, when: datetime, duration_ms: int) -> Entry:
        entry = Entry(
            when,
            item.card.id,
            rating,
            duration_ms,
            item.card.path,
            id=new_id(),
            fingerprint=self.notes[item.card.path].fingerprint,
        )
        self._record(item, entry, +1)
        return entry

    def review_whole(self, item: Item, rating: int, when: datetime) -> Entry:
        """A review done away from the session (a ticked checklist line): the note was studied
        that day, not flashed for a minute, so a Good that leaves a card in its (re)learning
        steps graduates it, as a Good would with no steps. The log then holds the review and,
        just after it, the memory it graduated to (a ``state`` entry, which counts as no review);
        a card in steps would otherwise be due again that evening and on tomorrow's list."""
        from dataclasses import replace

        from attnkb.srs.log import SET_STATE, StartState

        stepless = Scheduler(replace(self.config, learning_steps=[], relearning_steps=[]), self.tz)
        graduated = stepless.options(item.memory, when, item.card.id)[3]
        entry = self.grade(item, rating, when, 0)
        if rating != 3 or item.memory is None or not item.memory.learning:
            return entry
        start = StartState(graduated.stability, graduated.difficulty, graduated.due)
        later = when + timedelta(seconds=1)  # after the review, in every log's order
        state = Entry(
            later,
            item.card.id,
            SET_STATE,
            0,
            item.card.path,
            start=start,
            id=new_id(),
            fingerprint=self.notes[item.card.path].fingerprint,
        )
        self._record(item, state, 0)
        return entry

    def undo(self, item: Item, when: datetime, graded: Entry) -> None:
        """Cancel one grade by its id: never someone else's, even after a merge."""
        entry = Entry(when, item.card.id, UNDO, 0, item.card.path, id=new_id(), undoes=graded.id)
        self._record(item, entry, -1)

    def _record(self, item: Item, entry: Entry, count_delta: int) -> None:
        with self.log.locked():
            self.log.append(entry)  # raises before the note is touched if the line cannot be written
            self.history = self._read()  # every device and session, as the log stands now
            planned = self._planned(self.notes[item.card.path])
            for other in self.by_path[item.card.path]:
                fresh = self._item(other.card, planned)
                other.memory, other.due, other.planned = fresh.memory, fresh.due, fresh.planned
            if not self.config.front_matter_summary:
                return
            try:
                self._write_summary(item.card.path, entry.time, count_delta)
            except (AttnkbError, OSError, ValueError, RecursionError) as exc:
                # the note may have been edited into anything since it was indexed
                named = isinstance(exc, AttnkbError) and exc.path is not None
                where = "" if named else f"{item.card.path}: "
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self.notices.append(f"{where}{reason}; review logged, front matter not updated")

    def summary(self, path: str) -> dict[str, object]:
        items = self.by_path.get(path, [])
        masteries = [i.memory.mastery if i.memory else 0.0 for i in items]
        reviewed = [i.memory.last_review for i in items if i.memory and i.memory.last_review]
        dues = [i.due for i in items if not i.is_new] or [self.now]
        return {
            "last_reviewed": self.study_day(max(reviewed)) if reviewed else None,
            "next_review": self.study_day(min(dues)),
            "mastery_level": round(sum(masteries) / len(masteries), 2) if masteries else 0.0,
        }

    def _write_summary(self, path: str, when: datetime, count_delta: int) -> None:
        """Re-read the note now (it may have been edited during the session) and rewrite only
        the keys we own."""
        from attnkb import frontmatter
        from attnkb.note import decode

        file = self.root / path
        text, problems = decode(file.read_bytes())
        if problems:
            raise AttnkbError("not valid UTF-8", path, problems[0].line)
        parts = frontmatter.split(text)
        current = frontmatter.parse(parts.fm_text).data if parts.fm_text is not None else {}
        count = current.get("review_count")
        count = count if isinstance(count, int) and not isinstance(count, bool) else 0
        values = self.summary(path)
        values["review_count"] = max(count + count_delta, 0)
        new = frontmatter.update_keys(text, {k: values[k] for k in OWNED_KEYS})
        if new != text:
            atomic_write(file, new, self.root)
