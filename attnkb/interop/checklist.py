"""The daily checklist of hand-rolled vaults: a Markdown file of due notes with boxes to tick.

``due --markdown`` writes it (overdue / today / this week, then the notes of today's new cards;
links that resolve from the file's folder; each note's review count and due date). Ticking a box and running ``review --checklist``
records a review of the note's due cards (Good, or the grade written after the box: ``(2)``) and
unticks the box, changing no other byte. The file carries the moment it was written, so a
checklist older than the reviews already logged for a note records nothing twice.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from attnkb.errors import UsageError
from attnkb.note import Note
from attnkb.srs.deck import Deck, Item

STAMP = re.compile(rb"<!-- attnkb due (\S+) -->")
_BOX = re.compile(rb"^([ \t]*[-*+][ \t]+\[)([xX])(\][ \t])(.*?)(\r?)$", re.MULTILINE)
_LINK = re.compile(r"\[(?:[^\]\\]|\\.)*\]\((<[^>\n]*>|[^)\s]*)")
_GRADE = re.compile(r"\((\d+)\)\s*$")
_ENCODE = {c: f"%{ord(c):02X}" for c in " ()<>[]%#?"}
SECTIONS = (("overdue", "Overdue"), ("today", "Today"), ("week", "This week"), ("new", "New"))


def _href(path: str) -> str:
    return "".join(_ENCODE.get(c, c) for c in path)


def _title(text: str) -> str:
    return re.sub(r"([\\\[\]*_`<>])", r"\\\1", re.sub(r"[\x00-\x1f\x7f]", " ", text))


def review_count(note: Note) -> int | None:
    """The ``review_count`` a note's front matter keeps (by hand or by attnkb), if any."""
    value = note.meta.get("review_count")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _reviews(items: list[Item]) -> int:
    return sum(1 for i in items if i.memory for e in i.memory.history if e.is_review)


def render(deck: Deck, out_dir: Path, tags: list[str] | None = None) -> str:
    """The checklist: notes with cards overdue, due today or within a week (each note once, in
    the group of its earliest card), then the notes of today's new cards; links relative to
    ``out_dir``."""
    by_note: dict[str, list[Item]] = {}
    for item in deck.items.values():
        by_note.setdefault(item.card.path, []).append(item)
    placed: set[str] = set()
    groups: dict[str, list[str]] = {name: [] for name, _ in SECTIONS}
    scheduled = deck.groups(tags)
    for name in ("overdue", "today", "week"):
        for item in scheduled[name]:
            if item.card.path not in placed:
                placed.add(item.card.path)
                groups[name].append(_row(deck, item.card.path, by_note[item.card.path], out_dir))
    for item in deck.new_items(tags)[: deck.config.new_per_day]:
        if item.card.path not in placed:
            placed.add(item.card.path)
            groups["new"].append(_row(deck, item.card.path, by_note[item.card.path], out_dir))
    lines = [
        f"# Reviews for {deck.today().isoformat()}\n",
        "\n",
        f"<!-- attnkb due {deck.now.isoformat()} -->\n",
        "Tick what you reviewed (add a grade like `(2)` after a line for other than Good), then run"
        " `attnkb review --checklist` on this file.\n",
    ]
    for name, label in SECTIONS:
        lines += ["\n", f"## {label} ({len(groups[name])})\n", "\n", *groups[name]]
    return "".join(lines)


def _row(deck: Deck, path: str, items: list[Item], out_dir: Path) -> str:
    note = deck.notes[path]
    count = review_count(note)
    count = count if count is not None else _reviews(items)
    scheduled = [i.due for i in items if not i.is_new]
    due = f"due: {deck.study_day(min(scheduled)).isoformat()}" if scheduled else "new"
    now = len(_to_grade(deck, items))
    cards = f" · cards to review: {now}/{len(items)}" if len(items) > 1 else ""
    link = _href(os.path.relpath(deck.root / path, out_dir).replace(os.sep, "/"))
    return f"- [ ] [{_title(note.title)}]({link})\n  - reviews: {count} · {due}{cards}\n"


def _to_grade(deck: Deck, items: list[Item]) -> list[Item]:
    """The cards a tick stands for: those due by the end of today, and new ones."""
    soon = deck.end_of_today()
    return [i for i in items if i.is_new or i.due < soon]


@dataclass
class ChecklistResult:
    reviews: int = 0
    notes: int = 0
    unticked: int = 0
    skipped: list[str] = field(default_factory=list)  # "line N: reason"


def record(deck: Deck, file: Path) -> ChecklistResult:
    """Grade the due cards of every ticked note, then untick those boxes (only those bytes)."""
    data = file.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError("not valid UTF-8", str(file), line) from exc
    since = _written_at(data) or deck.day_start(deck.today())
    result = ChecklistResult()
    untick: list[int] = []
    root = deck.root.resolve()
    for m in _BOX.finditer(data):
        line = data.count(b"\n", 0, m.start()) + 1
        rest = m.group(4).decode("utf-8")
        reason = _record_one(deck, file, root, rest, since, result)
        if reason is None or reason.startswith("already") or reason.startswith("nothing"):
            untick.append(m.start(2))
        if reason:
            result.skipped.append(f"line {line}: {reason}")
    if untick:
        new = bytearray(data)
        for pos in untick:
            new[pos : pos + 1] = b" "
        from attnkb.files import atomic_write

        atomic_write(file, bytes(new).decode("utf-8"))
        result.unticked = len(untick)
    return result


def _written_at(data: bytes) -> datetime | None:
    """When ``due --markdown`` wrote the file; None for a hand-made or damaged stamp."""
    stamp = STAMP.search(data)
    try:
        moment = datetime.fromisoformat(stamp.group(1).decode()) if stamp else None
    except (ValueError, UnicodeDecodeError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _record_one(
    deck: Deck, file: Path, root: Path, rest: str, since: datetime, result: ChecklistResult
) -> str | None:
    """Grade one ticked line; the reason it recorded nothing, or None."""
    link = _LINK.search(rest)
    if not link:
        return "no link to a note"
    target = unquote(link.group(1).strip("<>"))
    try:
        path = (file.parent / target).resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return f"{target} is not a note of this vault"
    if path not in deck.notes:
        return f"{target} is not a note of this vault"
    grade = _GRADE.search(rest)
    rating = int(grade.group(1)) if grade else 3
    if not 1 <= rating <= 4:
        return f"grade ({rating}) must be 1-4"
    items = [i for i in deck.items.values() if i.card.path == path]
    if any(e.time >= since for i in items if i.memory for e in i.memory.history if e.is_review):
        return "already reviewed since this checklist was written"
    due = _to_grade(deck, items)
    if not due:
        return "nothing due in this note"
    for item in due:
        deck.grade(item, rating, deck.now, 0)
        result.reviews += 1
    result.notes += 1
    return None
