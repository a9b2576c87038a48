"""Helpers over formula trees: the indices a script holds, the paths to a node, what a tree mentions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from attnkb.errors import FormulaError

if TYPE_CHECKING:  # the helpers only read trees: no import of the grammar (the lexer's table uses them)
    from attnkb.formulas.grammar import Node


def letter(node: Node | None) -> str | None:
    """The single letter or number a script holds, as text (``_j`` → "j", ``^Q`` → "Q")."""
    if node is None:
        return None
    if node.kind == "items" and len(node.kids) == 1:
        node = node.kids[0]
    if node.kind in ("sym", "word", "num") and node.value and len(str(node.value)) <= 8:
        return str(node.value)
    return None


def previous_step(sub: Node | None) -> str | None:
    """``s_{t-1}`` (Bahdanau's decoder state before step t) is the state that queries at step t."""
    if sub is None or sub.kind != "items" or len(sub.kids) != 1:
        return None
    item = sub.kids[0]
    if item.kind == "sub" and item.kids[1].kind == "num" and item.kids[1].value == "1":
        return letter(item.kids[0]) if item.kids[0].kind == "sym" and len(item.kids[0].value) == 1 else None
    return None


def number(node: Node) -> int | None:
    text = letter(node)
    return int(text) if text is not None and text.isdigit() else None


def subscript(node: Node | None) -> list[str | int]:
    """``_{t,j}`` → ["t", "j"]; ``_{ij}`` and plain ``_ij`` → ["i", "j"]; ``_k`` → ["k"];
    ``_{model}`` → ["model"]; ``_1`` → [1]."""
    if node is None:
        return []
    out: list[str | int] = []
    for item in node.kids if node.kind == "items" else (node,):
        letters = _jux_letters(item)
        if letters is None:
            if item.kind == "num" and str(item.value).isdigit():
                out.append(int(item.value))
                continue
            if item.kind == "word":
                out.append(str(item.value))
                continue
            raise FormulaError("this subscript is not evaluated")
        if len(letters) > 2 and all(len(x) == 1 for x in letters):
            out.append("".join(letters))  # d_{model}
        else:
            out.extend(letters)
    return out


def _jux_letters(node: Node) -> list[str] | None:
    if node.kind == "sym" and len(node.value) == 1:
        return [node.value]
    if node.kind == "mul" and node.value == "jux":
        a, b = _jux_letters(node.kids[0]), _jux_letters(node.kids[1])
        if a is not None and b is not None:
            return a + b
    return None


def sum_index(sub: Node) -> tuple[str, Node | None]:
    item = sub.kids[0] if sub.kind == "items" and len(sub.kids) == 1 else sub
    if item.kind == "sym" and len(item.value) == 1:
        return item.value, None
    if item.kind == "where" and item.kids[0].kind == "sym":
        return item.kids[0].value, item.kids[1]
    if item.kind == "rel" and item.kids[0].kind == "sym" and len(item.kids[0].value) == 1:
        if item.value == ("=",):
            return item.kids[0].value, None  # Σ_{j=1}: ranges come from the inputs
        return item.kids[0].value, item
    raise FormulaError("this summation index is not evaluated")


def paths(node: Node, path=()):
    """Nodes with their paths, not entering scripts (``A_{ji}`` has no product to swap)."""
    yield path, node
    kids = node.kids[:1] if node.kind in ("post", "sum") else node.kids
    if node.kind == "call":
        kids = node.kids[:1]
    for i, kid in enumerate(kids):
        yield from paths(kid, (*path, i))


def put(node: Node, path: tuple[int, ...], new: Node) -> Node:
    if not path:
        return new
    kids = list(node.kids)
    kids[path[0]] = put(kids[path[0]], path[1:], new)
    return node.replace(kids=kids)


def contains(node: Node, kind: str, value=None) -> bool:
    return any(
        n.kind == kind
        and (value is None or n.value == value or (isinstance(n.value, tuple) and n.value[:1] == (value,)))
        for n in node.walk()
    )


def mentions(node: Node, name: str) -> bool:
    return any(n.kind == "sym" and n.value == name for n in node.walk())


def mentions_indexed(node: Node, name: str) -> bool:
    return any(n.kind == "post" and n.kids[0].kind == "sym" and n.kids[0].value == name for n in node.walk())


def subscript_or_none(node: Node):
    try:
        return subscript(node)
    except FormulaError:
        return None
