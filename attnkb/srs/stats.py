"""Numbers for ``attnkb stats``: daily reviews, true retention, forecast, mastery, streak.

Everything counts the effective history (undone grades left out) by study day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from attnkb.srs.deck import Deck


def compute(deck: Deck, forecast_days: int = 30) -> dict:
    today = deck.today()
    per_day: Counter = Counter()
    later = recalled = 0
    for history in deck.history.reviews.values():
        reviews = [e for e in history if e.is_review]
        for n, e in enumerate(reviews):
            per_day[deck.study_day(e.time)] += 1
            if n:  # "true" retention counts only reviews after the first
                later += 1
                recalled += e.rating > 1
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
        "true_retention": recalled / later if later else None,
        "forecast": [
            {"date": (today + timedelta(days=i)).isoformat(), "due": forecast.get(i, 0)}
            for i in range(forecast_days)
        ],
        "mastery_by_tag": {t: round(sum(v) / len(v), 2) for t, v in sorted(by_tag.items())},
        "streak_days": streak,
        "cards": len(deck.items),
        "new": sum(1 for i in deck.items.values() if i.is_new),
    }
