"""Splitting a note's math into the formulas it states (``a = …, \\quad b = …``, aligned lines,
the condition a formula holds under), parsing each, and the symbols the note defines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from attnkb.errors import FormulaError
from attnkb.formulas.evaluate import Definition
from attnkb.formulas.find import Formula
from attnkb.formulas.functions import function
from attnkb.formulas.grammar import Node, parse
from attnkb.formulas.tree import subscript


@dataclass
class Part:
    line: int
    text: str
    latex: bool
    tree: Node | None = None
    error: str = ""
    condition: Node | None = None  # "…, \\quad j \\le i": where the formula is stated to hold
    condition_text: str = ""


_SEPARATOR = re.compile(r"\\qquad\b|\\quad\b|\\\\")


_ENV = re.compile(r"\\(begin|end)\{[^}]*\}")


_ALIGN = re.compile(
    r"\\(?:begin|end)\{(?:aligned|align\*?|split|gathered|gather\*?|eqnarray\*?|equation\*?|displaymath)\}"
)


def split_parts(formula: Formula) -> list[Part]:
    """``a = …, \\quad b = …`` states two formulas; ``\\\\`` inside cases does not split."""
    text = formula.text
    if not formula.latex:
        return [Part(formula.line, text, False)]
    text = _ALIGN.sub(" ", text)  # aligned equations: one formula per \\ line
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(text):
        env = _ENV.match(text, i)
        if env:
            depth += 1 if env.group(1) == "begin" else -1
            i = env.end()
            continue
        sep = _SEPARATOR.match(text, i)
        if sep and depth <= 0:
            pieces.append(text[start:i])
            start = i = sep.end()
            continue
        i += 1
    pieces.append(text[start:])
    out: list[Part] = []
    for piece in pieces:
        for sub in _split_commas(piece):
            sub = sub.strip().strip(",;.，。").strip()
            sub = re.sub(r"^&|(?<!\\)&(?=\s*=)", "", sub).strip()
            sub = _LEADING_SPACE.sub("", sub)  # "\\; O = PV" after a separator
            sub = _PARENTHETICAL.sub(r"\1 = \2", sub)  # S(=QKᵀ/√d_k) defines S
            condition = _CONDITION.fullmatch(sub)
            if condition and out and out[-1].condition is None and "=" in out[-1].text:
                out[-1].condition = _condition_tree(condition.group(1))
                if out[-1].condition is not None:
                    out[-1].condition_text = " ".join(condition.group(1).split())
                    continue
            if sub:
                out.append(Part(formula.line, sub, True))
    return out


_CONDITION = re.compile(
    r"\(?\s*(?:\\text\{\s*(?:for|if|when|where)\s*\}|for|if)?\s*"
    r"([a-z](?:\s*[+-]\s*\d)?\s*(?:\\leq?|\\geq?|\\lt|\\gt|\\neq?|<|>|≤|≥)\s*[a-z](?:\s*[+-]\s*\d)?)\s*\)?"
)


def _condition_tree(text: str) -> Node | None:
    try:
        tree = parse(text, True)
    except FormulaError:
        return None
    return tree if tree.kind == "rel" and len(tree.kids) == 2 else None


_PARENTHETICAL = re.compile(r"^([A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?)\s*\(\s*=\s*(.+)\)$", re.DOTALL)
_LEADING_SPACE = re.compile(r"^(?:\\[,;:! ]\s*)+")


def _split_commas(text: str) -> list[str]:
    """Top-level commas split only when every piece is a relation (``h = 64, g = 8``), or the
    last one is the condition the formula holds under (``A_{ij} = …, j \\le i``)."""
    pieces, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == "," and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    if len(pieces) > 1 and all("=" in p for p in pieces):
        return pieces
    if len(pieces) > 1 and all("=" in p for p in pieces[:-1]) and _CONDITION.fullmatch(pieces[-1].strip()):
        return pieces
    return [text]


def prepare(formula: Formula) -> list[Part]:
    parts = split_parts(formula)
    for part in parts:
        try:
            part.tree = parse(part.text, part.latex)
        except FormulaError as exc:
            part.error = exc.message
        except RecursionError:
            part.error = "nested too deeply"
    return parts


_MASK_DEFINITION = re.compile(r"\s*M\s*(?:_\s*\{?\s*[a-z]\s*,?\s*[a-z]\s*\}?)?\s*(?::=|=|\\coloneqq)")


def definitions_of(parts: list[Part]) -> dict[str, Definition]:
    """Symbols a note defines (``head_i = …``, ``M_{ij} = …``, ``\\bar{K} = EK``), by name."""
    found: dict[str, Definition] = {}
    for part in parts:
        tree = part.tree
        if tree is None and _MASK_DEFINITION.match(part.text) and "M" not in found:
            # the note's own mask, in a form we cannot read: never stand a causal mask in for it
            found["M"] = Definition(Node("num", (), "0"), (), unreadable=part.error or "not read")
            continue
        if tree is None or len(tree.kids) < 2 or tree.value[0] != "=":
            continue
        lhs = tree.kids[0]
        name: str | None = None
        params: tuple[str, ...] = ()
        defined = _function_definition(lhs)
        if defined is not None:
            if defined[0] not in found:
                found[defined[0]] = Definition(tree.kids[1], defined[1], function=True)
            continue
        if tree.kids[1].kind == "vector" and any(k.kind == "dots" for k in tree.kids[1].kids):
            continue  # X = [x_1, …, x_n] names X's rows; it does not define X anew
        if lhs.kind in ("sym", "word"):
            name = lhs.value
        elif lhs.kind == "post" and lhs.kids[0].kind in ("sym", "word"):
            kinds = lhs.value
            base = lhs.kids[0].value
            if kinds == ("sub",):
                try:
                    subs = subscript(lhs.kids[1])
                except FormulaError:
                    continue
                if all(isinstance(s, str) and len(s) == 1 for s in subs):
                    name, params = base, tuple(str(s) for s in subs)
            elif set(kinds) == {"prime"}:
                name = base + "'" * len(kinds)
        if name and name not in found and tree.kids[1].kind not in ("num", "neg"):
            found[name] = Definition(tree.kids[1], params)  # w = 4096 is an example, not a definition
    return found


def _function_definition(lhs: Node) -> tuple[str, tuple[str, ...]] | None:
    """``f(x) := …``, ``\\ell(x) := …``: a function the note defines, and its parameters.
    (A function of our table, such as softmax, is checked, never redefined.)"""
    if lhs.kind != "call" or lhs.value[1]:
        return None
    name = lhs.value[0]
    f = function(name)
    if f is not None and (f.apply is not None or f.family):
        return None
    params = [a.value for a in lhs.kids[0].kids if a.kind == "sym"]
    if not params or len(params) != len(lhs.kids[0].kids):
        return None
    return name, tuple(params)
