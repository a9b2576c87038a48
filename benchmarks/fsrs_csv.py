"""Reading review logs in the CSV layout of the FSRS datasets (the shared real log uses it).

A benchmark helper, not part of attnkb: the replay benchmark and its tests read real logs with it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from attnkb.errors import UsageError


@dataclass(frozen=True)
class CsvReview:
    card: str
    time: datetime
    rating: int  # 1 Again .. 4 Easy
    duration_ms: int


def read_fsrs_csv(path: Path) -> list[CsvReview]:
    """Rows with ``card_id``, ``review_time`` (ISO), ``review_rating``, ``review_duration`` (ms);
    other columns are ignored. A bad row is reported as ``path:line``."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        try:
            reviews = []
            for row in reader:
                rating = int(row["review_rating"])
                if not 1 <= rating <= 4:
                    raise ValueError(f"rating {rating} is not 1-4")
                when = datetime.fromisoformat(row["review_time"])
                if when.tzinfo is None:
                    raise ValueError(f"time {row['review_time']!r} has no UTC offset")
                reviews.append(CsvReview(row["card_id"], when, rating, int(row["review_duration"])))
            return reviews
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"not an FSRS review row: {exc}", str(path), reader.line_num) from exc
