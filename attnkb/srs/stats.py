"""Numbers for ``attnkb stats``: daily reviews, true retention, forecast, mastery, streak."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from attnkb.srs.deck import Deck


def compute(deck: Deck, forecast_days: int = 30) -> dict:
    tz = deck.now.tzinfo
    today = deck.now.date()
    per_day: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    later = recalled = 0
    for e in sorted(deck.entries, key=lambda e: e.time):
        if not e.is_review:
            continue
        per_day[e.time.astimezone(tz).date()] += 1
        key = (e.path, e.card)
        if key in seen:  # "true" retention counts only reviews after the first
            later += 1
            recalled += e.rating > 1
        seen.add(key)
    forecast = Counter()
    for item in deck.items.values():
        offset = (item.due.astimezone(tz).date() - today).days
        if offset < forecast_days:
            forecast[max(offset, 0)] += 1
    by_tag: dict[str, list[float]] = defaultdict(list)
    for path, note in deck.notes.items():
        items = [i for i in deck.items.values() if i.card.path == path]
        mastery = sum(i.memory.mastery if i.memory else 0.0 for i in items) / max(len(items), 1)
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
    }
