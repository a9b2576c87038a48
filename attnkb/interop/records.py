"""The one place imports write to the review log: only entries it does not hold yet, so that
running an import twice adds nothing the second time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from attnkb.srs.log import Entry, ReviewLog
from attnkb.vault import STATE_DIR

BATCH = 10_000  # entries per write: whole batches land or none


@dataclass
class Skipped:
    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}" if self.line else f"{self.path}: {self.reason}"


@dataclass
class ImportReport:
    """What an import took and left, for the command to say."""

    notes: int = 0
    cards: int = 0
    reviews: int = 0  # review entries among ``entries``
    entries: list[Entry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    written: int = 0  # entries appended (the rest were already in the log)


def append_new(root: Path, entries: list[Entry]) -> int:
    """Append the entries the log lacks, in time order, under the log's lock; how many."""
    log = ReviewLog(root / STATE_DIR)
    with log.locked():
        have = {e.id for e in log.entries()}  # an import's ids hash the entry as written
        new = []
        for entry in sorted(entries, key=lambda e: e.time):
            if entry.id not in have:
                have.add(entry.id)
                new.append(entry)
        for start in range(0, len(new), BATCH):  # one write and one fsync per batch
            log.append(*new[start : start + BATCH])
    return len(new)
