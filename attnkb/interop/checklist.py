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
from attnkb.notefields import NoteFields
from attnkb.srs.deck import Deck, Item

STAMP = re.compile(rb"<!-- attnkb due (\S+) -->")
_BOX = re.compile(rb"^([ \t]*[-*+][ \t]+\[)([xX])(\][ \t])(.*?)(\r?)$", re.MULTILINE)
_LINK = re.compile(r"\[(?:[^\]\\]|\\.)*\]\((<[^>\n]*>|[^)\s]*)")
_GRADE = re.compile(r"\((\d+)\)\s*$")
_ENCODE = {c: f"%{ord(c):02X}" for c in " ()<>[]%#?"}
SECTIONS = ("overdue", "today", "week", "new")
LANGUAGES = ("auto", "zh", "en")


@dataclass(frozen=True)
class Labels:
    """The words of a checklist, in the vault's language (a Chinese vault keeps Chinese ones)."""

    title: str
    intro: str
    sections: dict[str, str]
    summary: str  # .format(total=, overdue=, today=, week=, new=)
    more: str  # .format(n=, limit=)
    reviews: str  # .format(n=)
    due: str
    new: str
    cards: str
    difficulty: str


LABELS = {
    "en": Labels(
        title="Reviews for {day}",
        intro="Tick what you reviewed (add a grade like `(2)` after a line for other than Good), then run"
        " `attnkb review --checklist` on this file.",
        sections={"overdue": "Overdue", "today": "Today", "week": "This week", "new": "New"},
        summary="{total} notes: {overdue} overdue · {today} today · {week} this week · {new} new",
        more="_{n} more not listed (limit {limit})_",
        reviews="reviews: {n}",
        due="due: {day}",
        new="new",
        cards="cards to review: {now}/{all}",
        difficulty="difficulty: {value}",
    ),
    "zh": Labels(
        title="📅 复习清单 {day}",
        intro="复习完一篇就勾上（不是“良好”时在行尾写上评分，如 `(2)`），然后对本文件运行"
        " `attnkb review --checklist`。",
        sections={"overdue": "🔴 已过期", "today": "⭐ 今日", "week": "📅 本周", "new": "🆕 新笔记"},
        summary="共 {total} 篇：已过期 {overdue} · 今日 {today} · 本周 {week} · 新 {new}",
        more="_另有 {n} 篇未列出（每节最多 {limit} 篇）_",
        reviews="已复习: {n}次",
        due="到期: {day}",
        new="新",
        cards="待复习卡片: {now}/{all}",
        difficulty="难度: {value}",
    ),
}


def language_of(titles: list[str], setting: str = "auto") -> str:
    """``zh`` or ``en``: as set, else Chinese when most titles hold Chinese characters."""
    if setting != "auto":
        return setting
    from attnkb.search import CJK_CLASS

    cjk = re.compile(f"[{CJK_CLASS}]")
    chinese = sum(1 for t in titles if cjk.search(t))
    return "zh" if titles and chinese * 2 > len(titles) else "en"


@dataclass
class ChecklistConfig:
    language: str = "auto"
    limit: int | None = None  # notes listed per section; None: all


def _language(value: object) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(map(repr, LANGUAGES))}, not {value!r}")
    return str(value)


def load_config(state_dir: Path) -> tuple[ChecklistConfig, list]:
    """``[checklist]`` of ``.attnkb/config.toml``; unknown keys come back as warnings."""
    from attnkb import config
    from attnkb.config import whole

    values, warnings = config.load(state_dir).section("checklist", {"language": _language, "limit": whole(1)})
    return ChecklistConfig(**values), warnings  # type: ignore[arg-type]


def _href(path: str) -> str:
    return "".join(_ENCODE.get(c, c) for c in path)


def _title(text: str) -> str:
    return re.sub(r"([\\\[\]*_`<>])", r"\\\1", re.sub(r"[\x00-\x1f\x7f]", " ", text))


def review_count(note: NoteFields) -> int | None:
    """The ``review_count`` a note's front matter keeps (by hand or by attnkb), if any."""
    value = note.meta.get("review_count")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _reviews(items: list[Item]) -> int:
    return sum(1 for i in items if i.memory for e in i.memory.history if e.is_review)


