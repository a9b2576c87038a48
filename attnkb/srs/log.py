"""The append-only review log: the source of truth for every card's memory.

One review per line, tab-separated, so that git diffs and merges it:

    2026-11-21T09:30:00+00:00  <card id>  <rating 1-4 | undo | state:S,D,due>  <duration ms>  <note path>

A ``state:`` entry carries a memory in from another tool (an Anki or obsidian-spaced-repetition
import): stability S and difficulty D (``-`` keeps what the reviews before it built) and the due
time; replay continues from it as from a review made at the entry's time.

Appends happen under an exclusive lock and are fsynced; a line cut short by a crash is ignored
on reading, so the log is never half-written from a reader's point of view.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

LOG_FILE = "reviews.log"
LOCK_FILE = "lock"
HEADER = "# attnkb review log v1: time, card, rating (1-4, undo or state:S,D,due), duration ms, note path\n"
SET_STATE = -1  # the rating of an entry that sets a memory instead of recording a review


@dataclass(frozen=True)
class StartState:
    """A memory carried in from another tool; ``None`` keeps the replayed stability/difficulty."""

    stability: float | None
    difficulty: float | None
    due: datetime

    def text(self) -> str:
        def num(x: float | None) -> str:
            return "-" if x is None else repr(round(x, 6))

        return f"state:{num(self.stability)},{num(self.difficulty)},{self.due.isoformat()}"

    @classmethod
    def parse(cls, text: str) -> StartState:
        s, d, due = text.removeprefix("state:").split(",")
        stability = None if s == "-" else float(s)
        difficulty = None if d == "-" else float(d)
        if (stability is not None and not stability > 0) or (
            difficulty is not None and not 1 <= difficulty <= 10
        ):
            raise ValueError("state out of range")
        moment = datetime.fromisoformat(due)
        if moment.tzinfo is None:
            raise ValueError("state due time needs a zone")
        return cls(stability, difficulty, moment)


@dataclass(frozen=True)
class Entry:
    time: datetime
    card: str
    rating: int  # 1..4, 0 for an undo of the card's latest entry, SET_STATE with ``start``
    duration_ms: int
    path: str
    start: StartState | None = None

    @property
    def is_review(self) -> bool:
        return 1 <= self.rating <= 4

    def line(self) -> str:
        if self.start is not None:
            rating = self.start.text()
        else:
            rating = "undo" if self.rating == 0 else str(self.rating)
        return f"{self.time.isoformat()}\t{self.card}\t{rating}\t{self.duration_ms}\t{self.path}\n"


def read_fsrs_csv(path: Path, note: str) -> list[Entry]:
    """Reviews in the CSV layout of the FSRS benchmark datasets (``card_id``, ``review_time``,
    ``review_rating``, ``review_duration``), all attributed to one note path."""
    import csv

    from attnkb.errors import UsageError

    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        try:
            return [
                Entry(
                    datetime.fromisoformat(row["review_time"]),
                    row["card_id"],
                    int(row["review_rating"]),
                    int(row["review_duration"]),
                    note,
                )
                for row in reader
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"not an FSRS review row: {exc}", str(path), reader.line_num) from exc


def parse_line(line: str) -> Entry | None:
    if not line.endswith("\n") or line.startswith("#"):
        return None
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 5:
        return None
    try:
        if parts[2].startswith("state:"):
            start = StartState.parse(parts[2])
            time = datetime.fromisoformat(parts[0])
            return Entry(time, parts[1], SET_STATE, int(parts[3]), parts[4], start)
        rating = 0 if parts[2] == "undo" else int(parts[2])
        if not 0 <= rating <= 4:
            return None
        return Entry(datetime.fromisoformat(parts[0]), parts[1], rating, int(parts[3]), parts[4])
    except ValueError:
        return None


class ReviewLog:
    def __init__(self, state_dir: Path):
        self.dir = state_dir
        self.path = state_dir / LOG_FILE

    def entries(self) -> list[Entry]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8", newline="") as f:
            return [e for line in f if (e := parse_line(line)) is not None]

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive lock for a write (log line plus note update) across processes."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, entry: Entry) -> None:
        """One write of one whole line with O_APPEND, then fsync: all or nothing."""
        self.dir.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            # a line cut short by a crash must not swallow this one
            lead = "\n" if size and os.pread(fd, 1, size - 1) != b"\n" else ""
            os.write(fd, ((HEADER if new else lead) + entry.line()).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
