"""A shape a formula states (``O = … \\in \\mathbb{R}^{n \\times d_v}``): not an inequality, a
claim about the value's size, checked against the inputs' sizes."""

from __future__ import annotations

from attnkb.errors import FormulaError
from attnkb.formulas.grammar import Node
from attnkb.formulas.inputs import Inputs
from attnkb.formulas.tree import subscript

SEQUENCE = {"n", "N", "L", "T", "l", "m", "M", "S"}  # a sequence length: queries' or keys'


def stated_shape(node: Node) -> list[str | int] | None:
    """``\\mathbb{R}^{n \\times d_v}`` → ["n", "d_v"]; None for anything else."""
    if node.kind != "post" or node.value != ("sup",) or node.kids[0].kind != "word":
        return None
    if node.kids[0].value not in ("mathbb:R", "R"):
        return None
    sup = node.kids[1]
    if sup.kind == "items" and len(sup.kids) == 1:
        sup = sup.kids[0]
    sizes: list[str | int] = []
    stack = [sup]
    while stack:
        n = stack.pop(0)
        if n.kind == "mul" and n.value == "times":
            stack[:0] = list(n.kids)
        elif n.kind == "num" and str(n.value).isdigit():
            sizes.append(int(n.value))
        elif n.kind == "sym":
            sizes.append(str(n.value))
        elif n.kind == "post" and n.value == ("sub",) and n.kids[0].kind == "sym":
            try:
                index = "".join(map(str, subscript(n.kids[1])))
            except FormulaError:
                return None
            sizes.append(f"{n.kids[0].value}_{index}")
        else:
            return None
    return sizes


def shape_problem(sizes: list[str | int], shape: tuple[int, ...], inputs: Inputs) -> str | None:
    """Why ``shape`` is not the stated one, or None (also when a size's meaning is unknown)."""
    a = inputs.arrays
    length, source = a["q"].shape[0], a["k"].shape[0]
    allowed: dict[str, set[int]] = {name: {length, source} for name in SEQUENCE}
    width = int(inputs.key_width()) if float(inputs.key_width()).is_integer() else -1
    for name in ("d", "d_k", "d_q", "d_h"):
        allowed[name] = {width}
    if "v" in a:
        allowed["d_v"] = {a["v"].shape[-1]}
        if "d" in allowed and a["v"].shape[-1] != width:
            allowed["d"] = {width, a["v"].shape[-1]}  # d often stands for every width
    if inputs.heads:
        allowed["h"] = allowed["H"] = {inputs.heads}
    if inputs.op == "multihead":
        allowed["d_model"] = allowed["d"] = {a["q"].shape[1]}
    if length != source and any(sizes.count(s) > 1 for s in sizes if s in SEQUENCE):
        return None  # n × n assumes as many queries as keys; these inputs have not
    want = [s if isinstance(s, int) else allowed.get(s) for s in sizes]
    if any(w is None for w in want):
        return None  # a size we cannot bind: the shape is not checked
    if len(want) == 1 and len(shape) == 2 and 1 in shape:
        shape = (max(shape),)
    bound: dict[str, int] = {}
    fits = len(shape) == len(sizes)
    for size, n, w in zip(sizes, shape, want, strict=False):
        fits = fits and (n == w if isinstance(w, int) else w is not None and n in w)
        fits = fits and bound.setdefault(str(size), n) == n
    if fits:
        return None
    stated = " × ".join(map(str, sizes))
    return f"the stated shape {stated} is not the value's {' × '.join(map(str, shape))}"
