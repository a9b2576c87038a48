"""Finding the formulas a note states: LaTeX math, and plain-text formulas in bare fences.

A parser of its own (the shared one in ``attnkb.markdown`` must not learn ``$`` math: a
wikilink or a price inside dollars would change meaning there). Code spans and fenced code
with a language are never formulas; ``$5 到 $10`` is a price, not math (``allow_digits=False``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt

PLAIN_FENCES = {"", "text", "math", "txt", "plain", "plaintext"}
MAX_PLAIN_LINE = 300  # a longer line in a bare fence is prose or data, not a formula


@dataclass
class Formula:
    line: int  # file line where the formula starts
    text: str  # as written, without delimiters
    latex: bool  # False for plain text from a fence


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.dollarmath.index import math_inline_dollar
    from mdit_py_plugins.texmath import texmath_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable(["table"])
    md.use(dollarmath_plugin, allow_digits=False, double_inline=True)
    md.inline.ruler.at("math_inline", _first_dollar_fix(math_inline_dollar(True, False, True)))
    md.use(texmath_plugin, delimiters="brackets")
    return md


def _first_dollar_fix(rule):
    """The plugin reads "the character before" a ``$`` at position 0 as ``src[-1]``: a paragraph
    that starts with ``$O = AV$`` and ends with a digit lost its formula (and paired the next
    ``$`` with the following line's). Give the rule a source whose last character is no digit.
    """

    def rule_at_start(state, silent: bool) -> bool:
        if state.pos or not state.src[-1:].isdigit():
            return rule(state, silent)
        src = state.src
        state.src = src + " "  # past posMax: nothing is read from it but the misread src[-1]
        try:
            return rule(state, silent)
        finally:
            state.src = src

    return rule_at_start


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_LABEL = re.compile(r"^[^=]{0,40}?[:：]\s*(?=\S)")
_LEAD = re.compile(r"^(?:where|with|let|and)\s+(?=[^=\s]+\s*=)", re.IGNORECASE)  # where head_i = …
_TRAILING_NOTE = re.compile(r"\s{2,}(\(|（|#|//).*$")


def find_formulas(body: str, first_line: int = 1) -> list[Formula]:
    """Every formula of a note body, in order; lines are file lines (``first_line`` = body's)."""
    if not any(mark in body for mark in ("$", "\\(", "\\[", "```", "~~~")):
        return []  # nothing that could hold a formula: skip the parse
    lines = body.split("\n")  # markdown-it's lines: U+2028, NEL or form feed end none
    found: list[Formula] = []
    cursor = 0  # the body line we have read up to, for tokens markdown-it gives no map
    for tok in _parser().parse(body):
        if tok.map:
            cursor = tok.map[0]
        if tok.type in ("math_block", "math_block_eqno"):
            start = tok.map[0] if tok.map else _find_line(lines, cursor, "\\[")
            found.append(Formula(start + first_line, tok.content.strip(), True))
        elif tok.type == "fence" and tok.map:
            info = tok.info.strip().split(maxsplit=1)
            if (info[0].lower() if info else "") in PLAIN_FENCES:
                found.extend(_plain_lines(tok.content, tok.map[0] + 1 + first_line))
        elif tok.type == "inline" and tok.map:
            line = tok.map[0] + first_line
            for child in tok.children or []:
                if child.type in ("math_inline", "math_inline_double"):
                    found.append(Formula(line, child.content.strip(), True))
                    line += child.content.count("\n")
                elif child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type in ("text", "code_inline"):
                    line += child.content.count("\n")
    return [f for f in found if f.text]


def _find_line(lines: list[str], start: int, marker: str) -> int:
    for n in range(start, len(lines)):
        if marker in lines[n]:
            return n
    return start


def _plain_lines(content: str, first: int) -> list[Formula]:
    """Lines of a bare fence that read as formulas: an ``=`` and no prose around it.

    A leading label (``上下文向量: c_t = …``) and a trailing remark after two spaces
    (``s_t^T * h_i  (点积注意力)``) are dropped; a line that still holds prose is not a formula.
    """
    out = []
    for n, raw in enumerate(content.split("\n")):
        text = _TRAILING_NOTE.sub("", raw.strip())
        text = _LEAD.sub("", text)
        label = _LABEL.match(text)
        if label and "=" not in label.group(0):
            text = text[label.end() :]
        if "=" not in text or len(text) > MAX_PLAIN_LINE or _CJK.search(text):
            continue
        out.append(Formula(first + n, text.strip(), False))
    return out
