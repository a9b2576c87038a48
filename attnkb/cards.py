"""Every form of card a note can hold, read in one place: the record, its id, the ``[cards]``
table that tunes the reading.

attnkb's own forms come from the Markdown token stream: a heading ``### Q: …`` (its answer is
its section) and a paragraph ``**Q: …**`` followed by ``A: …``. obsidian-spaced-repetition's
forms are read line by line, as that plugin reads them: ``Q::A`` (one card) or ``Q:::A`` (two,
the second reversed) on one line; a block of lines with a line that is exactly ``?`` (``??``
for reversed) between front and back, ended by a blank line; or a block holding clozes
(``==text==``; ``**text**`` and ``{{text}}`` when the vault enables them), one card per cloze.
The plugin keeps its schedule in ``<!--SR:!…!…-->`` comments, one ``!`` segment per card of
the block: each card carries its segment as written (``interop.obsidian_sr`` reads it), and
the comments are never part of an answer. A note with no card is one card of kind ``note``.

Adding a card form touches this module only: a ``CardKind`` member and its reader here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from markdown_it.token import Token

from attnkb.markdown import URL_SCHEME, heading_spans, plain, split_lines

if TYPE_CHECKING:
    from attnkb.note import Note


class CardKind(StrEnum):
    """How a card is written. The values are stored in the index and shown in JSON."""

    HEADING = "heading"  # ### Q: …
    BOLD = "bold"  # **Q: …** / A: …
    INLINE = "inline"  # Q::A, and the forward card of Q:::A
    REVERSED = "reversed"  # the backward card of Q:::A or of a ?? block
    MULTILINE = "multiline"  # front / ? / back
    CLOZE = "cloze"  # ==hidden== in a block
    NOTE = "note"  # a note without cards: its title asks for it


@dataclass
class CardSource:
    """A question found in a note. ``schedule`` is the card's ``!`` segment of an obsidian-sr
    comment as written (empty for none)."""

    kind: CardKind
    question: str
    answer: str
    line: int
    schedule: str = ""

    def __post_init__(self) -> None:
        self.kind = CardKind(self.kind)  # from JSON: the value


def card_id(question: str) -> str:
    """A card's identity, stored in every log line: the question lower-cased, runs of
    whitespace as one space. Editing an answer keeps a card's history; rewording its question
    starts a new card. Never change this."""
    normal = re.sub(r"\s+", " ", question).strip().lower()
    return hashlib.sha1(normal.encode()).hexdigest()[:12]


def note_card_id(title: str) -> str:
    """The id of a note's only card when it holds no question."""
    return card_id("note: " + title)


def fingerprint(note: Note) -> str:
    """What a note says apart from its name and front matter: headings, questions and answers.
    A note renamed as it was keeps this; a new note from a template does not share it with an
    older note from the same template once either has been written. Stored in log lines."""
    parts = [h.text for h in note.headings] + [f"{c.question}\x1f{c.answer}" for c in note.cards]
    return hashlib.sha1("\x1e".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:12]


# --- [cards] --------------------------------------------------------------------------------

CLOZE_STYLES = {
    "highlight": re.compile(r"==(?=\S)([^=\n]*?\S)=="),
    "bold": re.compile(r"\*\*(?=\S)([^*\n]*?\S)\*\*"),
    "curly": re.compile(r"\{\{(?=\S)([^{}\n]*?\S)\}\}"),
}
DEFAULT_CLOZES: tuple[str, ...] = ("highlight",)


@dataclass(frozen=True)
class CardSettings:
    """``[cards]`` of ``.attnkb/config.toml``. ``clozes``: which markers make clozes."""

    clozes: tuple[str, ...] = DEFAULT_CLOZES


DEFAULT_SETTINGS = CardSettings()


def _cloze_styles(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in CLOZE_STYLES for v in value):
        raise ValueError("must be a list of " + ", ".join(repr(s) for s in CLOZE_STYLES))
    return tuple(s for s in CLOZE_STYLES if s in value)


CARDS_CHECKS = {"clozes": _cloze_styles}  # the schema of [cards], read by config.cards


# --- reading --------------------------------------------------------------------------------


