"""obsidian-spaced-repetition: its card forms and the schedule it keeps in notes.

The plugin reads notes line by line, not as Markdown, so we do too: a card is ``Q::A`` (one
card) or ``Q:::A`` (two, the second reversed) on one line; or a block of lines with a line that
is exactly ``?`` (``??`` for reversed) between front and back, ended by a blank line; or a block
holding clozes (``==text==``; ``**text**`` and ``{{text}}`` when the vault enables them), one
card per cloze. Its schedule lives in ``<!--SR:!…!…-->`` comments, one ``!`` segment per card
of the block, and in ``sr-due``/``sr-interval``/``sr-ease`` front matter for note reviews; the
comments are never part of an answer.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from attnkb.config import CONFIG_FILE

if TYPE_CHECKING:
    from attnkb.interop.records import ImportReport
    from attnkb.note import Note
    from attnkb.srs.config import ReviewConfig
    from attnkb.srs.log import StartState

CLOZE_STYLES = {
    "highlight": re.compile(r"==(?=\S)([^=\n]*?\S)=="),
    "bold": re.compile(r"\*\*(?=\S)([^*\n]*?\S)\*\*"),
    "curly": re.compile(r"\{\{(?=\S)([^{}\n]*?\S)\}\}"),
}
DEFAULT_CLOZES: tuple[str, ...] = ("highlight",)
# what each style's cloze cannot be without: a body holding none of these has no cloze
_CLOZE_MARKS = {"highlight": "==", "bold": "**", "curly": "{{"}
# a line that may be a lone ``?``/``??`` separator (a superset: ``\s`` spans lines)
_MAYBE_SEPARATOR = re.compile(r"^\s*\?\??\s*$", re.MULTILINE)

_SR_COMMENT = re.compile(r"<!--SR:(.*?)-->")
_CALLOUT = re.compile(r"^\s*>\s*\[!sr\|card-metadata\]", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)|^\s*\|")  # headings and table rows hold no cards
_LEAD = re.compile(r"^\s*(?:>\s?)*\s*(?:(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?)?")
_MASKED = re.compile(r"(`+)[^`\n]*?\1|(?<![\\$])\$[^$\n]+\$")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BOLD_Q = re.compile(r"^\s*\*\*Q\d*\s*[:：.．、]")


@dataclass
class Segment:
    """One card's schedule from an ``<!--SR:…-->`` comment."""

    due: datetime
    interval: float  # days
    ease: float | None = None  # SM-2 ease (2.5 = 250)
    stability: float | None = None  # FSRS segments carry the memory itself
    difficulty: float | None = None
    last_review: datetime | None = None


@dataclass
class SrCard:
    kind: str  # inline | reversed | multiline | cloze
    question: str
    answer: str
    line: int
    schedule: Segment | None = None
    problem: str = ""  # why the schedule comment of this card could not be read


@dataclass
class _Block:
    lines: list[tuple[int, str]] = field(default_factory=list)  # (file line, text)


# --- config -------------------------------------------------------------------------------


def _clozes(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in CLOZE_STYLES for v in value):
        raise ValueError("must be a list of " + ", ".join(repr(s) for s in CLOZE_STYLES))
    return tuple(s for s in CLOZE_STYLES if s in value)


CARDS_CHECKS = {"clozes": _clozes}


def cloze_styles(state_dir: Path) -> tuple[str, ...]:
    """``[cards] clozes`` of ``.attnkb/config.toml``: which markers make clozes. (Its unknown
    keys are warned about with ``[vault]``'s, by the index.)"""
    from attnkb import config

    values, _ = config.load(state_dir).section("cards", CARDS_CHECKS)
    return values.get("clozes", DEFAULT_CLOZES)  # type: ignore[return-value]


