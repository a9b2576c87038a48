"""Which quantity a formula's left side names (output, weights, scores, softmax), and the
kernel's value of it."""

from __future__ import annotations

import numpy as np

from attnkb.errors import FormulaError
from attnkb.formulas.evaluate import OUTPUT_ROWS, WEIGHT_SYMS, Evaluator
from attnkb.formulas.functions import QUANTITIES, family, function, is_function
from attnkb.formulas.grammar import Node
from attnkb.formulas.inputs import Inputs
from attnkb.formulas.tree import subscript
from attnkb.formulas.values import Val


def attention_family(node: Node) -> str | None:
    """``attention`` or ``multihead`` for a call (or name) compared with a block's output:
    ``Attention(…)``, ``MHA(…)``, and ``A(Q, K, V)`` (A with three arguments is attention)."""
    if node.kind == "word":
        return family(node.value)
    if node.kind != "call":
        return None
    if node.value[0] == "A" and len(node.kids[0].kids) == 3:
        return "attention"
    return family(node.value[0])


def row_index(node: Node) -> str | None:
    """``Attention(…)_i``, ``Attention_i``: the output's row i (the index letter), else None."""
    if node.kind != "post" or node.value != ("sub",) or not attention_family(node.kids[0]):
        return None
    try:
        index = subscript(node.kids[1])
    except FormulaError:
        return None
    return index[0] if len(index) == 1 and isinstance(index[0], str) and len(index[0]) == 1 else None


GENERIC = {"y", "output", "Output", "weights", "Weights"}  # names other notes use for anything
ATTENTION_SYMBOLS = {"V", "A", "P", "alpha", "weights"}


def generic_name(lhs: Node) -> bool:
    """A left side such as ``y_i`` or ``output``, which names an attention quantity only when
    the right side is about attention (``\\text{output} = \\text{ReLU}(y)`` is not)."""
    base = lhs.kids[0] if lhs.kind == "post" else lhs
    return base.kind in ("sym", "word") and base.value in GENERIC


def about_attention(links) -> bool:
    """Whether a right side uses softmax, attention, exp, or the values and weights."""
    for link in links:
        for n in link.walk():
            if n.kind == "call" and (is_function(n.value[0], "softmax") or attention_family(n)):
                return True
            if n.kind == "call" and is_function(n.value[0], "exp"):
                return True
            if n.kind in ("sym", "word") and n.value in ATTENTION_SYMBOLS:
                return True
    return False


def target_of(lhs: Node) -> str | None:
    node = lhs
    if node.kind == "post" and node.kids[0].kind == "call" and is_function(node.kids[0].value[0], "softmax"):
        return "softmax"  # softmax(x)_i = …
    if row_index(node) is not None:
        return "output"
    if node.kind == "call":
        if attention_family(node):
            return "output"
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
    if node.kind == "word" and name in QUANTITIES and not indexed:
        return QUANTITIES[name]  # Output = …, weights = …
    if name in ("a", "score") and indexed and len(subscript(lhs.kids[1])) == 2:
        return "weights" if name == "a" else "scores"  # a_{ij}, \text{score}_{ij}
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
    row = row_index(lhs)
    if row is not None:  # Attention(Q, K, V)_i: row i of the output
        if inputs is None or inputs.output is None:
            raise FormulaError("no output to compare with (give the block v)")
        return ev.rows_of(inputs.output, row)
    if lhs.kind == "word" and family(lhs.value):
        lhs = Node("call", (Node("args"),), (lhs.value, ()))
    if lhs.kind == "call" and attention_family(lhs):
        if inputs is None or inputs.output is None:
            raise FormulaError("no output to compare with (give the block v)")
        multi = attention_family(lhs) == "multihead"
        if multi != (inputs.op == "multihead"):
            need = "a multihead block" if multi else "a single-head block"
            raise FormulaError(f"{lhs.value[0]}(…) is compared with {need}")
        first = lhs.kids[0].kids[0] if lhs.kids[0].kids else None
        if first is not None and row_symbol(first):
            axis = subscript(first.kids[1])[0] if first.kind == "post" else "·q"
            return ev.rows_of(inputs.output, str(axis))
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
