"""The append-only review log: the source of truth for every card's memory.

One review per line, tab-separated, so that git diffs and merges it:

    2026-11-21T09:30:00+00:00  <card id>  <rating 1-4 | undo>  <duration ms>  <note path>

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
HEADER = "# attnkb review log v1: time, card, rating (1-4 or undo), duration ms, note path\n"


@dataclass(frozen=True)
class Entry:
    time: datetime
    card: str
    rating: int  # 1..4, or 0 for an undo of the card's latest review
    duration_ms: int
    path: str

    def line(self) -> str:
        rating = "undo" if self.rating == 0 else str(self.rating)
        return f"{self.time.isoformat()}\t{self.card}\t{rating}\t{self.duration_ms}\t{self.path}\n"


def parse_line(line: str) -> Entry | None:
    if not line.endswith("\n") or line.startswith("#"):
        return None
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 5:
        return None
    try:
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
