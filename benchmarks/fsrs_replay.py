"""How well FSRS predicts a real review log, scored as open-spaced-repetition/srs-benchmark does.

    python benchmarks/fsrs_replay.py [LOG.csv] [--tz UTC] [--day-starts-at 4]

Default FSRS-6 parameters and parameters fitted by fsrs-rs (the optimizer inside Anki, refitted on
each split's past: its ``benchmark`` training as srs-benchmark runs it, and ``compute_parameters``
with its own outlier filter, which is what ``attnkb optimize`` runs) predict the recall of every scored review; the protocol (study days, the
outlier filter, ``TimeSeriesSplit(5)``, log loss, RMSE(bins)) is in ``srs_protocol.py``. Then
the log goes through attnkb as a user's would: appended line by line with ``ReviewLog``, read
back and replayed by the scheduler, timed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

from fsrs_csv import read_fsrs_csv
from srs_protocol import cross_validate, dataset, fit_default, fit_optimize, fit_rs, predict

from attnkb.srs.config import ReviewConfig
from attnkb.srs.history import effective_history
from attnkb.srs.log import Entry, ReviewLog
from attnkb.srs.memory import Scheduler
from attnkb.srs.optimize import samples

SHARED_LOG = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsrs-review-log.csv"


def replay_through_attnkb(path: Path) -> tuple[int, float, float]:
    reviews = read_fsrs_csv(path)
    entries = [Entry(r.time, r.card, r.rating, r.duration_ms, "replay.md") for r in reviews]
    with tempfile.TemporaryDirectory() as tmp:
        log = ReviewLog(Path(tmp), device="benchmark")
        t0 = time.perf_counter()
        with log.locked():
            for e in entries:
                log.append(e)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        sched = Scheduler(ReviewConfig(fuzz=False), UTC)
        memories = {key: sched.replay(h) for key, h in effective_history(log).reviews.items()}
        t_replay = time.perf_counter() - t0
    return len(memories), t_write, t_replay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path, default=SHARED_LOG)
    parser.add_argument("--tz", default="UTC", help="zone the study days are counted in")
    parser.add_argument("--day-starts-at", type=int, default=4, help="rollover hour")
    args = parser.parse_args()
    if not args.log.exists():
        sys.exit(f"{args.log}: no such file (pass a log in the FSRS CSV layout)")

    reviews = read_fsrs_csv(args.log)
    rows = dataset(
        samples(((r.card, r.time, r.rating) for r in reviews), ZoneInfo(args.tz), args.day_starts_at)
    )
    print(
        f"{args.log.name}: {len(reviews)} reviews; {len(rows)} pass srs-benchmark's filters; "
        f"days start at {args.day_starts_at}:00 {args.tz}"
    )
    print(f"{'parameters':<34} {'log loss':>9} {'RMSE(bins)':>11} {'scored':>7} {'fit time':>9}")
    models = (
        ("FSRS-6 default", fit_default),
        ("fsrs-rs benchmark(), per split", fit_rs),
        ("attnkb optimize's fit, per split", fit_optimize),
    )
    for name, fit in models:
        score = cross_validate(rows, fit, predict, time.perf_counter)
        print(
            f"{name:<34} {score.log_loss:>9.4f} {score.rmse_bins:>11.4f} {score.scored:>7} "
            f"{score.fit_seconds:>8.2f}s"
        )
    cards, t_write, t_replay = replay_through_attnkb(args.log)
    print(
        f"attnkb: append {len(reviews)} lines (fsync each) {t_write:.2f}s; "
        f"read + replay {cards} cards {t_replay:.2f}s"
    )


if __name__ == "__main__":
    main()
