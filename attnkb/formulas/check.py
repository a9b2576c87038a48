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
from attnkb.formulas.about import About
from attnkb.formulas.compare import Outcome, evaluate_links
from attnkb.formulas.evaluate import COLUMN_STORED, Evaluator
from attnkb.formulas.find import find_formulas
from attnkb.formulas.functions import QUANTITIES, family
from attnkb.formulas.grammar import Node, parse
from attnkb.formulas.inputs import RANDOM_OPS, Inputs, random_inputs, score_family
from attnkb.formulas.parts import Part, definitions_of, prepare
from attnkb.formulas.shapes import shape_problem, stated_shape
from attnkb.formulas.slips import (
    MASK_MISSING,
    MASK_NAMED,
    SCALE_MISSING,
    SUM_INDEX,
    find_hint,
    sum_over_kept_index,
)
from attnkb.formulas.targets import about_attention, generic_name, lhs_value, target_of
from attnkb.formulas.tree import contains, mentions, mentions_indexed, paths, subscript_or_none
from attnkb.formulas.values import work_left

MAX_FORMULAS = 500  # per note: real notes state a few dozen; a generated one must not take minutes
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


def check_formulas(
    path: str,
    body: str,
    first_line: int,
    block_inputs: list[tuple[int, Inputs | None]],
    heading_lines: list[int],
    about: About | None = None,
) -> list[FormulaResult]:
    """Every formula of a note body: found, parsed, bound to the nearest block, compared
    (judged against the score function ``about`` says the note is about)."""
    about = about or About()
    parts: list[Part] = []
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
            about.scaled(part.line),
            about.masked(part.line),
        )
        if key not in seen:
            seen[key] = _check_part(path, part, definitions, block_inputs, heading_lines, about)
        results.append(replace(seen[key], line=part.line))
    return [*results, skipped] if skipped else results


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(text: str) -> str:
    """The formula as a row shows it: one line, no control characters (it reaches terminals)."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def _check_part(path, part: Part, definitions, block_inputs, heading_lines, about: About) -> FormulaResult:
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
    if target is not None and generic_name(tree.kids[0]) and not about_attention(tree.kids[1:]):
        target = result.target = None
    if target is None:
        result.message = "claims nothing the kernel computes"
        return result
    if all(not any(n.kind in ("sym", "word") for n in link.walk()) for link in tree.kids[1:]):
        result.target = None
        result.message = "a value, not a formula (numbers are checked in attention blocks)"
        return result
    shape, tree, dropped = _exact_links(tree)
    if set(tree.value) != {"="}:
        result.status, result.target = "context", None
        result.message = "an approximation or inequality, not compared"
        return result
    wrong_index = sum_over_kept_index(tree)
    if wrong_index:
        outcome = Outcome("fail", f"sums over {wrong_index}, an index the left side keeps")
        result.hint = SUM_INDEX.format(i=wrong_index)
        result.status, result.message = "fail", f"{outcome.message}; hint: {result.hint}"
        return result
    checked = _check_tree(result, part, tree, target, definitions, block_inputs, heading_lines, about, shape)
    if dropped and checked.status in ("pass", "fail"):
        checked.message += f" (the {dropped} link is context, not compared)"
    return checked


def _exact_links(tree: Node) -> tuple[list | None, Node, str]:
    """``Y = AV ≈ Φ(Q)(Φ(K)ᵀV)``: the exact links, and what follows them (a stated shape
    ``∈ ℝ^{n×d}``, an approximation) set apart."""
    ops = tree.value
    if not ops or ops[0] != "=" or set(ops) == {"="}:
        return None, tree, ""
    cut = next(k for k, op in enumerate(ops) if op != "=")
    shape = stated_shape(tree.kids[-1]) if ops[cut] == "in" and cut == len(ops) - 1 else None
    dropped = "" if shape is not None else {"~=": "≈", "~": "∼"}.get(ops[cut], ops[cut])
    return shape, Node("rel", tree.kids[: cut + 1], ops[:cut]), dropped


def _check_tree(result, part, tree, target, definitions, block_inputs, heading_lines, about, shape):
    # the formula's own left side is what is checked, never defined by the formula itself
    # (else S = KQᵀ "agreed" with inputs that have no S of their own)
    definitions = {k: d for k, d in definitions.items() if not any(d.rhs is link for link in tree.kids[1:])}
    if target == "softmax":
        outcome = evaluate_links(tree, None, definitions, True, part.condition)
        tempered = [t for t in ("T", "tau") if mentions(tree, t) and not mentions(tree.kids[0], t)]
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
                if about.masked(part.line):
                    outcome = Outcome(
                        "fail", f"agrees only without the block's mask, in a section about {MASK_NAMED}"
                    )
                    result.hint = MASK_MISSING
        outcome = _with_shape(outcome, tree, block, definitions, shape)
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
        shaped = [(i, _with_shape(o, tree, i, definitions, shape)) for i, o in passed]
        inputs, outcome = next(((i, o) for i, o in shaped if o.status == "pass"), shaped[0])
        result.op = _op_name(inputs)
        named = _named_slip(tree, inputs, about, part.line, target)
        if named is not None and outcome.status == "pass":
            outcome, result.hint = named
            scaled = [(i, o) for i, o in outcomes if i.op == "scaled_dot" and o.first_diff]
            if scaled:
                outcome.max_abs_diff, outcome.first_diff = scaled[0][1].max_abs_diff, scaled[0][1].first_diff
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


def _with_shape(outcome: Outcome, tree: Node, inputs: Inputs | None, definitions, shape) -> Outcome:
    """A passing formula whose stated shape is not its value's fails."""
    if shape is None or outcome.status != "pass" or inputs is None:
        return outcome
    ev = Evaluator(inputs, outcome.convention, definitions, False)
    try:
        val = lhs_value(ev, tree.kids[0], inputs)
    except FormulaError:
        return outcome
    dims = tuple(val.data.shape[: len(val.axes)]) + tuple(d for d in val.inner if d != 1 or not val.axes)
    problem = shape_problem(shape, dims, inputs)
    return outcome if problem is None else Outcome("fail", problem, 0.0, convention=outcome.convention)


