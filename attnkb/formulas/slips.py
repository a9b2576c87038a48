"""The slips behind a failing formula: each common mistake, undone, and the hint named when the
undone formula agrees with the kernel."""

from __future__ import annotations

from dataclasses import replace

from attnkb.errors import FormulaError
from attnkb.formulas.compare import evaluate_links
from attnkb.formulas.evaluate import Definition
from attnkb.formulas.functions import is_function
from attnkb.formulas.grammar import Node
from attnkb.formulas.tree import contains, mentions, paths, put, subscript_or_none, sum_index
from attnkb.formulas.values import MAX_WORK, work_budget, work_left

MISSING_EXP = "missing exp: weights are exp(score) / Σ exp(score), positive and summing to 1"
SCALE_MISSING = "√d_k is missing: scaled dot-product attention divides the scores by √d_k"
MASK_NAMED = "masked (causal) attention"
MASK_MISSING = "the mask is missing: masked attention adds M (0 where j ≤ i, −∞ where j > i) to the scores"
SUM_INDEX = "the sum runs over {i}, which the left side keeps; it should run over another index (Σ_j)"
SYMMETRY = (
    "the weights are not symmetric: softmax normalises each row on its own, so even when the "
    "scores are symmetric (S_ij = S_ji, e.g. Q = K) A_ij ≠ A_ji"
)


def kept_indices(lhs: Node) -> set[str]:
    """The index letters a left side keeps (``c_i``, ``A_{ij}``, ``softmax(x)_i``)."""
    if lhs.kind != "post" or "sub" not in lhs.value:
        return set()
    sub = lhs.kids[1 + lhs.value.index("sub")]
    letters = subscript_or_none(sub) or []
    return {s for s in letters if isinstance(s, str) and len(s) == 1}


def sum_over_kept_index(tree: Node) -> str:
    """The index a right side sums over although the left side keeps it (``c_i = Σ_i …``)."""
    kept = kept_indices(tree.kids[0])
    for link in tree.kids[1:]:
        for n in link.walk():
            if n.kind == "sum" and "sub" in n.value:
                try:
                    var, _ = sum_index(n.kids[1 + n.value.index("sub")])
                except FormulaError:
                    continue
                if var in kept:
                    return var
    return ""


def _symmetric_claim(tree: Node) -> bool:
    """``A_{ij} = A_{ji}``: the weights claimed symmetric."""
    lhs = tree.kids[0]
    if len(tree.kids) != 2 or lhs.kind != "post" or lhs.value != ("sub",):
        return False
    rhs = tree.kids[1]
    if rhs.kind != "post" or rhs.value != ("sub",) or rhs.kids[0].value != lhs.kids[0].value:
        return False
    left, right = subscript_or_none(lhs.kids[1]), subscript_or_none(rhs.kids[1])
    return bool(left) and len(left) == 2 and right == left[::-1] and left[0] != left[1]


def _has_power_of_e(node: Node) -> bool:
    return any(n.kind == "post" and n.kids[0].kind == "sym" and n.kids[0].value == "e" for n in node.walk())


def _sqrt_dk() -> Node:
    return Node(
        "sqrt", (Node("post", (Node("sym", (), "d"), Node("items", (Node("sym", (), "k"),))), ("sub",)),)
    )


def _call(name: str, arg: Node) -> Node:
    return Node("call", (Node("args", (arg,)),), (name, ()))