def render(
    deck: Deck,
    out_dir: Path,
    tags: list[str] | None = None,
    limit: int | None = None,
    language: str = "auto",
) -> str:
    """The checklist: notes with cards overdue, due today or within a week (each note once, in
    the group of its earliest card), then the notes of today's new cards; links relative to
    ``out_dir``; at most ``limit`` notes a section (saying how many were left out); labels in
    ``language`` (``auto``: the language of most titles)."""
    words = LABELS[language_of([n.title for n in deck.notes.values()], language)]
    by_note: dict[str, list[Item]] = {}
    for item in deck.items.values():
        by_note.setdefault(item.card.path, []).append(item)
    placed: set[str] = set()
    groups: dict[str, list[str]] = {name: [] for name in SECTIONS}
    scheduled = deck.groups(tags)
    for name in ("overdue", "today", "week"):
        for item in scheduled[name]:
            if item.card.path not in placed:
                placed.add(item.card.path)
                groups[name].append(item.card.path)
    for item in deck.new_items(tags)[: deck.config.new_per_day]:
        if item.card.path not in placed:
            placed.add(item.card.path)
            groups["new"].append(item.card.path)
    counts = {name: len(paths) for name, paths in groups.items()}
    lines = [
        f"# {words.title.format(day=deck.today().isoformat())}\n",
        "\n",
        f"<!-- attnkb due {deck.now.isoformat()} -->\n",
        words.intro + "\n",
        "\n",
        words.summary.format(total=sum(counts.values()), **counts) + "\n",
    ]
    for name in SECTIONS:
        paths = groups[name]
        shown = paths if limit is None else paths[:limit]
        rows = [_row(deck, path, by_note[path], out_dir, words) for path in shown]
        lines += ["\n", f"## {words.sections[name]} ({len(paths)})\n", "\n", *rows]
        if len(shown) < len(paths):
            lines += ["\n", words.more.format(n=len(paths) - len(shown), limit=limit) + "\n"]
    return "".join(lines)


def _row(deck: Deck, path: str, items: list[Item], out_dir: Path, words: Labels) -> str:
    note = deck.notes[path]
    count = review_count(note)
    count = count if count is not None else _reviews(items)
    scheduled = [i.due for i in items if not i.is_new]
    facts = [words.reviews.format(n=count)]
    facts.append(words.due.format(day=deck.study_day(min(scheduled)).isoformat()) if scheduled else words.new)
    if len(items) > 1:
        facts.append(words.cards.format(now=len(_to_grade(deck, items)), all=len(items)))
    difficulty = note.meta.get("difficulty")
    if (
        isinstance(difficulty, str | int | float)
        and not isinstance(difficulty, bool)
        and str(difficulty).strip()
    ):
        facts.append(words.difficulty.format(value=_title(" ".join(str(difficulty).split()))))
    link = _href(os.path.relpath(deck.root / path, out_dir).replace(os.sep, "/"))
    return f"- [ ] [{_title(note.title)}]({link})\n  - {' · '.join(facts)}\n"


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
    graded: set[str] = field(default_factory=set)  # notes graded by this run
    untick_error: str | None = None  # why the boxes could not be unticked (grades were kept)


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
        from attnkb.errors import AttnkbError
        from attnkb.files import atomic_write, output_root

        try:
            atomic_write(file, bytes(new), output_root(file, deck.root))
        except (AttnkbError, OSError) as exc:  # the grades are in the log already
            result.untick_error = exc.message if isinstance(exc, AttnkbError) else exc.strerror or str(exc)
        else:
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
    if path in result.graded:  # ticked on two lines: one review, whatever the clocks say
        return "already graded on an earlier line"
    items = [i for i in deck.items.values() if i.card.path == path]
    if any(e.time >= since for i in items if i.memory for e in i.memory.history if e.is_review):
        return "already reviewed since this checklist was written"
    due = _to_grade(deck, items)
    if not due:
        return "nothing due in this note"
    for item in due:
        deck.review_whole(item, rating, deck.now)
        result.reviews += 1
    result.notes += 1
    result.graded.add(path)
    return None
