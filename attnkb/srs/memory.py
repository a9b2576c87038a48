"""FSRS scheduling as Anki does it, over the review log: every card's memory, rebuilt by replay.

Memory (stability S, difficulty D) comes from ``fsrs-rs-python``, the Rust FSRS behind Anki,
stepped once per review with the *study days* elapsed (attnkb.srs.days: days start at
``day_starts_at``, so 23:00 and 08:00 the next morning are a day apart). Around it, Anki's card
states: new cards and lapses go through learning / relearning steps (minutes, same session),
then review intervals in whole days, due at the start of a study day.

Review intervals keep Anki's order (good ≥ hard + 1, easy ≥ good + 1) and its fuzz: a spread
that grows with the interval, never below the days since the last review + 1, drawn from a
factor seeded by the card id and its review count. So replaying the log gives the same dates
every time, and the interval a grade button shows is the one that grade applies.

Ratings: 1 Again, 2 Hard, 3 Good, 4 Easy. Mastery is S / (S + 21) for stability S in days:
0 for an unseen card, 0.5 once a card is expected to last three weeks, approaching 1.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from fsrs_rs_python import DEFAULT_PARAMETERS, FSRS, MemoryState

from attnkb.srs.config import ReviewConfig
from attnkb.srs.days import day_start, elapsed_days, study_day
from attnkb.srs.log import Entry, StartState

MASTERY_HALF_LIFE_DAYS = 21.0
LEARNING, REVIEW, RELEARNING = "learning", "review", "relearning"
FUZZ_RANGES = ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, math.inf, 0.05))  # Anki's


@dataclass
class Memory:
    """A card's replayed state and the entries that made it (for undo and stats)."""

    phase: str  # learning | review | relearning
    step: int  # index into the (re)learning steps
    stability: float | None  # None: only a due date was imported, no memory yet
    difficulty: float | None
    last_review: datetime | None
    due: datetime
    interval: int  # scheduled days (review phase); 0 while in steps
    reps: int = 0
    lapses: int = 0
    history: list[Entry] = field(default_factory=list)
    rounded: bool = False  # a memory from Anki: kept as Anki keeps it after every review (anki_rounding)

    @property
    def mastery(self) -> float:
        s = self.stability
        return 0.0 if not s else s / (s + MASTERY_HALF_LIFE_DAYS)

    @property
    def learning(self) -> bool:
        return self.phase != REVIEW


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def _round_f32(value: float, places: int) -> float:
    """Rust's ``(v * 10^places).round() / 10^places`` in f32, as Anki's card data rounds: the
    product and quotient of two f32 values computed in double and rounded once are exactly f32's."""
    factor = _f32(10.0**places)
    scaled = _f32(_f32(value) * factor)
    whole = math.copysign(math.floor(abs(scaled) + 0.5), scaled)  # half away from zero
    return _f32(_f32(whole) / factor)


def anki_rounding(stability: float, difficulty: float) -> tuple[float, float]:
    """Stability to 4 decimals and difficulty to 3 (in f32): what Anki stores after every
    review and continues from, so a card whose memory came from Anki stays equal to its twin."""
    return _round_f32(stability, 4), _round_f32(difficulty, 3)


