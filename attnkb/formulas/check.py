"""Verdicts on a note's formulas: which quantity each one claims, what it is compared with,
and, when it disagrees, which common slip explains it.

``pass`` and ``fail`` are comparisons with the kernel; ``unsupported`` means we do not evaluate
that formula (never a failure); ``context`` is a formula that claims nothing the kernel computes
(``Q = XW_q``, ``O(n^2)``). A wrong ``fail`` on a correct formula is worse than ``unsupported``,
so every doubt resolves to ``unsupported``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from attnkb.errors import FormulaError
from attnkb.formulas.evaluate import (
    COLUMN_STORED,
    OUTPUT_ROWS,
    WEIGHT_SYMS,
    Definition,
    Evaluator,
    Unbound,
    _subscript,
)
from attnkb.formulas.find import Formula, find_formulas
from attnkb.formulas.grammar import Node, parse
from attnkb.formulas.inputs import RANDOM_OPS, Inputs, random_inputs
from attnkb.formulas.lexer import MULTIHEAD_CALLS, OUTPUT_CALLS
from attnkb.formulas.values import MAX_WORK, ShapeError, Val, align, work_budget, work_left

STATUSES = ("pass", "fail", "unsupported", "context")
MAX_FORMULAS = 500  # per note: real notes state a few dozen; a generated one must not take minutes
RTOL, ATOL = 1e-6, 1e-8
SHOWN = 160  # characters of a formula kept in a row


@dataclass
class FormulaResult:
    path: str
    line: int
    formula: str
    status: str
    target: str | None = None
    op: str | None = None
    block_line: int | None = None
    max_abs_diff: float | None = None
    message: str = ""
    first_diff: dict[str, Any] | None = None
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "formula",
            "path": self.path,
            "line": self.line,
            "formula": self.formula,
            "status": self.status,
            "target": self.target,
            "op": self.op,
            "block_line": self.block_line,
            "max_abs_diff": self.max_abs_diff
            if self.max_abs_diff is None or np.isfinite(self.max_abs_diff)
            else None,
            "message": self.message,
        }


@dataclass
class Part:
    line: int
    text: str
    latex: bool
    tree: Node | None = None
    error: str = ""
    condition: Node | None = None  # "…, \\quad j \\le i": where the formula is stated to hold
    condition_text: str = ""


# --- splitting display math into its formulas ---------------------------------------------------

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


# --- targets --------------------------------------------------------------------------------------


def target_of(lhs: Node) -> str | None:
    node = lhs
    if (
        node.kind == "post"
        and node.kids[0].kind == "call"
        and node.kids[0].value[0] in ("softmax", "Softmax")
    ):
        return "softmax"
    if node.kind == "call":
        name = node.value[0]
        if name in ("softmax", "Softmax"):
            return "softmax"
        if name in OUTPUT_CALLS or name in MULTIHEAD_CALLS:
            return "output"
        if name == "score":
            return "scores"
        return None
    kinds: tuple = ()
    if node.kind == "post":
        node, kinds = node.kids[0], node.value
        if set(kinds) - {"sub"}:
            return None
    if node.kind not in ("sym", "word"):
        return None
    name, indexed = node.value, bool(kinds)
    if node.kind == "word" and name in OUTPUT_CALLS | MULTIHEAD_CALLS and not indexed:
        return "output"  # Attn = softmax(…) @ V
    if name in ("O", "Y") and not indexed:
        return "output"
    if name in OUTPUT_ROWS:
        return "output"
    if name in WEIGHT_SYMS:
        return "weights"
    if name == "S" and (not indexed or len(_subscript(lhs.kids[1])) == 2):
        return "scores"  # S_i with one index is a state (linear attention), not a score
    if name == "e" and indexed:
        return "scores"
    return None


def _lhs_value(ev: Evaluator, lhs: Node, inputs: Inputs | None) -> Val:
    """The kernel's value of the quantity the left side names."""
    if lhs.kind == "word" and lhs.value in OUTPUT_CALLS | MULTIHEAD_CALLS:
        lhs = Node("call", (Node("args"),), (lhs.value, ()))
    if lhs.kind == "call" and lhs.value[0] in OUTPUT_CALLS | MULTIHEAD_CALLS:
        if inputs is None or inputs.output is None:
            raise FormulaError("no output to compare with (give the block v)")
        multi = lhs.value[0] in MULTIHEAD_CALLS
        if multi != (inputs.op == "multihead"):
            need = "a multihead block" if multi else "a single-head block"
            raise FormulaError(f"{lhs.value[0]}(…) is compared with {need}")
        first = lhs.kids[0].kids[0] if lhs.kids[0].kids else None
        if first is not None and _row_symbol(first):
            axis = _subscript(first.kids[1])[0] if first.kind == "post" else "·q"
            return ev._rows(inputs.output, axis)
        return Val(np.asarray(inputs.output, dtype=float))
    if inputs is not None and inputs.op == "multihead" and target_of(lhs) in ("weights", "scores"):
        raise FormulaError("a multihead block's weights are averaged over heads; compare its output")
    return ev.eval(lhs)


