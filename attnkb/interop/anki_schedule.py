"""Anki's schedule in our terms and ours in Anki's: day numbers, card phases, FSRS memory.

Anki keeps a review card's due date as a *day number*: study days since the collection was
created (``col.crt``). A study day starts at the collection's rollover hour (config ``rollover``,
4 am when unset), and day 0 is the calendar day of ``crt`` in the zone the collection was made in
(config ``creationOffset``, minutes west of UTC); day N starts at the rollover of that date + N
days in the zone Anki runs in (rslib ``sched_timing_today_v2_new``). Collections without
``creationOffset`` count from ``crt``'s date in the current zone, and v1 collections
(``schedVer`` 1) in plain 86,400-second steps from ``crt``. Learning cards are due at a Unix
timestamp instead, unless their step crosses a rollover (queue 3: a day number again).

A card in its steps carries ``type`` (1 learning, 3 relearning) and ``left``: the steps still to
go, in the last three digits. Anki's FSRS memory is the card's ``data`` JSON ``s`` and ``d``, stored
rounded (stability to 4 decimals, difficulty to 3) and continued from the rounded values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from attnkb.srs.days import DEFAULT_ROLLOVER_HOUR, day_start, study_day
from attnkb.srs.memory import LEARNING, RELEARNING, REVIEW, anki_rounding

MAX_TIMESTAMP = 253_402_300_000  # seconds: times past the year 9999 are damage, not dates
MAX_DUE_DAYS = 1_000_000
MAX_OFFSET_MINUTES = 23 * 60  # Anki clamps offsets to ±23 h
NEW, LEARN, REVIEW_TYPE, RELEARN = 0, 1, 2, 3  # card types
QUEUE_NEW, QUEUE_LEARN, QUEUE_REVIEW, QUEUE_DAY_LEARN, QUEUE_PREVIEW = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class AnkiDays:
    """How one collection numbers its days: ``crt`` (seconds), its creation zone and rollover."""

    crt: int
    creation_offset: int | None = None  # minutes west of UTC; None: counted in the current zone
    rollover: int | None = DEFAULT_ROLLOVER_HOUR  # None: a v1 collection (days of 86,400 s)

    @classmethod
    def from_config(cls, crt: int, config: dict) -> AnkiDays:
        """From the collection's config (schema 18 ``config`` rows or schema 11 ``col.conf``);
        values of the wrong type count as unset, as Anki reads them."""

        def whole(key: str) -> int | None:
            value = config.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        offset = whole("creationOffset")
        if offset is not None:
            offset = min(max(offset, -MAX_OFFSET_MINUTES), MAX_OFFSET_MINUTES)
        if whole("schedVer") in (None, 1):
            return cls(crt, offset, None)
        rollover = whole("rollover")
        rollover = DEFAULT_ROLLOVER_HOUR if rollover is None else min(max(rollover, 0), 23)
        return cls(crt, offset, rollover)

    def _day_zero(self, tz: tzinfo | None) -> date:
        created = datetime.fromtimestamp(self.crt, UTC)
        if self.creation_offset is not None:
            return created.astimezone(timezone(timedelta(minutes=-self.creation_offset))).date()
        return created.astimezone(tz).date()

    def day_start(self, number: int, tz: tzinfo | None) -> datetime:
        """The instant Anki's day ``number`` begins, seen from ``tz`` (the zone attnkb runs in)."""
        if self.rollover is None:
            return datetime.fromtimestamp(self.crt, UTC).astimezone(tz) + timedelta(days=number)
        return day_start(self._day_zero(tz) + timedelta(days=number), tz, self.rollover)

    def day_number(self, moment: datetime, tz: tzinfo | None) -> int:
        """Anki's number for the study day ``moment`` falls in."""
        if self.rollover is None:
            return int((moment.timestamp() - self.crt) // 86_400)
        return (study_day(moment, tz, self.rollover) - self._day_zero(tz)).days


def card_due(ctype: int, queue: int, due: int, days: AnkiDays, tz: tzinfo | None) -> datetime | None:
    """When Anki would show the card next; None for a new card or a due that is damage."""
    if ctype == NEW or queue == QUEUE_NEW:
        return None
    if queue in (QUEUE_LEARN, QUEUE_PREVIEW) or (ctype in (LEARN, RELEARN) and due > 10**9):
        return datetime.fromtimestamp(due, UTC).astimezone(tz) if 0 < due < MAX_TIMESTAMP else None
    if not -MAX_DUE_DAYS < due < MAX_DUE_DAYS:
        return None
    return days.day_start(due, tz)


def card_phase(ctype: int, left: int) -> tuple[str, int]:
    """Our phase and the steps still to go for Anki's card type and ``left``."""
    if ctype == LEARN:
        return LEARNING, left % 1000
    if ctype == RELEARN:
        return RELEARNING, left % 1000
    return REVIEW, 0


def fsrs_memory(data: str) -> tuple[float, float] | None:
    """Anki's own FSRS memory of a card (``data`` JSON ``s``, ``d``), when it kept one."""
    try:
        parsed = json.loads(data) if data else {}
        s, d = float(parsed["s"]), float(parsed["d"])
    except (ValueError, KeyError, TypeError, OverflowError):
        return None
    return (s, d) if 0 < s < 1e6 and 1 <= d <= 10 else None


def sm2_memory(factor: int, interval: int, retention: float = 0.9) -> tuple[float, float]:
    """The memory Anki gives an SM-2 review card when FSRS is switched on (ease and interval)."""
    import fsrs_rs_python

    sm2 = fsrs_rs_python.FSRS(fsrs_rs_python.DEFAULT_PARAMETERS).memory_state_from_sm2(
        (factor or 2500) / 1000, float(max(interval, 1)), retention
    )
    return anki_rounding(float(sm2.stability), float(sm2.difficulty))
