from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from attnkb.note import parse_note, parse_text

CONCEPT = """---
title: "注意力机制"
type: concept
tags: [概念, 深度学习/NLP]
date: 2024-01-15
status: done
related: [["Transformer架构"], ["Seq2Seq模型"]]
aliases: Attention
---
# Heading

See [[Self-Attention|自注意力]] and [[Multi#Heads]] and ![[diagram]].

| a | b |
|---|---|
| [[Left\\|shown]] | `[[not a link]]` |

```python
x = [[1, 2], [3, 4]]  # [[nope]]
```

[rel](../other/Note%20One.md#sec) [web](https://example.com/a.md) [pic](img.png)
"""


def test_concept_schema_is_normalised():
    n = parse_text("a/concept.md", CONCEPT)
    assert n.title == "注意力机制"
    assert n.tags == ["概念", "深度学习/NLP"]
    assert n.aliases == ["Attention"]
    assert n.meta["date"] == "2024-01-15"
    fm = [(link.target, link.line) for link in n.links if link.kind == "front-matter"]
    assert fm == [("Transformer架构", 7), ("Seq2Seq模型", 7)]


def test_links_of_every_kind_with_lines():
    n = parse_text("a/concept.md", CONCEPT)
    body = [
        (link.kind, link.target, link.anchor, link.line, link.embed)
        for link in n.links
        if link.kind != "front-matter"
    ]
    assert body == [
        ("wiki-link", "Self-Attention", "", 12, False),
        ("wiki-link", "Multi", "Heads", 12, False),
        ("wiki-link", "diagram", "", 12, True),
        ("wiki-link", "Left", "", 16, False),
        ("markdown", "../other/Note One.md", "sec", 22, False),
    ]
    assert [link.text for link in n.links if link.target == "Self-Attention"] == ["自注意力"]


def test_review_schema_quoted_dates_and_string_tags():
    n = parse_text("r.md", "---\nnext_review: '2025-10-19'\nreview_count: 2\ntags: solo\n---\nx\n")
    assert n.date_field("next_review") == date(2025, 10, 19)
    assert n.meta["review_count"] == 2
    assert n.tags == ["solo"]
    assert n.title == "r"


def test_wrong_types_are_problems_with_lines():
    n = parse_text("r.md", "---\ntitle: x\nreview_count: many\nnext_review: soon\n---\n")
    assert [(p.line, p.message.split(":")[0]) for p in n.problems] == [
        (4, "next_review"),
        (3, "review_count"),
    ]


def test_title_falls_back_to_heading_then_file_name():
    assert parse_text("x/y.md", "intro\n\n# Real title\n").title == "Real title"
    assert parse_text("x/y.md", "no heading\n").title == "y"


def test_invalid_utf8_is_a_problem_not_a_crash():
    n = parse_note("bad.md", b"# ok\n\nline \xff\xfe here\n")
    assert n.problems[0].line == 3 and "UTF-8" in n.problems[0].message


def test_cards_in_all_three_forms():
    text = (
        "# T\n\n## 面试\n\n### Q: 什么是注意力？\n**标准回答：**\n加权求和。\n\n---\n\n"
        "### Q: 第二问\n答二\n\n## 其它\n\n**Q1: 粗体问？**\nA: 粗体答。\n\n"
        "**Q2: 分段问？**\n\nA: 分段答。\n\n容量::二次方\n\n`a::b` is code\n"
    )
    cards = [(c.kind, c.question, c.answer, c.line) for c in parse_text("c.md", text).cards]
    assert cards == [
        ("heading", "什么是注意力？", "加权求和。", 5),
        ("heading", "第二问", "答二", 11),
        ("bold", "粗体问？", "粗体答。", 16),
        ("bold", "分段问？", "分段答。", 19),
        ("inline", "容量", "二次方", 23),
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_parsing_never_raises_on_arbitrary_bytes(data):
    note = parse_note("fuzz.md", b"---\n" + data if data[:1] == b"x" else data)
    assert note.path == "fuzz.md" and isinstance(note.title, str)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="-:[]|#!`*\n abQA：\t{}'\"\\", max_size=200))
def test_parsing_never_raises_on_markdown_soup(text):
    note = parse_text("soup.md", text)
    assert all(link.line >= 1 for link in note.links)


MARKDOWN_SOUP = st.text(alphabet="-:[]()|#!`*\n abQA：\t{}'\"\\>.md?=$<", max_size=300)


@settings(max_examples=200, deadline=None)
@given(MARKDOWN_SOUP)
def test_to_dict_is_asdict_and_round_trips(text):
    import dataclasses

    from attnkb.note import Note

    for note in (parse_text("soup.md", text), parse_text("concept.md", CONCEPT + text)):
        assert note.to_dict() == dataclasses.asdict(note)
        assert Note.from_dict(note.to_dict()) == note


@settings(max_examples=300, deadline=None)
@given(MARKDOWN_SOUP)
def test_inline_parsing_only_where_read_changes_nothing_we_read(text):
    """Headings, links and cards are the same as with markdown-it's full inline pass."""
    from markdown_it import MarkdownIt

    from attnkb import markdown
    from attnkb.cards import find_cards

    full = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    full.inline.ruler.before("link", "wikilink", markdown._wikilink)
    body = CONCEPT + text
    ours = markdown.extract(body)
    original = markdown.parse
    markdown.parse = full.parse
    try:
        theirs = markdown.extract(body)
    finally:
        markdown.parse = original
    assert ours == theirs
    assert find_cards(body, markdown.parse(body)) == find_cards(body, full.parse(body))


BLOCK_SOUP = st.lists(
    st.sampled_from(
        ["", "text", "    code", "\tx", "```", "~~~", "> q", "***", "- a", "* b", "1. c", "[r]: x.md",
         "<div>", "</div>", "# h", "===", "---", "| a | b |", "|---|---|", "a | b", "[[L]]", "  - d",
         "# r\r", "a\rb", "x\x00y"]
    ).map(lambda line: line + "\n"),
    max_size=25,
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(BLOCK_SOUP)
def test_leaving_out_rules_whose_marks_a_note_lacks_changes_no_token(body):
    """Block rules, and the core rule rewriting CR and NUL, left out where they cannot act."""
    from attnkb import markdown

    every_rule = markdown._parser(frozenset())
    assert [t.as_dict() for t in markdown.parse(body)] == [t.as_dict() for t in every_rule.parse(body)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=":?=*{}\n `$<!->SR:,abc\u3000\x1c", max_size=200))
def test_the_look_for_card_syntax_never_misses_a_card(text):
    """The card parser with its quick look equals the parser reading every line."""
    from attnkb import cards

    look = cards._may_hold_cards
    for clozes in ((), cards.DEFAULT_CLOZES, tuple(cards.CLOZE_STYLES)):
        quick = cards._sr_cards(text, 1, clozes)
        cards._may_hold_cards = lambda body, clozes: True
        try:
            assert cards._sr_cards(text, 1, clozes) == quick
        finally:
            cards._may_hold_cards = look