def find_cards(
    body: str, tokens: Sequence[Token], first_line: int = 1, settings: CardSettings = DEFAULT_SETTINGS
) -> list[CardSource]:
    """Every card of a note body, by line. ``tokens`` are markdown-it's tokens of ``body``;
    ``first_line`` is the file line of the body's first line."""
    out = _markdown_cards(body, tokens, first_line) + _sr_cards(body, first_line, settings.clozes)
    out.sort(key=lambda c: c.line)
    return out


_HEADING_Q = re.compile(r"^Q\d*\s*[:：.．、]\s*(?P<q>.+)$")
_BOLD_Q = re.compile(r"^\*\*Q\d*\s*[:：.．、]\s*(?P<q>.+?)\*\*[ \t]*(?:\r?\n(?P<a>[\s\S]*))?$")
_BOLD_Q_LINE = re.compile(r"^\s*\*\*Q\d*\s*[:：.．、]")
_ANSWER = re.compile(r"^\s*A\d*\s*[:：]\s*(?P<a>[\s\S]*)$")
_ANSWER_LABEL = re.compile(r"^\s*\*\*[^*\n]{1,20}[:：]\*\*\s*$")


def _markdown_cards(body: str, tokens: Sequence[Token], first_line: int) -> list[CardSource]:
    """Heading and bold cards, from the token stream."""
    lines = split_lines(body)
    out: list[CardSource] = []
    pending: tuple[str, int] | None = None  # a bold question waiting for its "A:" paragraph
    level = 0
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
            continue
        if tok.type != "inline" or tok.map is None:
            continue
        line0 = tok.map[0] + first_line
        parent = tokens[i - 1].type if i else ""
        if parent == "heading_open":
            m = _HEADING_Q.match(plain(tok))
            if m:
                answer = _section(lines, tokens, i, level)
                out.append(CardSource(CardKind.HEADING, m.group("q").strip(), answer, line0))
        elif parent == "paragraph_open":
            content = tok.content
            if pending is not None:
                a = _ANSWER.match(content)
                if a:
                    out.append(CardSource(CardKind.BOLD, pending[0], a.group("a").strip(), pending[1]))
                pending = None
            b = _BOLD_Q.match(content)
            if b:
                answer = b.group("a") or ""
                a = _ANSWER.match(answer)
                if a:
                    out.append(CardSource(CardKind.BOLD, b.group("q").strip(), a.group("a").strip(), line0))
                elif not answer.strip():
                    pending = (b.group("q").strip(), line0)
    return out


def _section(lines: list[str], tokens: Sequence[Token], i: int, level: int) -> str:
    """Source of the section under heading token ``i``: up to the next heading at its level."""
    start = tokens[i].map[1]  # type: ignore[index]
    end = len(lines)
    for tok in tokens[i + 1 :]:
        if tok.type == "heading_open" and int(tok.tag[1:]) <= level and tok.map:
            end = tok.map[0]
            break
    body = lines[start:end]
    cut = next((n for n, ln in enumerate(body) if _BOLD_Q_LINE.match(ln)), None)
    if cut is not None:  # a "**Q: …**" question below the heading starts a card of its own
        body = body[:cut]
    while body and (not body[-1].strip() or body[-1].strip() in ("---", "***", "___")):
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    if body and _ANSWER_LABEL.match(body[0]):
        body.pop(0)
    return "\n".join(body).strip()


def note_answer(body: str) -> str:
    """The answer of a note card: the text under the first heading, up to the next one."""
    lines = split_lines(body)
    spans = heading_spans(body)
    start = spans[0][2] if spans else 0
    end = spans[1][1] if len(spans) > 1 else len(lines)
    return "\n".join(lines[start:end]).strip()


# --- obsidian-spaced-repetition's forms, line by line ---------------------------------------

# what each style's cloze cannot be without: a body holding none of these has no cloze
_CLOZE_MARKS = {"highlight": "==", "bold": "**", "curly": "{{"}
# a line that may be a lone ``?``/``??`` separator (a superset: ``\s`` spans lines)
_MAYBE_SEPARATOR = re.compile(r"^\s*\?\??\s*$", re.MULTILINE)
SR_COMMENT = re.compile(r"<!--SR:(.*?)-->")
_CALLOUT = re.compile(r"^\s*>\s*\[!sr\|card-metadata\]", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)|^\s*\|")  # headings and table rows hold no cards
_LEAD = re.compile(r"^\s*(?:>\s?)*\s*(?:(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?)?")
_MASKED = re.compile(r"(`+)[^`\n]*?\1|(?<![\\$])\$[^$\n]+\$")


