"""Cards: the questions a note holds, each with an identity that survives edits.

A card's id hashes its *question* only, so editing the answer or the rest of the note keeps its
history, while rewording the question starts a new card. A note without questions is one card
whose prompt is its title.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from attnkb.note import Note


@dataclass(frozen=True)
class Card:
    id: str
    path: str
    kind: str  # heading | bold | inline | reversed | multiline | cloze | note
    question: str
    answer: str
    line: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.id)


def card_id(question: str) -> str:
    normal = re.sub(r"\s+", " ", question).strip().lower()
    return hashlib.sha1(normal.encode()).hexdigest()[:12]


def cards_for(note: Note) -> list[Card]:
    if not note.cards:
        return [Card(card_id("note: " + note.title), note.path, "note", note.title, "", 1)]
    seen: dict[str, int] = {}
    out = []
    for c in note.cards:
        cid = card_id(c.question)
        seen[cid] = seen.get(cid, 0) + 1
        if seen[cid] > 1:  # the same question twice in one note: keep both apart
            cid = f"{cid}-{seen[cid]}"
        out.append(Card(cid, note.path, c.kind, c.question, c.answer, c.line))
    return out


def first_section(body: str) -> str:
    """The answer of a note card: the text under the first heading, up to the next one."""
    from attnkb.markdown import heading_spans, split_lines

    lines = split_lines(body)
    spans = heading_spans(body)
    start = spans[0][2] if spans else 0
    end = spans[1][1] if len(spans) > 1 else len(lines)
    return "\n".join(lines[start:end]).strip()
