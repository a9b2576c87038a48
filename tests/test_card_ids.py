"""Card ids and note fingerprints as users' files hold them.

Every review log line stores a card id and a fingerprint: a change to how either is computed
detaches every user's history from their cards. These values were computed by the code that
wrote today's logs; they must never change."""

from __future__ import annotations

from attnkb.cards import CardSettings, card_id, fingerprint
from attnkb.note import parse_text
from attnkb.srs.cards import cards_for

EVERY_FORM = """---
title: Golden Note
tags: [flashcards]
---
# Golden Note

### Q: What does Attention compute?

A weighted sum of Values.

**Q: Why scale by sqrt(d_k)?**
A: To keep softmax out of saturation.

Softmax turns Scores into::weights summing to one

Query:::Key

Multi-Head
Attention
?
Several heads
in parallel

Forward Pass
??
Backward Pass

LayerNorm normalises ==each token== over its ==features==.

### Q: What does Attention compute?

Again, a duplicate question.
"""

GOLDEN = [
    ("heading", "6143862a9731", "What does Attention compute?", 7),
    ("bold", "1db654cdf454", "Why scale by sqrt(d_k)?", 11),
    ("inline", "0fc16c07eba0", "Softmax turns Scores into", 14),
    ("inline", "7cd9148ec5a5", "Query", 16),
    ("reversed", "a62f2225bf70", "Key", 16),
    ("multiline", "b7ddb4241556", "Multi-Head\nAttention", 18),
    ("multiline", "d82932ce3914", "Forward Pass", 24),
    ("reversed", "55d252ebd14b", "Backward Pass", 24),
    ("cloze", "b3ae42117a99", "LayerNorm normalises [...] over its features.", 28),
    ("cloze", "336327800b95", "LayerNorm normalises each token over its [...].", 28),
    ("heading", "6143862a9731-2", "What does Attention compute?", 30),
]


def _cards(path: str, text: str, clozes: tuple[str, ...] | None = None) -> list[tuple[str, str, str, int]]:
    note = (
        parse_text(path, text)
        if clozes is None
        else parse_text(path, text, settings=CardSettings(clozes=clozes))
    )
    return [(str(c.kind), c.id, c.question, c.line) for c in cards_for(note)]


def test_card_ids_of_every_form_never_change():
    assert _cards("golden.md", EVERY_FORM) == GOLDEN


def test_note_card_and_optional_cloze_ids_never_change():
    assert _cards("Plain Note.md", "# Plain Title\n\nsome text\n") == [
        ("note", "2237bd243bf1", "Plain Title", 1)
    ]
    text = "---\ntags: [flashcards]\n---\nSome **Bold Cloze** and {{Curly Cloze}} here.\n"
    assert _cards("b.md", text, ("highlight", "bold", "curly")) == [
        ("cloze", "daa7043561d8", "Some [...] and Curly Cloze here.", 4),
        ("cloze", "041bade89a3f", "Some Bold Cloze and [...] here.", 4),
    ]


def test_card_id_folds_case_and_whitespace():
    """The id is of the question lower-cased with runs of whitespace as one space: a mutant
    without ``.lower()`` or the whitespace fold fails here."""
    assert card_id("what is attention?") == "b49cfafbe29d"
    assert card_id("  What   IS\tAttention? ") == "b49cfafbe29d"
    assert card_id("什么是 自注意力 QKV？") == "4554bfebf51f"
    assert card_id("note: 查询键值QKV") == "fc071e367142"


def test_fingerprint_never_changes():
    assert fingerprint(parse_text("golden.md", EVERY_FORM)) == "78e670fd8d05"