@dataclass
class _Block:
    lines: list[tuple[int, str]] = field(default_factory=list)  # (file line, text)


def _mask(text: str) -> str:
    """The line with inline code and math blanked out: separators there are not separators."""
    return _MASKED.sub(lambda m: "\0" * len(m.group(0)), text)


def _strip_comments(text: str) -> str:
    return SR_COMMENT.sub("", text).rstrip()


def _is_meta_line(text: str) -> bool:
    """A line that only carries schedule: a lone SR comment or the callout holding one."""
    bare = re.sub(r"^\s*(?:>\s?)*", "", text)
    return bool(_CALLOUT.match(text)) or (bool(SR_COMMENT.search(bare)) and not _strip_comments(bare).strip())


def _blocks(body: str, first_line: int) -> list[_Block]:
    """Runs of non-blank lines outside fenced code and ``$$`` math; headings stand alone."""
    blocks: list[_Block] = []
    current = _Block()
    fence = ""
    in_math = False
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
    comment = SR_COMMENT.search(block.lines[index][1])
    if comment:
        return comment.group(1), index
    j = index + 1
    while j < len(block.lines) and _is_meta_line(block.lines[j][1]):
        comment = SR_COMMENT.search(block.lines[j][1])
        if comment:
            return comment.group(1), j
        j += 1
    return "", index


def _attach(cards: list[CardSource], comment: str) -> None:
    """Each card its ``!`` segment of the block's comment, in order."""
    for card, segment in zip(cards, comment.split("!")[1:] if comment else [], strict=False):
        card.schedule = segment


def _question(text: str) -> str:
    return _LEAD.sub("", _strip_comments(text), count=1).strip()


def _sr_cards(body: str, first_line: int, clozes: tuple[str, ...]) -> list[CardSource]:
    out: list[CardSource] = []
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


def _single_line(text: str, line: int) -> list[CardSource]:
    masked = _mask(_strip_comments(text))
    at = masked.find("::")
    if at < 0:
        return []
    reversed_ = masked.startswith(":::", at)
    end = at + (3 if reversed_ else 2)
    plain_text = _strip_comments(text)
    q, a = _question(plain_text[:at]), plain_text[end:].strip()
    if not q or not a or (not reversed_ and masked.startswith(":", end)) or URL_SCHEME.match(q):
        return []
    if reversed_:
        return [CardSource(CardKind.INLINE, q, a, line), CardSource(CardKind.REVERSED, a, q, line)]
    return [CardSource(CardKind.INLINE, q, a, line)]


def _multiline(block: _Block, sep: int) -> list[CardSource]:
    reversed_ = block.lines[sep][1].strip() == "??"
    front = [t for _, t in block.lines[:sep] if not _is_meta_line(t)]
    comment = ""
    back = []
    for _, t in block.lines[sep + 1 :]:
        m = SR_COMMENT.search(t)
        if m:
            comment = m.group(1)
        if not _is_meta_line(t):
            back.append(_strip_comments(t))
    q = "\n".join(_strip_comments(t) for t in front).strip()
    a = "\n".join(back).strip()
    if not q or not a:
        return []
    line = block.lines[0][0]
    cards = [CardSource(CardKind.MULTILINE, q, a, line)]
    if reversed_:
        cards.append(CardSource(CardKind.REVERSED, a, q, line))
    _attach(cards, comment)
    return cards


def _clozes(lines: list[tuple[int, str]], styles: tuple[str, ...]) -> list[CardSource]:
    comment = ""
    kept: list[tuple[int, str]] = []
    for ln, t in lines:
        m = SR_COMMENT.search(t)
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
            if style == "bold" and _BOLD_Q_LINE.match(masked[line_start:]):
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
        cards.append(CardSource(CardKind.CLOZE, _question("".join(q)), _question("".join(a)), line))
    _attach(cards, comment)
    return cards