def _row_symbol(node: Node) -> bool:
    if node.kind == "sym":
        return node.value == "q"
    return (
        node.kind == "post"
        and node.value == ("sub",)
        and node.kids[0].kind == "sym"
        and node.kids[0].value in ("q", "s", "x")
        and len(_subscript(node.kids[1])) == 1
    )


# --- comparing -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # pass | fail | unsupported
    message: str = ""
    max_abs_diff: float | None = None
    first_diff: dict[str, Any] | None = None
    convention: str = "row"
    symbol: str = ""  # for unsupported: the symbol with no value


def compare(lhs: Val, rhs: Val, where: Val | None = None) -> Outcome:
    if set(lhs.axes) != set(rhs.axes):
        rhs = _rename_hidden(lhs, rhs)
    if set(lhs.axes) != set(rhs.axes):
        lhs, rhs = _matrix_as_rows(lhs, rhs), _matrix_as_rows(rhs, lhs)
    if set(lhs.axes) != set(rhs.axes):
        raise ShapeError(f"indices differ: {_axes(lhs)} on the left, {_axes(rhs)} on the right")
    if lhs.scalar and not rhs.scalar and rhs.inner != (1, 1):
        if lhs.axes:
            raise FormulaError("the right side is not one number per entry, as the left side is")
        raise ShapeError("a number on the left, an array on the right")
    li, ri = lhs.inner, rhs.inner
    if li != ri:
        if (lhs.vector and rhs.vector and max(li) == max(ri)) or {li, ri} <= {(), (1, 1)}:
            rhs = Val(rhs.data.reshape(rhs.data.shape[: len(rhs.axes)] + li), rhs.axes)
        else:
            raise ShapeError(f"shapes differ: {_dims(li)} on the left, {_dims(ri)} on the right")
    if where is not None and not set(where.axes) <= set(lhs.axes):
        raise FormulaError("the condition uses indices the left side does not have")
    axes, (want, got, *held) = align(lhs, rhs, *([where] if where is not None else []))
    want, got = np.broadcast_arrays(want, got)
    with np.errstate(all="ignore"):
        close = np.isclose(got, want, rtol=RTOL, atol=ATOL) | (np.isnan(want) & np.isnan(got))
        if held:  # outside its stated condition a formula claims nothing
            outside = ~np.broadcast_to(held[0].astype(bool), close.shape)
            close, want, got = close | outside, np.where(outside, 0.0, want), np.where(outside, 0.0, got)
        finite = np.isfinite(want) & np.isfinite(got)
        diff = np.where(finite, np.abs(got - want), 0.0)
    worst = float(diff.max()) if diff.size else 0.0
    if close.all():
        return Outcome("pass", max_abs_diff=worst)
    bad = np.argwhere(~close)[0]
    index = [int(i) for i in bad]
    first = {
        "index": index,
        "axes": list(axes),
        "kernel": float(want[tuple(bad)]),
        "formula": float(got[tuple(bad)]),
    }
    if not np.isfinite(got[tuple(bad)]) and np.isfinite(want[tuple(bad)]):
        message = "the formula gives NaN or infinity where the kernel's value is finite"
        worst = float("inf")
    else:
        message = f"differs from the kernel (max |diff| {worst:.3g})"
    return Outcome("fail", message, worst, first)


