"""obsidian-spaced-repetition card forms and schedule comments, in files as the plugin writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnkb.cards import DEFAULT_CLOZES, CardSettings, find_cards
from attnkb.interop.obsidian_sr import note_schedule, parse_date, parse_segment
from attnkb.markdown import parse
from attnkb.note import parse_text


def parse_cards(body, first_line=1, clozes=DEFAULT_CLOZES):
    """The cards of a body as the note parser finds them."""
    return find_cards(body, parse(body), first_line, CardSettings(clozes=clozes))


def schedule(card):
    return parse_segment(card.schedule) if card.schedule else None


SR_NOTE = """#flashcards

Capital of France::Paris
<!--SR:!2024-01-05,3,250-->

Big-O of attention:::quadratic <!--SR:!2024-02-01,10,270!2024-02-03,12,230-->

What does softmax do
?
Turns scores into
a distribution
<!--SR:!2024-03-01,20,250-->

Front of a reversed card
??
Back of it

The ==query== meets the ==key==.
<!--SR:!fsrs,2026-07-21T00:00:00.000Z,8,8.2956,1,2,1,0,0,2026-07-13T00:00:00.000Z!2024-01-09,4,230-->

`a::b` is code and $x::y$ is math, not cards.

```
inside::fence
```

In a callout::yes
> [!sr|card-metadata]
> <!--SR:!2024-04-04,6,250-->
"""


def by_question(cards):
    return {c.question: c for c in cards}


def test_every_card_form_and_its_schedule():
    cards = parse_cards(SR_NOTE, 1)
    got = [(c.kind, c.question, c.answer, c.line) for c in cards]
    assert got == [
        ("inline", "Capital of France", "Paris", 3),
        ("inline", "Big-O of attention", "quadratic", 6),
        ("reversed", "quadratic", "Big-O of attention", 6),
        ("multiline", "What does softmax do", "Turns scores into\na distribution", 8),
        ("multiline", "Front of a reversed card", "Back of it", 14),
        ("reversed", "Back of it", "Front of a reversed card", 14),
        ("cloze", "The [...] meets the key.", "The **query** meets the key.", 18),
        ("cloze", "The query meets the [...].", "The query meets the **key**.", 18),
        ("inline", "In a callout", "yes", 27),
    ]
    s = {(c.question): schedule(c) for c in cards}
    assert s["Capital of France"].due.date() == date(2024, 1, 5)
    assert (s["Capital of France"].interval, s["Capital of France"].ease) == (3, 2.5)
    assert s["quadratic"].interval == 12 and s["quadratic"].ease == 2.3
    assert s["What does softmax do"].interval == 20
    assert s["Front of a reversed card"] is None
    fsrs = s["The [...] meets the key."]
    assert (fsrs.stability, fsrs.difficulty, fsrs.interval) == (8.2956, 1.0, 8.0)
    assert fsrs.last_review == datetime(2026, 7, 13, tzinfo=UTC)
    assert s["The query meets the [...]."].due.date() == date(2024, 1, 9)
    assert s["In a callout"].interval == 6


def test_comments_are_not_part_of_answers_and_notes_get_the_cards():
    note = parse_text("sr.md", "---\ntags: [x]\n---\n" + SR_NOTE)
    assert not any("SR:" in c.answer or "SR:" in c.question for c in note.cards)
    assert note.cards[0].line == 6  # file lines, front matter included


def test_lines_are_numbered_as_markdown_it_numbers_them():
    cards = parse_cards("A::1\rB::2\r\nC::3\u2028still C\n", 10)
    assert [(c.question, c.line) for c in cards] == [("A", 10), ("B", 11), ("C", 12)]


def test_triple_colon_is_not_question_colon_plus_colon_answer():
    [fwd, back] = parse_cards("Q:::A\n")
    assert (fwd.question, fwd.answer, back.question, back.answer) == ("Q", "A", "A", "Q")


def test_bold_and_curly_clozes_only_when_enabled():
    text = "Softmax **normalises** {{scores}} ==fast==.\n"
    assert [c.question for c in parse_cards(text)] == ["Softmax **normalises** {{scores}} [...]."]
    enabled = parse_cards(text, 1, ("highlight", "bold", "curly"))
    assert [c.question for c in enabled] == [
        "Softmax [...] scores fast.",
        "Softmax normalises [...] fast.",
        "Softmax normalises scores [...].",
    ]


def test_cloze_setting_from_config_reaches_the_index(make_vault, cli):
    root = make_vault({"n.md": "# N\n\nA **bold** claim.\n"})
    (root / ".attnkb").mkdir()
    listed = cli("--vault", root, "list", "--json")
    assert '"cards": 0' in listed.output
    (root / ".attnkb" / "config.toml").write_bytes(b'\xef\xbb\xbf[cards]\r\nclozes = ["bold"]\r\n')
    assert '"cards": 1' in cli("--vault", root, "list", "--json").output
    (root / ".attnkb" / "config.toml").write_text('[cards]\nclozes = "bold"\n')
    bad = cli("--vault", root, "list")
    assert bad.exit_code == 2 and "config.toml" in bad.output and "Traceback" not in bad.output


def test_dates_in_both_orders_and_bad_segments():
    assert parse_date("2024-01-31") == parse_date("31-01-2024") == date(2024, 1, 31)
    for bad in ("2024-13-01,3,250", "2024-01-01,x,250", "2024-01-01,3,5", "fsrs,nope", "fsrs," + "1," * 9):
        with pytest.raises(ValueError):
            parse_segment(bad)
    [card] = parse_cards("Q::A <!--SR:!2024-99-01,3,250-->\n")
    assert card.schedule == "2024-99-01,3,250"
    with pytest.raises(ValueError):
        schedule(card)


def test_note_schedule_from_front_matter():
    s = note_schedule({"sr-due": "05-02-2024", "sr-interval": 7, "sr-ease": 230})
    assert s.due.date() == date(2024, 2, 5) and s.interval == 7 and s.ease == 2.3
    assert note_schedule({"title": "x"}) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=":?=*{}`$!<>-SR\n\r ab,0123|#~\u2028", max_size=200))
def test_card_parser_never_raises(text):
    for card in parse_cards(text, 1, ("highlight", "bold", "curly")):
        assert card.question and card.answer and card.line >= 1


def _deck(root, now="2024-01-02T12:00:00+00:00"):
    from attnkb.clock import parse_instant
    from attnkb.srs.config import load
    from attnkb.srs.deck import Deck
    from attnkb.vault import Index

    return Deck(root, Index(root).notes(), load(root / ".attnkb"), parse_instant(now))


def test_import_keeps_due_dates_and_memories_and_never_edits_notes(make_vault, cli):
    import fsrs_rs_python

    note_sr = "---\nsr-due: 2024-01-20\nsr-interval: 9\nsr-ease: 270\n---\n# Whole note\n\nJust prose.\n"
    root = make_vault({"cards.md": SR_NOTE, "reviewed.md": note_sr, "bad.md": "Q::A <!--SR:!x,1,250-->\n"})
    before = {p.name: p.read_bytes() for p in root.glob("*.md")}
    dry = cli("--vault", root, "import", "obsidian-sr", "--dry-run")
    assert dry.exit_code == 0 and "Would take 8 cards from 2 notes" in dry.output
    assert not (root / ".attnkb" / "reviews.log").exists()
    result = cli("--vault", root, "import", "obsidian-sr")
    assert result.exit_code == 0, result.output
    assert "Took 8 cards from 2 notes" in result.output and "Wrote 8 log entries." in result.output
    assert "bad.md:1: unreadable schedule" in result.output
    assert {p.name: p.read_bytes() for p in root.glob("*.md")} == before

    deck = _deck(root)
    items = {i.card.question: i for i in deck.items.values()}
    assert items["Capital of France"].due.date() == date(2024, 1, 5)
    assert items["Whole note"].due.date() == date(2024, 1, 20)
    sm2 = fsrs_rs_python.FSRS(fsrs_rs_python.DEFAULT_PARAMETERS).memory_state_from_sm2(2.7, 9.0, 0.9)
    memory = items["Whole note"].memory
    assert memory.stability == pytest.approx(sm2.stability, rel=1e-5)
    assert memory.difficulty == pytest.approx(sm2.difficulty, rel=1e-5)
    fsrs = items["The [...] meets the key."].memory
    assert (fsrs.stability, fsrs.difficulty) == (8.2956, 1.0)
    assert fsrs.due == datetime(2026, 7, 21, tzinfo=UTC)
    assert items["Front of a reversed card"].is_new  # no schedule: stays new
    assert deck.reviewed_today() == (0, 0)  # carried memories are not reviews

    again = cli("--vault", root, "import", "obsidian-sr")
    assert "Wrote 0 log entries (8 were already there)." in again.output


def test_reviews_after_an_import_continue_from_the_carried_memory(make_vault):
    root = make_vault({"c.md": "Q::A\n<!--SR:!2024-01-05,10,250-->\n"})
    from attnkb.interop.obsidian_sr import plan_import
    from attnkb.interop.records import append_new
    from attnkb.srs.config import load
    from attnkb.vault import Index

    (root / ".attnkb").mkdir()
    report = plan_import(Index(root).notes(), load(root / ".attnkb"))
    append_new(root, report.entries)
    deck = _deck(root, "2024-01-05T12:00:00+00:00")
    [item] = deck.due_items()
    s0 = item.memory.stability
    deck.grade(item, 3, deck.now, 1000)
    assert item.memory.stability > s0 * 1.5  # a recall after 10 days grows the memory
    assert (item.due - deck.now).days > 10
