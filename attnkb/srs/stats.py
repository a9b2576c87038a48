"""Numbers for ``attnkb stats``: daily reviews, true retention, forecast, mastery, streak.

Everything counts the effective history (undone grades left out) by study day.

True retention is Anki's: of the reviews of cards in their review phase (graduated from the
learning steps, not relearning), the share passed (Hard, Good or Easy), per period. Learning
steps are left out: a card graded Again and then Good ten minutes later is one failure, not a
success, and a new card's first grades say nothing about memory yet.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from attnkb.srs.deck import Deck
from attnkb.srs.memory import REVIEW

# Anki's True Retention table: the days each period reaches back, counting today
PERIODS = {"today": 1, "yesterday": 2, "week": 7, "month": 30, "year": 365, "all": None}


def compute(deck: Deck, forecast_days: int = 30) -> dict:
    today = deck.today()
    per_day: Counter = Counter()
    passed: Counter = Counter()  # by study day: reviews of review-phase cards passed / failed
    failed: Counter = Counter()
    for history in deck.history.reviews.values():
        memory = None
        for e in history:
            if e.is_review:
                day = deck.study_day(e.time)
                per_day[day] += 1
                if memory is not None and memory.phase == REVIEW:
                    (passed if e.rating > 1 else failed)[day] += 1
            memory = deck.sched.step(memory, e)
    retention = {}
    for name, days in PERIODS.items():
        since = None if days is None else today - timedelta(days=days - 1)
        until = today - timedelta(days=1) if name == "yesterday" else today
        inside = [d for d in set(passed) | set(failed) if (since is None or d >= since) and d <= until]
        p, f = sum(passed[d] for d in inside), sum(failed[d] for d in inside)
        retention[name] = {"passed": p, "failed": f, "retention": p / (p + f) if p + f else None}
    forecast: Counter = Counter()
    for item in deck.items.values():
        if item.is_new:
            continue
        offset = (deck.study_day(item.due) - today).days
        if offset < forecast_days:
            forecast[max(offset, 0)] += 1
    by_path: dict[str, list[float]] = defaultdict(list)
    for item in deck.items.values():
        by_path[item.card.path].append(item.memory.mastery if item.memory else 0.0)
    by_tag: dict[str, list[float]] = defaultdict(list)
    for path, note in deck.notes.items():
        values = by_path.get(path, [])
        mastery = sum(values) / max(len(values), 1)
        for tag in note.tags or ["(untagged)"]:
            by_tag[tag].append(mastery)
    streak, day = 0, today if per_day.get(today) else today - timedelta(days=1)
    while per_day.get(day):
        streak += 1
        day -= timedelta(days=1)
    return {
        "reviews": sum(per_day.values()),
        "reviews_per_day": {d.isoformat(): n for d, n in sorted(per_day.items())},
        "true_retention": retention["all"]["retention"],
        "true_retention_by_period": retention,
        "forecast": [
            {"date": (today + timedelta(days=i)).isoformat(), "due": forecast.get(i, 0)}
            for i in range(forecast_days)
        ],
        "mastery_by_tag": {t: round(sum(v) / len(v), 2) for t, v in sorted(by_tag.items())},
        "streak_days": streak,
        "cards": len(deck.items),
        "new": sum(1 for i in deck.items.values() if i.is_new),
    }