def _rename_hidden(lhs: Val, rhs: Val) -> Val:
    """``o = Σ_j α_{ij} v_j``: one unnamed query axis on one side, one named on the other."""
    extra_l, extra_r = set(lhs.axes) - set(rhs.axes), set(rhs.axes) - set(lhs.axes)
    if len(extra_l) == 1 and len(extra_r) == 1:
        (a,), (b,) = extra_l, extra_r
        if a.startswith("·") or b.startswith("·"):
            return Val(rhs.data, tuple(a if x == b else x for x in rhs.axes))
    return rhs


def _matrix_as_rows(whole: Val, rows: Val) -> Val:
    """``O = \\sum_j \\alpha_{ij} v_j``: a matrix on one side, its row i on the other.

    The matrix is read by rows along that one index when the row counts and widths agree.
    """
    if whole.axes or len(whole.inner) != 2 or len(rows.axes) != 1 or not rows.vector:
        return whole
    (axis,) = rows.axes
    n, width = whole.inner
    if axis.startswith("·") or rows.data.shape[0] != n:
        return whole
    if rows.inner == (1, width):
        return Val(whole.data[:, None, :], (axis,))
    if rows.inner == (width, 1):
        return Val(whole.data[:, :, None], (axis,))
    return whole


def _axes(v: Val) -> str:
    shown = [a if not a.startswith("·") else "(one query)" for a in v.axes]
    return "{" + ", ".join(shown) + "}" if shown else "none"


def _dims(inner: tuple[int, ...]) -> str:
    return "a number" if not inner else "×".join(map(str, inner))


# --- one formula against one set of inputs ------------------------------------------------------


def _sigma_as_softmax(tree: Node) -> Node | None:
    """The tree with every σ(…) read as softmax (some notes name softmax σ), or None if none."""
    if not _contains(tree, "call", "sigma"):
        return None

    def rename(n: Node) -> Node:
        kids = tuple(rename(k) for k in n.kids)
        if n.kind == "call" and n.value[0] == "sigma":
            return n.replace(kids=kids, value=("softmax", *n.value[1:]))
        return n.replace(kids=kids) if kids != n.kids else n

    return rename(tree)


class _Differs(Exception):
    def __init__(self, outcome: Outcome):
        self.outcome = outcome


def evaluate_links(
    tree: Node,
    inputs: Inputs | None,
    definitions: dict[str, Definition],
    free: bool,
    condition: Node | None = None,
) -> Outcome:
    """Every link of ``a = b = c`` against the left side, row convention first.

    A link we cannot evaluate is left out; the others are still compared. σ is the sigmoid,
    or softmax when that is what makes the formula agree (Wikipedia writes softmax as σ).
    """
    outcome = _evaluate_links(tree, inputs, definitions, free, condition)
    softmax_named_sigma = _sigma_as_softmax(tree) if outcome.status == "fail" else None
    if softmax_named_sigma is not None:
        second = _evaluate_links(softmax_named_sigma, inputs, definitions, free, condition)
        if second.status == "pass":
            second.message = "agrees with the kernel, σ read as softmax"
            return second
    return outcome


