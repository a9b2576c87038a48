"""Comparing a formula's sides with the kernel: every link of ``a = b = c``, under each vector
convention, value by value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from attnkb.errors import FormulaError
from attnkb.formulas.evaluate import COLUMN_STORED, Definition, Evaluator, Unbound
from attnkb.formulas.grammar import Node
from attnkb.formulas.inputs import Inputs
from attnkb.formulas.targets import lhs_value
from attnkb.formulas.tree import contains
from attnkb.formulas.values import ShapeError, Val, align, work_budget, work_left

RTOL, ATOL = 1e-6, 1e-8


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


def sigma_as_softmax(tree: Node) -> Node | None:
    """The tree with every σ(…) read as softmax (some notes name softmax σ), or None if none."""
    if not contains(tree, "call", "sigma"):
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
    softmax_named_sigma = sigma_as_softmax(tree) if outcome.status == "fail" else None
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
                lhs = lhs_value(ev, tree.kids[0], inputs)
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
            if worst is None:  # no link compared: each was unbound, and skipped says why
                outcome = failed or skipped
                assert outcome is not None, "a comparison has at least one right-hand side"
                return outcome
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
    if contains(tree, "stack"):  # W_a [s; h]: our W_a is sized for s alone, not for the two stacked
        return Outcome("unsupported", "a matrix applied to [a; b] has no value here")
    return Outcome("fail", f"shapes do not conform under any convention: {errors[0]}", convention="row")
