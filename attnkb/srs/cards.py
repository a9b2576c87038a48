"""Cards: the questions a note holds, each with an identity that survives edits.

A card's id hashes its *question* only, so editing the answer or the rest of the note keeps its
history, while rewording the question starts a new card. A note without questions is one card
whose prompt is its title.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from attnkb.cards import CardKind, card_id, fingerprint, note_card_id
from attnkb.notefields import NoteFields

if TYPE_CHECKING:
    from attnkb.note import Note


@dataclass(frozen=True)
class Card:
    id: str
    path: str
    kind: CardKind
    question: str
    answer: str | None  # None: not loaded (cards kept in the index); Deck.answer reads it
    line: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.path, self.id)


def cards_for(note: Note) -> list[Card]:
    if not note.cards:
        return [Card(note_card_id(note.title), note.path, CardKind.NOTE, note.title, "", 1)]
    seen: dict[str, int] = {}
    out = []
    for c in note.cards:
        cid = card_id(c.question)
        seen[cid] = seen.get(cid, 0) + 1
        if seen[cid] > 1:  # the same question twice in one note: keep both apart
            cid = f"{cid}-{seen[cid]}"
        out.append(Card(cid, note.path, c.kind, c.question, c.answer, c.line))
    return out


@dataclass
class DeckNote(NoteFields):
    """What the deck needs of a note: its cards without their answers, its name, front matter,
    link targets and fingerprint. The index keeps it beside the summary, so ``due``, ``review``
    and ``stats`` never decode whole notes (a heading card's answer is its whole section)."""

    path: str
    title: str
    tags: list[str]
    aliases: list[str]
    meta: dict[str, Any]
    links: list[str]  # targets as written
    fingerprint: str
    cards: list[Card]

    @classmethod
    def of(cls, note: Note) -> DeckNote:
        """From a whole note; its cards keep their answers."""
        links = [link.target for link in note.links]
        return cls(
            note.path,
            note.title,
            note.tags,
            note.aliases,
            note.meta,
            links,
            fingerprint(note),
            cards_for(note),
        )

    def to_json(self) -> bytes:
        from attnkb.vault import to_json

        cards = [[c.id, c.kind, c.question, c.line] for c in self.cards]
        return to_json(
            [self.path, self.title, self.tags, self.aliases, self.meta, self.links, self.fingerprint, cards]
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> DeckNote:
        path, title, tags, aliases, meta, links, fingerprint, cards = json.loads(raw)
        return cls(
            path,
            title,
            tags,
            aliases,
            meta,
            links,
            fingerprint,
            [Card(cid, path, CardKind(kind), question, None, line) for cid, kind, question, line in cards],
        )