def _evaluate_links(
    tree: Node,
    inputs: Inputs | None,
    definitions: dict[str, Definition],
    free: bool,
    condition: Node | None,
) -> Outcome:
    errors = []
    failed: Outcome | None = None  # values that differ under one reading may agree under another
    for convention in ("row", "column", COLUMN_STORED):
        if failed is not None and not work_left():
            break
        ev = Evaluator(inputs, convention, definitions, free)
        try:
            with np.errstate(all="ignore"), work_budget():
                lhs = _lhs_value(ev, tree.kids[0], inputs)
                ev.kept = lhs.axes
                where = ev.condition(condition) if condition is not None else None
                worst: Outcome | None = None
                skipped: Outcome | None = None
                for link in tree.kids[1:]:
                    try:
                        got = compare(lhs, ev.eval(link), where)
                    except Unbound as exc:
                        skipped = Outcome("unsupported", exc.message, symbol=exc.symbol)
                        continue
                    if got.status == "fail":
                        got.convention = convention
                        raise _Differs(got)
                    worst = (
                        got if worst is None or (got.max_abs_diff or 0) > (worst.max_abs_diff or 0) else worst
                    )
            if worst is None:
                return failed or skipped
            worst.convention = convention
            return worst
        except _Differs as exc:
            failed = failed or exc.outcome
        except ShapeError as exc:
            errors.append(str(exc))
        except Unbound as exc:
            return failed or Outcome("unsupported", exc.message, symbol=exc.symbol)
        except (FormulaError, LookupError) as exc:
            return failed or Outcome("unsupported", str(exc) or "not evaluated")
        except (ValueError, FloatingPointError, OverflowError, IndexError) as exc:
            return failed or Outcome("unsupported", f"not evaluated ({exc})")
    if failed is not None:
        return failed
    if _contains(tree, "stack"):  # W_a [s; h]: our W_a is sized for s alone, not for the two stacked
        return Outcome("unsupported", "a matrix applied to [a; b] has no value here")
    return Outcome("fail", f"shapes do not conform under any convention: {errors[0]}", convention="row")


# --- the slips behind a failure ---------------------------------------------------------------------


def _paths(node: Node, path=()):
    """Nodes with their paths, not entering scripts (``A_{ji}`` has no product to swap)."""
    yield path, node
    kids = node.kids[:1] if node.kind in ("post", "sum") else node.kids
    if node.kind == "call":
        kids = node.kids[:1]
    for i, kid in enumerate(kids):
        yield from _paths(kid, (*path, i))


def _put(node: Node, path: tuple[int, ...], new: Node) -> Node:
    if not path:
        return new
    kids = list(node.kids)
    kids[path[0]] = _put(kids[path[0]], path[1:], new)
    return node.replace(kids=kids)


def _contains(node: Node, kind: str, value=None) -> bool:
    return any(
        n.kind == kind
        and (value is None or n.value == value or (isinstance(n.value, tuple) and n.value[:1] == (value,)))
        for n in node.walk()
    )


def _sqrt_dk() -> Node:
    return Node(
        "sqrt", (Node("post", (Node("sym", (), "d"), Node("items", (Node("sym", (), "k"),))), ("sub",)),)
    )


def _call(name: str, arg: Node) -> Node:
    return Node("call", (Node("args", (arg,)),), (name, ()))