def _named_slip(tree: Node, inputs: Inputs, about: About, line: int, target) -> tuple[Outcome, str] | None:
    """A formula that agrees with a score function other than the one its note names."""
    if inputs.op == "dot" and about.scaled(line):
        message = (
            "agrees only with dot-product attention (no scale), in a note about scaled dot-product attention"
        )
        return Outcome("fail", message), SCALE_MISSING
    unmasked = inputs.mask is None and target in ("output", "weights") and about.masked(line)
    if unmasked and not any(mentions(tree, s) for s in ("M", "mask")) and not contains(tree, "inf"):
        return Outcome("fail", f"agrees only without a mask, in a section about {MASK_NAMED}"), MASK_MISSING
    return None


def _random_runs(tree: Node) -> list[Inputs]:
    """Random inputs for each op a formula may be about."""
    same = mentions_indexed(tree, "h") and not _mentions_values(tree)
    # self-attention inputs (Q = K = V) only for formulas that do not tell queries from keys:
    # with them, softmax(KQᵀ)V would "agree"
    # (in a subscript, W_Q names a projection, not the queries)
    named = {n.value for _, n in paths(tree) if n.kind == "sym"}
    both = bool(named & set("Qqs")) and bool(named & set("Kkh"))
    ops = [op for op in RANDOM_OPS if not (both and op == "self")]
    if "X" in named and "W" in named:  # XW_Q (XW_K)ᵀ: self-attention through projections
        ops.append("projected")
    if _about_heads(tree):  # MultiHead(…) = Concat(head_1, …, head_h) W^O: random heads only
        ops = ["multihead" if both or not mentions(tree, "X") else "multihead-self"]
    return [random_inputs(op, values_are_keys=same) for op in ops]


def _other_family(tree: Node, block: Inputs, definitions, condition) -> str | None:
    """The op of another score family the formula agrees with on random inputs, if any."""
    mine = score_family(block.op)
    for inputs in _random_runs(tree):
        if score_family(inputs.op) in (mine, "-") or not work_left():
            continue
        if evaluate_links(tree, inputs, definitions, False, condition).status == "pass":
            return _op_name(inputs)
    return None


def _about_heads(tree: Node) -> bool:
    return any(
        n.kind in ("call", "word") and family(n.value[0] if n.kind == "call" else n.value) == "multihead"
        for n in tree.kids[0].walk()
    ) or contains(tree, "call", "Concat")


def _mentions_values(tree: Node) -> bool:
    """V, or v_j (v_a is a parameter, not a value)."""
    for n in tree.walk():
        if n.kind == "sym" and n.value == "V":
            return True
        is_v = n.kind == "post" and n.kids[0].kind == "sym" and n.kids[0].value == "v" and n.value[0] == "sub"
        if is_v and subscript_or_none(n.kids[1]) != ["a"]:
            return True
    return False


# Symbols that some random runs have and others lack: missing there is no reason to give up
# (linear attention has no scores or weights to name).
OP_SPECIFIC = {"b", "w", "M", "W", "X", "score", "Attention", "e", "S", "A", "P", "alpha", "a", *QUANTITIES}


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
        hint = result.hint or find_hint(tree, target, runs, definitions, free, condition)
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
