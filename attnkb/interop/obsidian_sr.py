"""obsidian-spaced-repetition's schedules: read from a vault and imported into the log.

Its card forms are read with every other form, by :mod:`attnkb.cards`, which leaves each card
the ``!`` segment of its ``<!--SR:!…!…-->`` comment as written; this module reads those
segments and the ``sr-due``/``sr-interval``/``sr-ease`` front matter of note reviews.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from attnkb.cards import CardKind
from attnkb.plural import counted

if TYPE_CHECKING:
    from attnkb.interop.records import ImportReport
    from attnkb.note import Note
    from attnkb.srs.config import ReviewConfig
    from attnkb.srs.log import StartState


@dataclass
class Segment:
    """One card's schedule from an ``<!--SR:…-->`` comment."""

    due: datetime
    interval: float  # days
    ease: float | None = None  # SM-2 ease (2.5 = 250)
    stability: float | None = None  # FSRS segments carry the memory itself
    difficulty: float | None = None
    last_review: datetime | None = None


# --- schedule comments --------------------------------------------------------------------


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` or ``DD-MM-YYYY`` (both appear in the plugin's files)."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:-\d{2}-\d{2})?", text)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{2})-(\d{2})-(\d{4})", text)
    if m:
        return date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError(f"not a date: {text!r}")


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day_start(d: date) -> datetime:
    """A plugin date is a local day: its start here."""
    return datetime.combine(d, time()).astimezone()


def parse_segment(text: str) -> Segment:
    """One ``!`` segment: SM-2 ``date,interval,ease`` or
    ``fsrs,due,interval,stability,difficulty,state,reps,lapses,steps,last review|-``."""
    parts = [p.strip() for p in text.split(",")]
    if parts[0].lower() == "fsrs":
        if len(parts) != 10:
            raise ValueError(f"FSRS segment needs 10 fields, has {len(parts)}")
        due = _instant(parts[1])
        interval, stability, difficulty = float(parts[2]), float(parts[3]), float(parts[4])
        if not (stability > 0 and 1 <= difficulty <= 10 and interval >= 0):
            raise ValueError("FSRS stability must be > 0 and difficulty 1-10")
        last = None if parts[9] in ("-", "") else _instant(parts[9])
        return Segment(due, interval, None, stability, difficulty, last)
    if len(parts) != 3:
        raise ValueError(f"expected date,interval,ease; got {text!r}")
    interval, ease = float(parts[1]), float(parts[2])
    if not (interval >= 0 and 100 <= ease <= 1000):
        raise ValueError("interval must be >= 0 and ease between 100 and 1000")
    return Segment(day_start(parse_date(parts[0])), interval, ease / 100)


def note_schedule(meta: dict) -> Segment | None:
    """The note-review schedule of ``sr-due``/``sr-interval``/``sr-ease`` front matter."""
    if "sr-due" not in meta:
        return None
    due = parse_date(str(meta["sr-due"]))
    interval = float(meta.get("sr-interval", 1))
    ease = float(meta.get("sr-ease", 250))
    if not (interval >= 0 and 100 <= ease <= 1000):
        raise ValueError("sr-interval must be >= 0 and sr-ease between 100 and 1000")
    return Segment(day_start(due), interval, ease / 100)


# --- import -------------------------------------------------------------------------------


def start_state(seg: Segment, desired_retention: float, parameters: tuple[float, ...] | None) -> StartState:
    """FSRS segments as they are; SM-2 ones through ``memory_state_from_sm2``, as Anki does when
    a deck switches to FSRS."""
    from attnkb.srs.log import StartState

    if seg.stability is not None and seg.difficulty is not None:
        return StartState(seg.stability, seg.difficulty, seg.due)
    import fsrs_rs_python

    model = fsrs_rs_python.FSRS(list(parameters) if parameters else fsrs_rs_python.DEFAULT_PARAMETERS)
    memory = model.memory_state_from_sm2(
        float(seg.ease or 2.5), max(float(seg.interval), 1.0), desired_retention
    )
    return StartState(float(memory.stability), float(memory.difficulty), seg.due)


def last_review(seg: Segment) -> datetime:
    return seg.last_review or seg.due - timedelta(days=seg.interval)


def plan_import(notes: list[Note], config: ReviewConfig) -> ImportReport:
    """Log entries that give every scheduled card its memory and due date; notes untouched."""
    from attnkb.interop.records import ImportReport, Skipped
    from attnkb.srs.cards import cards_for
    from attnkb.srs.log import SET_STATE, Entry

    report = ImportReport()
    for note in notes:
        cards = cards_for(note)
        scheduled = []
        for source, card in zip(note.cards, cards, strict=False):
            if not source.schedule:
                continue
            try:
                scheduled.append((card, parse_segment(source.schedule)))
            except (ValueError, OverflowError) as exc:
                report.skipped.append(
                    Skipped(note.path, source.line, f"unreadable schedule {source.schedule!r}: {exc}")
                )
        try:
            note_seg = note_schedule(note.meta)
        except (ValueError, TypeError) as exc:
            report.skipped.append(Skipped(note.path, 1, f"sr-due: {exc}"))
            note_seg = None
        if note_seg is not None:
            if len(cards) == 1 and cards[0].kind == CardKind.NOTE:
                scheduled.append((cards[0], note_seg))
            else:
                report.skipped.append(
                    Skipped(
                        note.path,
                        1,
                        f"sr-due: the note is reviewed through its {counted(len(cards), 'card')}",
                    )
                )
        for card, seg in scheduled:
            state = start_state(seg, config.desired_retention, config.parameters)
            report.entries.append(Entry(last_review(seg), card.id, SET_STATE, 0, card.path, state))
        if scheduled:
            report.notes += 1
            report.cards += len(scheduled)
    return report