def slips(rhs: Node, target: str | None):
    """(hint, corrected right side) for each common slip this right side could contain."""
    for path, n in _paths(rhs):
        if n.kind == "div" and n.kids[1].kind == "sum" and not _contains(n.kids[0], "call", "exp"):
            num, den = n.kids
            body = den.kids[0]
            fixed = Node("div", (_call("exp", num), den.replace(kids=(_call("exp", body), *den.kids[1:]))))
            yield (
                "missing exp: weights are exp(score) / Σ exp(score), positive and summing to 1",
                _put(rhs, path, fixed),
            )
        if n.kind == "call" and n.value[0] in ("softmax", "Softmax") and not _contains(n, "sqrt"):
            args = n.kids[0]
            scaled = Node("div", (args.kids[0], _sqrt_dk())) if args.kids else None
            if scaled is not None:
                yield (
                    "√d_k is missing: the scores are divided by √d_k inside the softmax",
                    _put(rhs, path, n.replace(kids=(Node("args", (scaled,)), *n.kids[1:]))),
                )
        if n.kind == "mul" and any(k.kind == "sqrt" for k in n.kids):
            other = n.kids[0] if n.kids[1].kind == "sqrt" else n.kids[1]
            root = n.kids[1] if n.kids[1].kind == "sqrt" else n.kids[0]
            yield (
                "√d_k multiplies the scores; it should divide them",
                _put(rhs, path, Node("div", (other, root))),
            )
        if n.kind == "div" and n.kids[1].kind == "sqrt" and _contains(n.kids[0], "call", "softmax"):
            moved = n.kids[0]
            for p2, m in _paths(moved):
                if m.kind == "call" and m.value[0] in ("softmax", "Softmax") and m.kids[0].kids:
                    inner = Node("div", (m.kids[0].kids[0], n.kids[1]))
                    moved = _put(moved, p2, m.replace(kids=(Node("args", (inner,)), *m.kids[1:])))
                    break
            yield "the √d_k scaling is outside the softmax; it belongs inside", _put(rhs, path, moved)
        if n.kind == "sym" and n.value in ("K", "k"):
            yield (
                f"{n.value} needs a transpose ({'QKᵀ' if n.value == 'K' else 'q kᵀ'})",
                _put(rhs, path, Node("post", (n, Node("T")), ("tr",))),
            )
        if n.kind == "mul" and n.value in ("jux", "mat", "star"):
            yield "the product is in the wrong order", _put(rhs, path, n.replace(kids=n.kids[::-1]))
        if n.kind == "sub" and _mentions(n.kids[1], "M"):
            yield (
                "wrong mask sign: the mask is added (0 or −∞), not subtracted",
                _put(rhs, path, Node("add", n.kids)),
            )
        if n.kind == "inf":
            yield "wrong mask sign: masked scores are −∞, not +∞", _put(rhs, path, Node("neg", (n,)))
    if target == "scores" and not _contains(rhs, "sqrt"):
        yield "√d_k is missing: scaled dot-product scores are divided by √d_k", Node("div", (rhs, _sqrt_dk()))


def _mentions(node: Node, name: str) -> bool:
    return any(n.kind == "sym" and n.value == name for n in node.walk())


MAX_SLIP_TRIES = 60
MAX_HINT_WORK = 2 * MAX_WORK  # all the tries together: a hint is a help, not worth seconds


def find_hint(tree: Node, target: str | None, runs, definitions, free, condition: Node | None = None) -> str:
    """Name the first slip whose correction makes the formula agree."""
    tries = 0
    mask_def = definitions.get("M")
    candidates: list[tuple[str, Node, dict[str, Definition]]] = []
    for link_index, link in enumerate(tree.kids[1:], start=1):
        for hint, fixed in slips(link, target):
            kids = list(tree.kids)
            kids[link_index] = fixed
            candidates.append((hint, tree.replace(kids=kids), definitions))
    if mask_def is not None and _mentions(tree, "M"):
        for hint, fixed in slips(mask_def.rhs, None):
            if hint.startswith("wrong mask sign"):
                candidates.append((hint, tree, {**definitions, "M": replace(mask_def, rhs=fixed)}))
        for hint, fixed in _swapped_cases(mask_def.rhs, mask_def.params):
            candidates.append((hint, tree, {**definitions, "M": replace(mask_def, rhs=fixed)}))
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
    for path, n in _paths(rhs):
        if n.kind == "cases" and len(n.kids) == 2:
            a, b = n.kids
            swapped = n.replace(
                kids=(a.replace(kids=(b.kids[0], a.kids[1])), b.replace(kids=(a.kids[0], b.kids[1])))
            )
            yield MASK_SIDE, _put(rhs, path, swapped)
    if len(params) == 2:
        yield MASK_SIDE, _rename(rhs, {params[0]: params[1], params[1]: params[0]})


