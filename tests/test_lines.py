"""One line model: every line count over note text agrees with markdown-it's token maps."""

import re

from hypothesis import given
from hypothesis import strategies as st

from attnkb.cards import find_cards, note_answer
from attnkb.markdown import parse, split_lines

ODD_BREAKS = ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e"]


def test_odd_line_breaks_before_a_question_keep_the_right_answer():
    for odd in ODD_BREAKS:
        body = f"intro{odd}more{odd}and more\n\n### Q: first?\n\nfirst answer\n\n### Q: second?\n\nsecond\n"
        cards = find_cards(body, parse(body))
        assert [(c.question, c.answer, c.line) for c in cards] == [
            ("first?", "first answer", 3),
            ("second?", "second", 7),
        ], repr(odd)


def test_first_section_reads_headings_from_the_token_stream():
    fenced = "# T\n\n```sh\n# a comment, not a heading\n```\nreal text\n\n## Next\nnot this\n"
    assert note_answer(fenced) == "```sh\n# a comment, not a heading\n```\nreal text"
    assert note_answer("#tag is no heading\n\nTitle\n=====\n\nunder it\n# next\n") == "under it"
    assert note_answer("intro\u2028still intro\n# T\n\nbody\u2028same line\n# N\n") == "body\u2028same line"
    assert note_answer("no heading\n\nat all\n") == "no heading\n\nat all"


@given(st.lists(st.sampled_from(["a", " ", "#", "\n", "\r", "\r\n", *ODD_BREAKS]), max_size=40))
def test_split_lines_matches_markdown_it_and_round_trips(parts):
    text = "".join(parts)
    assert "".join(split_lines(text, keepends=True)) == text
    assert split_lines(text) == re.split(r"\r\n?|\n", text)  # its fast path for text without CR too
    assert len(split_lines(text)) == text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    body = text + "\n\n### Q: q?\n\nanswer\n"
    (card,) = [c for c in find_cards(body, parse(body)) if c.question == "q?"]
    assert card.line == len(split_lines(text + "\n\n"))  # the line an editor shows it on


def test_update_lands_on_its_block_after_odd_line_breaks(make_vault, cli):
    text = (
        "# T\n\nsee\u2028this\x85and\x0cthat\n\n"
        "```attention\nop: softmax\nscores: [[0, 0], [1, 0]]\nexpect:\n  weights: [[0.9, 0.1], [0.500, 0.500]]\n```\n"
        "\nafter\u2028end\n"
    )
    root = make_vault({"n.md": text})
    r = cli("--vault", root, "run-example", "n.md", "--update")
    assert r.exit_code == 0, r.output
    new = (root / "n.md").read_bytes().decode()
    assert new == text.replace("[[0.9, 0.1], [0.500, 0.500]]", "[[0.5, 0.5], [0.731, 0.269]]")