def slips(rhs: Node, target: str | None):
    """(hint, corrected right side) for each common slip this right side could contain."""
    for path, n in paths(rhs):
        if n.kind == "vector" and not contains(n, "call", "exp") and not _has_power_of_e(n):
            items = tuple(k if k.kind == "dots" else _call("exp", k) for k in n.kids)
            yield MISSING_EXP, put(rhs, path, n.replace(kids=items))
        if n.kind == "div" and n.kids[1].kind == "sum" and not contains(n.kids[0], "call", "exp"):
            num, den = n.kids
            body = den.kids[0]
            fixed = Node("div", (_call("exp", num), den.replace(kids=(_call("exp", body), *den.kids[1:]))))
            yield (
                MISSING_EXP,
                put(rhs, path, fixed),
            )
        if n.kind == "call" and is_function(n.value[0], "softmax") and not contains(n, "sqrt"):
            args = n.kids[0]
            scaled = Node("div", (args.kids[0], _sqrt_dk())) if args.kids else None
            if scaled is not None:
                yield (
                    "√d_k is missing: the scores are divided by √d_k inside the softmax",
                    put(rhs, path, n.replace(kids=(Node("args", (scaled,)), *n.kids[1:]))),
                )
        if n.kind == "mul" and any(k.kind == "sqrt" for k in n.kids):
            other = n.kids[0] if n.kids[1].kind == "sqrt" else n.kids[1]
            root = n.kids[1] if n.kids[1].kind == "sqrt" else n.kids[0]
            yield (
                "√d_k multiplies the scores; it should divide them",
                put(rhs, path, Node("div", (other, root))),
            )
        if n.kind == "div" and n.kids[1].kind == "sqrt" and contains(n.kids[0], "call", "softmax"):
            moved = n.kids[0]
            for p2, m in paths(moved):
                if m.kind == "call" and is_function(m.value[0], "softmax") and m.kids[0].kids:
                    inner = Node("div", (m.kids[0].kids[0], n.kids[1]))
                    moved = put(moved, p2, m.replace(kids=(Node("args", (inner,)), *m.kids[1:])))
                    break
            yield "the √d_k scaling is outside the softmax; it belongs inside", put(rhs, path, moved)
        if n.kind == "sym" and n.value in ("K", "k"):
            yield (
                f"{n.value} needs a transpose ({'QKᵀ' if n.value == 'K' else 'q kᵀ'})",
                put(rhs, path, Node("post", (n, Node("T")), ("tr",))),
            )
        if n.kind == "mul" and n.value in ("jux", "mat", "star"):
            yield "the product is in the wrong order", put(rhs, path, n.replace(kids=n.kids[::-1]))
        if n.kind == "sub" and mentions(n.kids[1], "M"):
            yield (
                "wrong mask sign: the mask is added (0 or −∞), not subtracted",
                put(rhs, path, Node("add", n.kids)),
            )
        if n.kind == "inf":
            yield "wrong mask sign: masked scores are −∞, not +∞", put(rhs, path, Node("neg", (n,)))
    if target == "scores" and not contains(rhs, "sqrt"):
        yield "√d_k is missing: scaled dot-product scores are divided by √d_k", Node("div", (rhs, _sqrt_dk()))


MAX_SLIP_TRIES = 60


MAX_HINT_WORK = 2 * MAX_WORK  # all the tries together: a hint is a help, not worth seconds


def find_hint(tree: Node, target: str | None, runs, definitions, free, condition: Node | None = None) -> str:
    """Name the first slip whose correction makes the formula agree."""
    if _symmetric_claim(tree):
        return SYMMETRY
    tries = 0
    mask_def = definitions.get("M")
    candidates: list[tuple[str, Node, dict[str, Definition]]] = []
    for link_index, link in enumerate(tree.kids[1:], start=1):
        for hint, fixed in slips(link, target):
            kids = list(tree.kids)
            kids[link_index] = fixed
            candidates.append((hint, tree.replace(kids=kids), definitions))
    if mask_def is not None and mentions(tree, "M"):
        for hint, fixed in slips(mask_def.rhs, None):
            if hint.startswith("wrong mask sign"):
                candidates.append((hint, tree, {**definitions, "M": replace(mask_def, rhs=fixed)}))
        for hint, fixed in _swapped_cases(mask_def.rhs, mask_def.params):
            candidates.append((hint, tree, {**definitions, "M": replace(mask_def, rhs=fixed)}))
    called = {n.value[0] for n in tree.walk() if n.kind == "call"}
    for name in sorted(called):  # f(x) := [x_1 - m(x), …]: the slip is in the note's own function
        d = definitions.get(name)
        if d is not None and d.function:
            for hint, fixed in slips(d.rhs, None):
                if hint.startswith("missing exp"):
                    candidates.append((hint, tree, {**definitions, name: replace(d, rhs=fixed)}))
    with work_budget(MAX_HINT_WORK):
        for hint, candidate, defs in candidates:
            for inputs in runs:
                tries += 1
                if tries > MAX_SLIP_TRIES or not work_left():
                    return ""
                if evaluate_links(candidate, inputs, defs, free, condition).status == "pass":
                    return hint
    return ""


MASK_SIDE = "wrong mask side: the mask must block j > i (the future), not j ≤ i"


def _swapped_cases(rhs: Node, params: tuple[str, ...] = ()):
    """The mask with its two values swapped, and with its indices swapped in the conditions
    (``0, & i \\le j`` blocks the past: the transpose of a causal mask)."""
    for path, n in paths(rhs):
        if n.kind == "cases" and len(n.kids) == 2:
            a, b = n.kids
            swapped = n.replace(
                kids=(a.replace(kids=(b.kids[0], a.kids[1])), b.replace(kids=(a.kids[0], b.kids[1])))
            )
            yield MASK_SIDE, put(rhs, path, swapped)
    if len(params) == 2:
        yield MASK_SIDE, _rename(rhs, {params[0]: params[1], params[1]: params[0]})


def _rename(node: Node, names: dict[str, str]) -> Node:
    if node.kind == "sym" and node.value in names:
        return node.replace(value=names[node.value])
    kids = tuple(_rename(k, names) for k in node.kids)
    return node.replace(kids=kids) if kids != node.kids else node