def _rename(node: Node, names: dict[str, str]) -> Node:
    if node.kind == "sym" and node.value in names:
        return node.replace(value=names[node.value])
    kids = tuple(_rename(k, names) for k in node.kids)
    return node.replace(kids=kids) if kids != node.kids else node


# --- a note ------------------------------------------------------------------------------------------


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
        name, params = None, ()
        if lhs.kind in ("sym", "word"):
            name = lhs.value
        elif lhs.kind == "post" and lhs.kids[0].kind in ("sym", "word"):
            kinds = lhs.value
            base = lhs.kids[0].value
            if kinds == ("sub",):
                try:
                    subs = _subscript(lhs.kids[1])
                except FormulaError:
                    continue
                if all(isinstance(s, str) and len(s) == 1 for s in subs):
                    name, params = base, tuple(subs)
            elif set(kinds) == {"prime"}:
                name = base + "'" * len(kinds)
        if name and name not in found and tree.kids[1].kind not in ("num", "neg"):
            found[name] = Definition(tree.kids[1], params)  # w = 4096 is an example, not a definition
    return found


def check_formulas(
    path: str,
    body: str,
    first_line: int,
    block_inputs: list[tuple[int, Inputs | None]],
    heading_lines: list[int],
) -> list[FormulaResult]:
    """Every formula of a note body: found, parsed, bound to the nearest block, compared."""
    parts = []
    for formula in find_formulas(body, first_line):
        if len(parts) >= MAX_FORMULAS:
            skipped = FormulaResult(path, formula.line, _shown(formula.text), "unsupported")
            skipped.message = (
                f"over {MAX_FORMULAS} formulas in this note; this one and the rest are not checked"
            )
            break
        parts += prepare(formula)
    else:
        skipped = None
    definitions = definitions_of(parts)
    results, seen = [], {}
    for part in parts:  # a formula repeated next to the same block has the same verdict
        key = (
            part.text,
            part.condition_text,
            part.latex,
            id(_nearest(part.line, block_inputs, heading_lines)),
        )
        if key not in seen:
            seen[key] = _check_part(path, part, definitions, block_inputs, heading_lines)
        results.append(replace(seen[key], line=part.line))
    return [*results, skipped] if skipped else results


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(text: str) -> str:
    """The formula as a row shows it: one line, no control characters (it reaches terminals)."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _check_part(path, part: Part, definitions, block_inputs, heading_lines) -> FormulaResult:
    written = part.text + (f", {part.condition_text}" if part.condition_text else "")
    result = FormulaResult(path, part.line, _shown(written), "context")
    if part.tree is None:
        result.status, result.message = _unparsed(part)
        return result
    tree = part.tree
    if len(tree.kids) < 2:
        result.message = "states no equation"
        return result
    target = target_of(tree.kids[0])
    result.target = target
    if target is None:
        result.message = "claims nothing the kernel computes"
        return result
    if all(not any(n.kind in ("sym", "word") for n in link.walk()) for link in tree.kids[1:]):
        result.target = None
        result.message = "a value, not a formula (numbers are checked in attention blocks)"
        return result
    if set(tree.value) != {"="}:
        result.status, result.target = "context", None
        result.message = "an approximation or inequality, not compared"
        return result
    # the formula's own left side is what is checked, never defined by the formula itself
    # (else S = KQᵀ "agreed" with inputs that have no S of their own)
    definitions = {k: d for k, d in definitions.items() if not any(d.rhs is link for link in tree.kids[1:])}
    if target == "softmax":
        outcome = evaluate_links(tree, None, definitions, True, part.condition)
        tempered = [t for t in ("T", "tau") if _mentions(tree, t) and not _mentions(tree.kids[0], t)]
        if outcome.status == "fail" and tempered:  # softmax(x)_i = exp(x_i/τ)/…: a definition of τ
            name = "τ" if tempered[0] == "tau" else "T"
            outcome = Outcome(
                "unsupported", f"temperature {name} on the right only: equal to softmax(x) when {name} = 1"
            )
        result.message = outcome.message or "agrees with the kernel's softmax"
        return _finish(result, outcome, tree, target, [None], definitions, True, part.condition)
    block = _nearest(part.line, block_inputs, heading_lines)
    if block is not None:
        result.op, result.block_line = block.op, block.block_line
        outcome = evaluate_links(tree, block, definitions, False, part.condition)
        if outcome.status == "fail" and block.unmasked is not None:
            plain = replace(
                block, weights=block.unmasked[0], output=block.unmasked[1], mask=None, unmasked=None
            )
            if evaluate_links(tree, plain, definitions, False, part.condition).status == "pass":
                outcome = Outcome("pass", "agrees with the block's inputs without its mask")
        other = _other_family(tree, block, definitions, part.condition) if outcome.status == "fail" else None
        if other is not None:  # a dot-product formula beside an additive block states another score
            outcome = Outcome(
                "unsupported", f"agrees with op {other} (random inputs), not the block's op {block.op}"
            )
        return _finish(result, outcome, tree, target, [block], definitions, False, part.condition)
    runs = _random_runs(tree)
    outcomes = [(inputs, evaluate_links(tree, inputs, definitions, False, part.condition)) for inputs in runs]
    passed = [(i, o) for i, o in outcomes if o.status == "pass"]
    if passed:
        inputs, outcome = passed[0]
        result.op = _op_name(inputs)
        return _finish(result, outcome, tree, target, [inputs], definitions, False, part.condition)
    unsupported = [o for _, o in outcomes if o.status == "unsupported" and o.symbol not in OP_SPECIFIC]
    failed = [(i, o) for i, o in outcomes if o.status == "fail"]
    if unsupported or not failed:
        reason = unsupported[0] if unsupported else outcomes[0][1]
        return _finish(result, reason, tree, target, [], definitions, False, part.condition)
    # the first in RANDOM_OPS order (plain scaled dot-product first), preferring a difference in
    # values over shapes that do not conform for that op's inputs
    inputs, outcome = next(((i, o) for i, o in failed if o.first_diff), failed[0])
    result.op = _op_name(inputs)
    return _finish(result, outcome, tree, target, [i for i, _ in failed], definitions, False, part.condition)


FAMILIES = {"additive": "additive", "additive+b": "additive", "general": "general", "cosine": "cosine"}
FAMILIES |= {"linear": "linear", "concat": "concat", "linformer": "linformer", "softmax": "-", "weights": "-"}


def _family(op: str) -> str:
    """Score functions that differ in kind; dot, scaled dot, masks and windows are one family,
    so a missing √d_k beside a scaled block is still a failure."""
    return FAMILIES.get(op, "dot")


def _random_runs(tree: Node) -> list[Inputs]:
    """Random inputs for each op a formula may be about."""
    same = _mentions_indexed(tree, "h") and not _mentions_values(tree)
    # self-attention inputs (Q = K = V) only for formulas that do not tell queries from keys:
    # with them, softmax(KQᵀ)V would "agree"
    both = any(_mentions(tree, n) for n in "Qqs") and any(_mentions(tree, n) for n in "Kkh")
    ops = [op for op in RANDOM_OPS if not (both and op == "self")]
    if _about_heads(tree):  # MultiHead(…) = Concat(head_1, …, head_h) W^O: random heads only
        ops = ["multihead" if both or not _mentions(tree, "X") else "multihead-self"]
    return [random_inputs(op, values_are_keys=same) for op in ops]


def _other_family(tree: Node, block: Inputs, definitions, condition) -> str | None:
    """The op of another score family the formula agrees with on random inputs, if any."""
    mine = _family(block.op)
    for inputs in _random_runs(tree):
        if _family(inputs.op) in (mine, "-") or not work_left():
            continue
        if evaluate_links(tree, inputs, definitions, False, condition).status == "pass":
            return _op_name(inputs)
    return None


def _about_heads(tree: Node) -> bool:
    return any(
        n.kind in ("call", "word") and (n.value[0] if n.kind == "call" else n.value) in MULTIHEAD_CALLS
        for n in tree.kids[0].walk()
    ) or _contains(tree, "call", "Concat")


def _mentions_values(tree: Node) -> bool:
    """V, or v_j (v_a is a parameter, not a value)."""
    for n in tree.walk():
        if n.kind == "sym" and n.value == "V":
            return True
        is_v = n.kind == "post" and n.kids[0].kind == "sym" and n.kids[0].value == "v" and n.value[0] == "sub"
        if is_v and _subscript_or_none(n.kids[1]) != ["a"]:
            return True
    return False


def _subscript_or_none(node: Node):
    try:
        return _subscript(node)
    except FormulaError:
        return None


# Symbols that some random runs have and others lack: missing there is no reason to give up
# (linear attention has no scores or weights to name).
OP_SPECIFIC = {"b", "w", "M", "W", "score", "Attention", "e", "S", "A", "P", "alpha"}


def _mentions_indexed(node: Node, name: str) -> bool:
    return any(n.kind == "post" and n.kids[0].kind == "sym" and n.kids[0].value == name for n in node.walk())


def _op_name(inputs: Inputs) -> str:
    return inputs.label or inputs.op


def _finish(result, outcome: Outcome, tree, target, runs, definitions, free, condition=None) -> FormulaResult:
    result.status = outcome.status
    result.max_abs_diff = outcome.max_abs_diff
    result.first_diff = outcome.first_diff
    message = outcome.message
    if outcome.status == "pass":
        where = f"block at line {result.block_line}" if result.block_line else "random inputs"
        if target == "softmax":
            where = "random inputs"
        message = message or f"agrees with the kernel ({where}{', op ' + result.op if result.op else ''})"
    if outcome.convention == "column" and outcome.status in ("pass", "fail"):
        message += " [column-vector convention: rows do not conform]"
    if outcome.convention == COLUMN_STORED and outcome.status in ("pass", "fail"):
        message += " [column vectors, projections as the block stores them: W_qᵀ q]"
    if outcome.status == "fail":
        hint = find_hint(tree, target, runs, definitions, free, condition)
        if hint:
            result.hint = hint
            message += f"; hint: {hint}"
    if outcome.status == "unsupported" and not outcome.message:
        message = "not evaluated"
    result.message = message
    return result


def _unparsed(part: Part) -> tuple[str, str]:
    """A formula we cannot read is ``unsupported`` if it claims a compared quantity, else context."""
    refused = ("over ", "nested", "macro definitions", "derivatives", "integrals", "products", "limits")
    if part.error.startswith(refused):
        return "unsupported", part.error
    lhs = re.split(r"(?<![<>!:])=(?!=)", part.text, maxsplit=1)
    if len(lhs) < 2:
        return "context", "states no equation"
    try:
        target = target_of(parse(lhs[0], part.latex).kids[0])
    except FormulaError:
        target = None
    if target is None:
        return "context", "claims nothing the kernel computes"
    return "unsupported", part.error


def _nearest(line: int, blocks: list[tuple[int, Inputs | None]], heading_lines: list[int]) -> Inputs | None:
    """The first block after the formula in its section, else the last one before it."""
    start = max((h for h in heading_lines if h <= line), default=0)
    end = min((h for h in heading_lines if h > line), default=10**12)
    after = [(n, i) for n, i in blocks if line < n < end]
    before = [(n, i) for n, i in blocks if start <= n < line]
    if after:
        return after[0][1]
    if before:
        return before[-1][1]
    return None
