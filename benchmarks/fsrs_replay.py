"""Replay a real review log through our log and scheduler; report prediction quality and time.

    python benchmarks/fsrs_replay.py [../shared/data/fsrs-review-log.csv]

For every review at least a day after the card's previous one, FSRS's predicted retrievability just before the review is
compared with the outcome (recalled = rating > Again): log loss and RMSE, the srs-benchmark's
metrics. The log is first written through ``ReviewLog`` and read back, as a user's would be.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

from attnkb.srs.config import ReviewConfig
from attnkb.srs.log import ReviewLog, read_fsrs_csv
from attnkb.srs.memory import new_card, replay, review, scheduler


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsrs-review-log.csv"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    entries = read_fsrs_csv(path, "replay.md")
    sched = scheduler(ReviewConfig(fuzz=False))
    with tempfile.TemporaryDirectory() as tmp:
        log = ReviewLog(Path(tmp))
        t0 = time.perf_counter()
        for e in entries:
            log.append(e)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        read = log.entries()
        memories = replay(sched, read)
        t_replay = time.perf_counter() - t0
    cards: dict[str, object] = {}
    loss = sq = 0.0
    n = 0
    for e in sorted(entries, key=lambda e: e.time):
        card = cards.get(e.card)
        # as the srs-benchmark does, score only reviews a day or more after the previous one
        if card is not None and card.last_review is not None and (e.time - card.last_review).days >= 1:
            p = min(max(sched.get_card_retrievability(card, e.time), 1e-6), 1 - 1e-6)
            y = 1.0 if e.rating > 1 else 0.0
            loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
            sq += (p - y) ** 2
            n += 1
        cards[e.card] = review(sched, card or new_card(), e.rating, e.time, e.duration_ms)
    print(f"reviews: {len(entries)}, cards: {len(memories)}, predictions scored: {n}")
    print(f"log loss: {loss / n:.4f}   RMSE: {math.sqrt(sq / n):.4f}")
    print(f"append {len(entries)} lines (fsync each): {t_write:.2f}s; read + replay: {t_replay:.2f}s")


if __name__ == "__main__":
    main()