def fuzz_factor(card_id: str, reps: int) -> float:
    """A number in [0, 1) fixed by the card and how many reviews it has had (Anki seeds its
    fuzz with card id + reps): the same review always gets the same fuzz."""
    digest = hashlib.sha256(f"{card_id}:{reps}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Scheduler:
    def __init__(self, config: ReviewConfig, tz: tzinfo | None):
        self.config = config
        self.tz = tz
        self.fsrs = FSRS(list(config.parameters or DEFAULT_PARAMETERS))

    def elapsed(self, memory: Memory | None, when: datetime) -> int:
        if memory is None or memory.last_review is None:
            return 0
        return max(elapsed_days(memory.last_review, when, self.tz, self.config.day_starts_at), 0)

    def _day_due(self, when: datetime, days: int) -> datetime:
        hour = self.config.day_starts_at
        return day_start(study_day(when, self.tz, hour) + timedelta(days=days), self.tz, hour)

    def options(self, memory: Memory | None, when: datetime, card_id: str) -> dict[int, Memory]:
        """The state each grade (1-4) would leave the card in at ``when``."""
        return {rating: make() for rating, make in self._choices(memory, when, card_id).items()}

    def _choices(
        self, memory: Memory | None, when: datetime, card_id: str
    ) -> dict[int, Callable[[], Memory]]:
        """How to make the state of each grade; a replay makes only the one given, which is
        most of the cost of reading a long log."""
        cfg = self.config
        elapsed = self.elapsed(memory, when)
        state = (
            MemoryState(memory.stability, memory.difficulty)
            if memory is not None and memory.stability is not None and memory.difficulty is not None
            else None
        )
        known = memory if state is not None else None  # a memory FSRS can step from
        nxt = self.fsrs.next_states(state, cfg.desired_retention, elapsed)
        mems = {1: nxt.again.memory, 2: nxt.hard.memory, 3: nxt.good.memory, 4: nxt.easy.memory}
        ivls = {1: nxt.again.interval, 2: nxt.hard.interval, 3: nxt.good.interval, 4: nxt.easy.interval}
        reps = memory.reps if memory else 0
        lapses = memory.lapses if memory else 0
        fuzz = fuzz_factor(card_id, reps) if cfg.fuzz else None

        def days(ivl: float, minimum: int) -> int:
            return self.interval(ivl, minimum, elapsed, fuzz)

        rounded = memory is not None and memory.rounded

        def kept(rating: int) -> tuple[float, float]:
            m = mems[rating]
            return anki_rounding(m.stability, m.difficulty) if rounded else (m.stability, m.difficulty)

        def steps_state(rating: int, phase: str, step: int, delay: timedelta, lapsed: int = 0) -> Memory:
            s, d = kept(rating)
            return Memory(
                phase, step, s, d, when, when + delay, 0, reps + 1, lapses + lapsed, rounded=rounded
            )

        def review_state(rating: int, ivl: int, lapsed: int = 0) -> Memory:
            s, d = kept(rating)
            due = self._day_due(when, ivl)
            return Memory(REVIEW, 0, s, d, when, due, ivl, reps + 1, lapses + lapsed, rounded=rounded)

        # each interval is worked out only when its grade is asked for (a replay asks for one)
        if known is not None and known.phase == REVIEW:
            relearn = cfg.relearning_steps

            def hard() -> int:
                return days(ivls[2], 1)

            def good() -> int:
                return days(ivls[3], hard() + 1)

            def easy() -> int:
                return days(ivls[4], good() + 1)

            def again() -> Memory:
                if relearn:
                    return steps_state(1, RELEARNING, 0, relearn[0], 1)
                return review_state(1, days(ivls[1], 1), 1)

            return {
                1: again,
                2: lambda: review_state(2, hard()),
                3: lambda: review_state(3, good()),
                4: lambda: review_state(4, easy()),
            }

        # a memory FSRS can step from, or learning steps imported without one
        stepping = memory if known is not None or (memory is not None and memory.phase != REVIEW) else None
        phase = stepping.phase if stepping is not None else LEARNING
        steps = cfg.relearning_steps if phase == RELEARNING else cfg.learning_steps
        step = min(stepping.step, len(steps) - 1) if stepping is not None and steps else 0

        def first_good() -> int:
            return days(ivls[3], 1)

        def first_easy() -> int:
            return days(ivls[4], first_good() + 1)

        if not steps:
            return {
                1: lambda: review_state(1, days(ivls[1], 1)),
                2: lambda: review_state(2, days(ivls[2], 1)),
                3: lambda: review_state(3, max(first_good(), days(ivls[2], 1))),
                4: lambda: review_state(4, first_easy()),
            }

        def good_state() -> Memory:
            if step + 1 < len(steps):
                return steps_state(3, phase, step + 1, steps[step + 1])
            return review_state(3, first_good())

        return {
            1: lambda: steps_state(1, phase, 0, steps[0]),
            2: lambda: steps_state(2, phase, step, _hard_delay(steps, step)),
            3: good_state,
            4: lambda: review_state(4, first_easy()),
        }

    def interval(self, ivl: float, minimum: int, elapsed: int, fuzz: float | None) -> int:
        """Whole days from an FSRS interval: at least ``minimum``, at most the maximum, fuzzed
        (Anki's ranges) within bounds that never go below ``elapsed`` + 1."""
        maximum = self.config.maximum_interval
        minimum = min(max(minimum, 1), maximum)
        ivl = min(max(ivl, minimum), maximum)
        if fuzz is None or ivl < 2.5:
            return min(max(math.floor(ivl + 0.5), minimum), maximum)
        delta = 1.0
        for start, end, factor in FUZZ_RANGES:
            if ivl > start:
                delta += factor * (min(ivl, end) - start)
        lower = max(math.floor(ivl - delta + 0.5), 2)
        upper = math.floor(ivl + delta + 0.5)
        if ivl > elapsed:
            lower = max(lower, elapsed + 1)
        lower = min(max(lower, minimum), maximum)
        upper = min(max(upper, lower), maximum)
        return min(math.floor(lower + fuzz * (upper - lower + 1)), upper)

    def step(self, memory: Memory | None, entry: Entry) -> Memory:
        """The card after one log entry: a review, or a memory imported from another tool.
        The result's ``history`` is left empty (``replay`` fills it once)."""
        if entry.start is not None:
            return self._start(memory, entry.start, entry.time)
        return self._choices(memory, entry.time, entry.card)[entry.rating]()

    def _start(self, memory: Memory | None, start: StartState, time: datetime) -> Memory:
        s = start.stability if start.stability is not None else (memory.stability if memory else None)
        d = start.difficulty if start.difficulty is not None else (memory.difficulty if memory else None)
        # a state without stability keeps the replayed memory's last review; otherwise it starts now
        kept = memory.last_review if start.stability is None and memory is not None else None
        last = kept if kept is not None else time
        reps, lapses = (memory.reps, memory.lapses) if memory else (0, 0)
        if start.phase != REVIEW:
            # Anki's ``left`` counts the steps still to go: the current one is that far from the end
            steps = self.config.relearning_steps if start.phase == RELEARNING else self.config.learning_steps
            step = min(max(len(steps) - start.left, 0), max(len(steps) - 1, 0))
            return Memory(start.phase, step, s, d, last, start.due, 0, reps, lapses, rounded=start.rounded)
        hour = self.config.day_starts_at
        days = (study_day(start.due, self.tz, hour) - study_day(last, self.tz, hour)).days
        return Memory(REVIEW, 0, s, d, last, start.due, max(days, 1), reps, lapses, rounded=start.rounded)

    def replay(self, history: list[Entry]) -> Memory | None:
        memory = None
        for entry in history:
            memory = self.step(memory, entry)
        if memory is not None:
            memory.history = list(history)
        return memory


def _hard_delay(steps: list[timedelta], step: int) -> timedelta:
    """Anki: Hard on the first step waits halfway to the second (or 1.5× a single step, at most
    a day more); on a later step it repeats that step."""
    if step > 0:
        return steps[step]
    if len(steps) > 1:
        return (steps[0] + steps[1]) / 2
    return min(steps[0] * 1.5, steps[0] + timedelta(days=1))
