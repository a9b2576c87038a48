"""FSRS (via the ``fsrs`` package) over the review log: every card's memory, rebuilt by replay.

Ratings: 1 Again, 2 Hard, 3 Good, 4 Easy. Mastery is S / (S + 21) for stability S in days:
0 for an unseen card, 0.5 once a card is expected to last three weeks, approaching 1; it only
grows with stability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from fsrs import Card as FsrsCard
from fsrs import Rating, Scheduler, State

from attnkb.srs.config import ReviewConfig
from attnkb.srs.log import Entry

MASTERY_HALF_LIFE_DAYS = 21.0


def scheduler(config: ReviewConfig) -> Scheduler:
    return Scheduler(
        desired_retention=config.desired_retention,
        learning_steps=tuple(config.learning_steps),
        relearning_steps=tuple(config.relearning_steps),
        maximum_interval=config.maximum_interval,
        enable_fuzzing=config.fuzz,
    )


@dataclass
class Memory:
    """A card's replayed state: the fsrs card, and the reviews that made it (for undo)."""

    card: FsrsCard
    history: list[Entry] = field(default_factory=list)

    @property
    def mastery(self) -> float:
        s = self.card.stability
        return 0.0 if not s else s / (s + MASTERY_HALF_LIFE_DAYS)


def new_card(due: datetime | None = None) -> FsrsCard:
    card = FsrsCard(card_id=0)
    if due is not None:
        card.due = due.astimezone(UTC)
    return card


def review(sched: Scheduler, card: FsrsCard, rating: int, when: datetime, duration_ms: int = 0) -> FsrsCard:
    return sched.review_card(card, Rating(rating), when.astimezone(UTC), duration_ms or None)[0]


def start_from(card: FsrsCard, entry: Entry) -> FsrsCard:
    """The card as an imported memory (a ``state:`` entry) leaves it."""
    assert entry.start is not None
    stability = entry.start.stability if entry.start.stability is not None else card.stability
    difficulty = entry.start.difficulty if entry.start.difficulty is not None else card.difficulty
    if stability is None or difficulty is None:  # nothing to keep: only the due date carries
        return new_card(entry.start.due)
    kept = entry.start.stability is None and card.last_review is not None
    return FsrsCard(
        card_id=0,
        state=State.Review,
        stability=stability,
        difficulty=difficulty,
        due=entry.start.due.astimezone(UTC),
        last_review=card.last_review if kept else entry.time.astimezone(UTC),
    )


def replay(sched: Scheduler, entries: list[Entry]) -> dict[tuple[str, str], Memory]:
    """Memories keyed by (note path, card id). An undo entry removes the card's latest review."""
    histories: dict[tuple[str, str], list[Entry]] = {}
    for e in sorted(entries, key=lambda e: e.time):
        h = histories.setdefault((e.path, e.card), [])
        if e.rating == 0:
            if h:
                h.pop()
        else:
            h.append(e)
    memories = {}
    for key, history in histories.items():
        card = new_card()
        for e in history:
            if e.start is not None:
                card = start_from(card, e)
            else:
                card = review(sched, card, e.rating, e.time, e.duration_ms)
        memories[key] = Memory(card, history)
    return memories
