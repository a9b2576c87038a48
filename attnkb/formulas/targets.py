"""Which quantity a formula's left side names (output, weights, scores, softmax), and the
kernel's value of it."""

from __future__ import annotations

import numpy as np

from attnkb.errors import FormulaError
from attnkb.formulas.evaluate import OUTPUT_ROWS, WEIGHT_SYMS, Evaluator
from attnkb.formulas.functions import family, function, is_function
from attnkb.formulas.grammar import Node
from attnkb.formulas.inputs import Inputs
from attnkb.formulas.tree import subscript
from attnkb.formulas.values import Val


def target_of(lhs: Node) -> str | None:
    node = lhs
    if node.kind == "post" and node.kids[0].kind == "call" and is_function(node.kids[0].value[0], "softmax"):
        return "softmax"  # softmax(x)_i = …
    if node.kind == "call":
        f = function(node.value[0])
        return f.target if f is not None else None
    kinds: tuple = ()
    if node.kind == "post":
        node, kinds = node.kids[0], node.value
        if set(kinds) - {"sub"}:
            return None
    if node.kind not in ("sym", "word"):
        return None
    name, indexed = node.value, bool(kinds)
    if node.kind == "word" and family(name) and not indexed:
        return "output"  # Attn = softmax(…) @ V
    if name in ("O", "Y") and not indexed:
        return "output"
    if name in OUTPUT_ROWS:
        return "output"
    if name in WEIGHT_SYMS:
        return "weights"
    if name == "S" and (not indexed or len(subscript(lhs.kids[1])) == 2):
        return "scores"  # S_i with one index is a state (linear attention), not a score
    if name == "e" and indexed:
        return "scores"
    return None


def lhs_value(ev: Evaluator, lhs: Node, inputs: Inputs | None) -> Val:
    """The kernel's value of the quantity the left side names."""
    if lhs.kind == "word" and family(lhs.value):
        lhs = Node("call", (Node("args"),), (lhs.value, ()))
    if lhs.kind == "call" and family(lhs.value[0]):
        if inputs is None or inputs.output is None:
            raise FormulaError("no output to compare with (give the block v)")
        multi = family(lhs.value[0]) == "multihead"
        if multi != (inputs.op == "multihead"):
            need = "a multihead block" if multi else "a single-head block"
            raise FormulaError(f"{lhs.value[0]}(…) is compared with {need}")
        first = lhs.kids[0].kids[0] if lhs.kids[0].kids else None
        if first is not None and row_symbol(first):
            axis = subscript(first.kids[1])[0] if first.kind == "post" else "·q"
            return ev.rows_of(inputs.output, axis)
        return Val(np.asarray(inputs.output, dtype=float))
    if inputs is not None and inputs.op == "multihead" and target_of(lhs) in ("weights", "scores"):
        raise FormulaError("a multihead block's weights are averaged over heads; compare its output")
    return ev.eval(lhs)


def row_symbol(node: Node) -> bool:
    if node.kind == "sym":
        return node.value == "q"
    return (
        node.kind == "post"
        and node.value == ("sub",)
        and node.kids[0].kind == "sym"
        and node.kids[0].value in ("q", "s", "x")
        and len(subscript(node.kids[1])) == 1
    )
