"""obsidian-spaced-repetition card forms and schedule comments, in files as the plugin writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnkb.interop.obsidian_sr import note_schedule, parse_cards, parse_date, parse_segment
from attnkb.note import parse_text

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
    s = {(c.question): c.schedule for c in cards}
    assert s["Capital of France"].due == datetime(2024, 1, 5, tzinfo=UTC)
    assert (s["Capital of France"].interval, s["Capital of France"].ease) == (3, 2.5)
    assert s["quadratic"].interval == 12 and s["quadratic"].ease == 2.3
    assert s["What does softmax do"].interval == 20
    assert s["Front of a reversed card"] is None
    fsrs = s["The [...] meets the key."]
    assert (fsrs.stability, fsrs.difficulty, fsrs.interval) == (8.2956, 1.0, 8.0)
    assert fsrs.last_review == datetime(2026, 7, 13, tzinfo=UTC)
    assert s["The query meets the [...]."].due == datetime(2024, 1, 9, tzinfo=UTC)
    assert s["In a callout"].interval == 6


def test_comments_are_not_part_of_answers_and_notes_get_the_cards():
    note = parse_text("sr.md", "---\ntags: [x]\n---\n" + SR_NOTE)
    assert not any("SR:" in c.answer or "SR:" in c.question for c in note.cards)
    assert note.cards[0].line == 6  # file lines, front matter included


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
    (root / ".attnkb" / "config.toml").write_text('[cards]\nclozes = ["bold"]\n')
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
    assert card.schedule is None and "unreadable schedule" in card.problem


def test_note_schedule_from_front_matter():
    s = note_schedule({"sr-due": "05-02-2024", "sr-interval": 7, "sr-ease": 230})
    assert s.due == datetime(2024, 2, 5, tzinfo=UTC) and s.interval == 7 and s.ease == 2.3
    assert note_schedule({"title": "x"}) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=":?=*{}`$!<>-SR\n ab,0123|#~", max_size=200))
def test_card_parser_never_raises(text):
    for card in parse_cards(text, 1, ("highlight", "bold", "curly")):
        assert card.question and card.answer and card.line >= 1