def vault_clozes(root: Path) -> tuple[str, ...]:
    """:func:`cloze_styles` of the vault at ``root``, read once per version of its config file
    (the index asks for every note it parses)."""
    path = root / ".attnkb" / CONFIG_FILE
    try:
        st = path.stat()
    except OSError:
        return DEFAULT_CLOZES
    return _cached_styles(str(root), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _cached_styles(root: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    return cloze_styles(Path(root) / ".attnkb")


# --- schedule comments --------------------------------------------------------------------


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` or ``DD-MM-YYYY`` (both appear in the plugin's files)."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:-\d{2}-\d{2})?", text)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{2})-(\d{2})-(\d{4})", text)
    if m:
        return date(int(m[3]), int(m[2]), int(m[1]))
    raise ValueError(f"not a date: {text!r}")


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def day_start(d: date) -> datetime:
    """A plugin date is a local day: its start here."""
    return datetime.combine(d, time()).astimezone()


def parse_segment(text: str) -> Segment:
    """One ``!`` segment: SM-2 ``date,interval,ease`` or
    ``fsrs,due,interval,stability,difficulty,state,reps,lapses,steps,last review|-``."""
    parts = [p.strip() for p in text.split(",")]
    if parts[0].lower() == "fsrs":
        if len(parts) != 10:
            raise ValueError(f"FSRS segment needs 10 fields, has {len(parts)}")
        due = _instant(parts[1])
        interval, stability, difficulty = float(parts[2]), float(parts[3]), float(parts[4])
        if not (stability > 0 and 1 <= difficulty <= 10 and interval >= 0):
            raise ValueError("FSRS stability must be > 0 and difficulty 1-10")
        last = None if parts[9] in ("-", "") else _instant(parts[9])
        return Segment(due, interval, None, stability, difficulty, last)
    if len(parts) != 3:
        raise ValueError(f"expected date,interval,ease; got {text!r}")
    interval, ease = float(parts[1]), float(parts[2])
    if not (interval >= 0 and 100 <= ease <= 1000):
        raise ValueError("interval must be >= 0 and ease between 100 and 1000")
    return Segment(day_start(parse_date(parts[0])), interval, ease / 100)


def _segments(comment: str) -> list[Segment | str]:
    """Each segment parsed, or the reason it could not be."""
    out: list[Segment | str] = []
    for raw in comment.split("!")[1:]:
        try:
            out.append(parse_segment(raw))
        except (ValueError, OverflowError) as exc:
            out.append(f"unreadable schedule {raw!r}: {exc}")
    return out


def note_schedule(meta: dict) -> Segment | None:
    """The note-review schedule of ``sr-due``/``sr-interval``/``sr-ease`` front matter."""
    if "sr-due" not in meta:
        return None
    due = parse_date(str(meta["sr-due"]))
    interval = float(meta.get("sr-interval", 1))
    ease = float(meta.get("sr-ease", 250))
    if not (interval >= 0 and 100 <= ease <= 1000):
        raise ValueError("sr-interval must be >= 0 and sr-ease between 100 and 1000")
    return Segment(day_start(due), interval, ease / 100)


# --- cards --------------------------------------------------------------------------------


def _mask(text: str) -> str:
    """The line with inline code and math blanked out: separators there are not separators."""
    return _MASKED.sub(lambda m: "\0" * len(m.group(0)), text)


def _strip_comments(text: str) -> str:
    return _SR_COMMENT.sub("", text).rstrip()


def _is_meta_line(text: str) -> bool:
    """A line that only carries schedule: a lone SR comment or the callout holding one."""
    bare = re.sub(r"^\s*(?:>\s?)*", "", text)
    return bool(_CALLOUT.match(text)) or (
        bool(_SR_COMMENT.search(bare)) and not _strip_comments(bare).strip()
    )


def _blocks(body: str, first_line: int) -> list[_Block]:
    """Runs of non-blank lines outside fenced code and ``$$`` math; headings stand alone."""
    blocks: list[_Block] = []
    current = _Block()
    fence = ""
    in_math = False
    from attnkb.markdown import split_lines  # markdown imports this module: late import

    for n, line in enumerate(split_lines(body)):
        stripped = line.strip()
        f = _FENCE.match(line)
        if fence:
            if f and f.group(1)[0] == fence[0] and len(f.group(1)) >= len(fence):
                fence = ""
            continue
        if f:
            fence = f.group(1)
        elif stripped.startswith("$$") and (stripped == "$$" or not stripped.endswith("$$")):
            in_math = not in_math
        elif not in_math and stripped and not _HEADING.match(line):
            current.lines.append((first_line + n, line))
            continue
        elif in_math:
            continue
        if current.lines:
            blocks.append(current)
            current = _Block()
    if current.lines:
        blocks.append(current)
    return blocks


def _schedule_after(block: _Block, index: int) -> tuple[str, int]:
    """The SR comment for the card on line ``index``: on that line, or on the meta lines after."""
    comment = _SR_COMMENT.search(block.lines[index][1])
    if comment:
        return comment.group(1), index
    j = index + 1
    while j < len(block.lines) and _is_meta_line(block.lines[j][1]):
        comment = _SR_COMMENT.search(block.lines[j][1])
        if comment:
            return comment.group(1), j
        j += 1
    return "", index


def _attach(cards: list[SrCard], comment: str) -> None:
    for card, seg in zip(cards, _segments(comment) if comment else [], strict=False):
        if isinstance(seg, str):
            card.problem = seg
        else:
            card.schedule = seg


def _question(text: str) -> str:
    return _LEAD.sub("", _strip_comments(text), count=1).strip()


def parse_cards(body: str, first_line: int = 1, clozes: tuple[str, ...] = DEFAULT_CLOZES) -> list[SrCard]:
    """The plugin's cards in a note body, with the schedule each comment gives them."""
    out: list[SrCard] = []
    if not _may_hold_cards(body, clozes):
        return out  # most notes: this look costs a fiftieth of the line-by-line parse
    for block in _blocks(body, first_line):
        texts = [t for _, t in block.lines]
        sep = next((i for i, t in enumerate(texts) if t.strip() in ("?", "??")), None)
        if sep is not None and 0 < sep < len(texts) - 1:
            out.extend(_multiline(block, sep))
            continue
        used: set[int] = set()
        for i, (line, text) in enumerate(block.lines):
            cards = _single_line(text, line)
            if cards:
                comment, last = _schedule_after(block, i)
                _attach(cards, comment)
                out.extend(cards)
                used.update(range(i, last + 1))
        rest = [(ln, t) for i, (ln, t) in enumerate(block.lines) if i not in used]
        if rest and clozes:
            out.extend(_clozes(rest, clozes))
    return out


def _may_hold_cards(body: str, clozes: tuple[str, ...]) -> bool:
    """False only when no card of any form can be in ``body``: every form needs ``::``, a
    separator line, or its cloze style's marks. (The separator regex tries every position of
    the note, most of this look's time, so a ``?`` is looked for first.)"""
    return (
        "::" in body
        or any(_CLOZE_MARKS[style] in body for style in clozes)
        or ("?" in body and _MAYBE_SEPARATOR.search(body) is not None)
    )


def _single_line(text: str, line: int) -> list[SrCard]:
    masked = _mask(_strip_comments(text))
    at = masked.find("::")
    if at < 0:
        return []
    reversed_ = masked.startswith(":::", at)
    end = at + (3 if reversed_ else 2)
    plain = _strip_comments(text)
    q, a = _question(plain[:at]), plain[end:].strip()
    if not q or not a or (not reversed_ and masked.startswith(":", end)) or _URL_SCHEME.match(q):
        return []
    if reversed_:
        return [SrCard("inline", q, a, line), SrCard("reversed", a, q, line)]
    return [SrCard("inline", q, a, line)]


def _multiline(block: _Block, sep: int) -> list[SrCard]:
    reversed_ = block.lines[sep][1].strip() == "??"
    front = [t for _, t in block.lines[:sep] if not _is_meta_line(t)]
    back_lines = block.lines[sep + 1 :]
    comment = ""
    back = []
    for _, t in back_lines:
        m = _SR_COMMENT.search(t)
        if m:
            comment = m.group(1)
        if not _is_meta_line(t):
            back.append(_strip_comments(t))
    q = "\n".join(_strip_comments(t) for t in front).strip()
    a = "\n".join(back).strip()
    if not q or not a:
        return []
    line = block.lines[0][0]
    cards = [SrCard("multiline", q, a, line)]
    if reversed_:
        cards.append(SrCard("reversed", a, q, line))
    _attach(cards, comment)
    return cards


def _clozes(lines: list[tuple[int, str]], styles: tuple[str, ...]) -> list[SrCard]:
    comment = ""
    kept: list[tuple[int, str]] = []
    for ln, t in lines:
        m = _SR_COMMENT.search(t)
        if m:
            comment = m.group(1)
        if not _is_meta_line(t):
            kept.append((ln, _strip_comments(t)))
    if not kept:
        return []
    text = "\n".join(t for _, t in kept)
    masked = _mask(text)
    spans: list[tuple[int, int, str]] = []
    for style in styles:
        for m in CLOZE_STYLES[style].finditer(masked):
            line_start = masked.rfind("\n", 0, m.start()) + 1
            if style == "bold" and _BOLD_Q.match(masked[line_start:]):
                continue  # "**Q: …**" is a question of ours, not a cloze
            if not any(s < m.end() and m.start() < e for s, e, _ in spans):
                spans.append((m.start(), m.end(), text[m.start(1) : m.end(1)]))
    spans.sort()
    cards = []
    for k, (start, _, _) in enumerate(spans):
        q, a = [], []
        pos = 0
        for j, (s, e, inner) in enumerate(spans):
            q.append(text[pos:s] + ("[...]" if j == k else inner))
            a.append(text[pos:s] + (f"**{inner}**" if j == k else inner))
            pos = e
        q.append(text[pos:])
        a.append(text[pos:])
        line = kept[0][0] + text.count("\n", 0, start)
        cards.append(SrCard("cloze", _question("".join(q)), _question("".join(a)), line))
    _attach(cards, comment)
    return cards


# --- import -------------------------------------------------------------------------------


def start_state(seg: Segment, desired_retention: float, parameters: tuple[float, ...] | None) -> StartState:
    """FSRS segments as they are; SM-2 ones through ``memory_state_from_sm2``, as Anki does when
    a deck switches to FSRS."""
    from attnkb.srs.log import StartState

    if seg.stability is not None and seg.difficulty is not None:
        return StartState(seg.stability, seg.difficulty, seg.due)
    import fsrs_rs_python

    model = fsrs_rs_python.FSRS(list(parameters) if parameters else fsrs_rs_python.DEFAULT_PARAMETERS)
    memory = model.memory_state_from_sm2(
        float(seg.ease or 2.5), max(float(seg.interval), 1.0), desired_retention
    )
    return StartState(float(memory.stability), float(memory.difficulty), seg.due)


def last_review(seg: Segment) -> datetime:
    return seg.last_review or seg.due - timedelta(days=seg.interval)


def plan_import(root: Path, notes: list[Note], config: ReviewConfig, clozes: tuple[str, ...]) -> ImportReport:
    """Log entries that give every scheduled card its memory and due date; notes untouched."""
    from attnkb import frontmatter
    from attnkb.interop.records import ImportReport, Skipped
    from attnkb.srs.cards import cards_for
    from attnkb.srs.log import SET_STATE, Entry
    from attnkb.vault import read_text

    report = ImportReport()
    for note in notes:
        try:
            text = read_text(root, note.path)
        except OSError as exc:
            report.skipped.append(Skipped(note.path, None, f"cannot read: {exc.strerror}"))
            continue
        parts = frontmatter.split(text)
        cards = {(c.kind, c.question, c.line): c for c in cards_for(note)}
        scheduled = []
        for sr in parse_cards(parts.body, parts.body_line, clozes):
            if sr.problem:
                report.skipped.append(Skipped(note.path, sr.line, sr.problem))
            elif sr.schedule is not None and (card := cards.get((sr.kind, sr.question, sr.line))):
                scheduled.append((card, sr.schedule))
        try:
            note_seg = note_schedule(note.meta)
        except (ValueError, TypeError) as exc:
            report.skipped.append(Skipped(note.path, 1, f"sr-due: {exc}"))
            note_seg = None
        if note_seg is not None:
            only = list(cards.values())
            if len(only) == 1 and only[0].kind == "note":
                scheduled.append((only[0], note_seg))
            else:
                report.skipped.append(
                    Skipped(note.path, 1, f"sr-due: the note is reviewed through its {len(only)} cards")
                )
        for card, seg in scheduled:
            state = start_state(seg, config.desired_retention, config.parameters)
            report.entries.append(Entry(last_review(seg), card.id, SET_STATE, 0, card.path, state))
        if scheduled:
            report.notes += 1
            report.cards += len(scheduled)
    return report
