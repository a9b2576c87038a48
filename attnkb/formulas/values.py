"""Values of formulas: NumPy arrays whose leading axes are named indices.

``α_{ij}`` is an array with axes ``("i", "j")`` and a scalar inside; ``q_i`` has axis ``i`` and
a row vector (1, d) inside; ``Q`` has no axes and a matrix inside. Vectors keep their
orientation (row or column) so that both conventions can be evaluated; products line up named
axes the way einsum does. Every allocation is checked against the element budget first.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from attnkb.errors import FormulaError
from attnkb.plural import counted

MAX_ELEMENTS = 1_000_000
# Arithmetic (multiply-adds, element operations) one evaluation may do: the element budget
# bounds memory, this bounds time (a chain of n×n products is cheap in memory, slow in time).
MAX_WORK = 100_000_000


class ShapeError(Exception):
    """Shapes that do not conform: a wrong formula (or the other vector convention)."""


class WorkLimit(FormulaError):
    """An evaluation that would take too long: unsupported, never a failure."""


_open_budgets: list[list[int]] = []  # [spent, limit] of every work budget open now


@contextmanager
def work_budget(limit: int = MAX_WORK):
    """Count the arithmetic done inside; ``spend`` raises WorkLimit past ``limit``."""
    _open_budgets.append([0, limit])
    try:
        yield
    finally:
        _open_budgets.pop()


def spend(operations: int) -> None:
    for entry in _open_budgets:
        entry[0] += operations
        if entry[0] > entry[1]:
            raise WorkLimit(f"needs over {entry[1]:,} operations to evaluate")


def work_left() -> bool:
    """Whether every open budget still has room (a search over variants stops when not)."""
    return all(spent <= limit for spent, limit in _open_budgets)


@dataclass
class Val:
    data: np.ndarray  # named index axes first, then the inner shape: () or (rows, cols)
    axes: tuple[str, ...] = ()

    @property
    def inner(self) -> tuple[int, ...]:
        return self.data.shape[len(self.axes) :]

    @property
    def scalar(self) -> bool:
        return not self.inner

    @property
    def vector(self) -> bool:
        return len(self.inner) == 2 and 1 in self.inner

    def lengths(self) -> dict[str, int]:
        return dict(zip(self.axes, self.data.shape, strict=False))


def scalar(x: float) -> Val:
    return Val(np.asarray(float(x)))


def matrix(a: np.ndarray) -> Val:
    a = np.asarray(a, dtype=float)
    return Val(a.reshape(1, -1) if a.ndim == 1 else a)


def budget(shape) -> None:
    total = 1
    for n in shape:
        total *= int(n)
        if total > MAX_ELEMENTS:
            raise FormulaError(f"needs arrays over {MAX_ELEMENTS:,} elements")


def align(*vals: Val, inner_pad: bool = True) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """Lay every value out over the union of their axes (length 1 where a value lacks one).

    With ``inner_pad`` a scalar inside gains (1, 1) so that it broadcasts over matrices.
    """
    axes: list[str] = []
    length: dict[str, int] = {}
    for v in vals:
        for name, n in v.lengths().items():
            if name in length and length[name] != n:
                raise ShapeError(f"index {name} runs over {length[name]} and {counted(n, 'entry')}")
            if name not in length:
                length[name] = n
                axes.append(name)
    depth = max(len(v.inner) for v in vals) if inner_pad else 0
    out = []
    for v in vals:
        order = [v.axes.index(a) for a in axes if a in v.axes]
        inner_dims = list(range(len(v.axes), v.data.ndim))
        data = np.transpose(v.data, order + inner_dims) if order != list(range(len(order))) else v.data
        shape = [length[a] if a in v.axes else 1 for a in axes]
        inner = list(v.inner)
        if inner_pad and len(inner) < depth:
            inner = [1] * (depth - len(inner)) + inner
        out.append(data.reshape(shape + inner))
    budget([length[a] for a in axes] + [max(int(np.prod(x.shape[len(axes) :])) for x in out)])
    return tuple(axes), out


def elementwise(fn, *vals: Val) -> Val:
    inners = {v.inner for v in vals if v.inner}
    if len(inners) > 1:
        a, b = sorted(inners)[:2]
        raise ShapeError(f"cannot combine {_shape(a)} with {_shape(b)}")
    axes, arrays = align(*vals)
    spend(int(np.prod(np.broadcast_shapes(*(a.shape for a in arrays)))))
    with np.errstate(all="ignore"):
        return Val(np.asarray(fn(*arrays), dtype=float), axes)


def _shape(inner: tuple[int, ...]) -> str:
    return "a scalar" if not inner else f"a {inner[0]}×{inner[1]} matrix"


def matmul(a: Val, b: Val, convention: str, dot: bool = False) -> Val:
    """Matrix product, or a dot product where two vectors meet.

    ``q · k`` is a dot product whatever the orientation. Under the row convention ``a^T b`` of
    two vectors (column times row) is read as the dot product its author meant; under the
    column convention it is the outer product (``φ(k_j) v_j^T``).
    """
    if a.scalar or b.scalar:
        return elementwise(np.multiply, a, b)
    (ar, ac), (br, bc) = a.inner, b.inner
    if a.vector and b.vector:
        na, nb = max(ar, ac), max(br, bc)
        if dot or (convention == "row" and ac == 1 and br == 1 and ar > 1 and bc > 1):
            if na != nb:
                raise ShapeError(f"vectors of lengths {na} and {nb}")
            axes, (x, y) = align(a, b, inner_pad=False)
            xs = x.reshape((*x.shape[: len(axes)], na))
            ys = y.reshape((*y.shape[: len(axes)], nb))
            budget(np.broadcast_shapes(xs.shape, ys.shape))
            spend(int(np.prod(np.broadcast_shapes(xs.shape, ys.shape))))
            return Val(np.sum(xs * ys, axis=-1), axes)
    if ac != br:
        raise ShapeError(f"a {ar}×{ac} matrix times a {br}×{bc} matrix")
    axes, (x, y) = align(a, b, inner_pad=False)
    lead = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    budget((*lead, ar, bc))
    budget((*lead, ar, ac, 1))
    spend(int(np.prod(lead)) * ar * ac * bc)
    out = np.matmul(x, y)
    if out.shape[-2:] == (1, 1):
        out = out[..., 0, 0]
    return Val(out, axes)


def transpose(v: Val) -> Val:
    if v.scalar:
        return v
    return Val(np.swapaxes(v.data, -1, -2), v.axes)


def reduce_axis(v: Val, name: str, how=np.sum, where: Val | None = None) -> Val:
    if name not in v.axes:
        raise FormulaError(f"the sum over {name} has no term that uses {name}")
    data = v.data
    axes = v.axes
    if where is not None:
        axes, (data, mask) = align(v, where, inner_pad=True)
        fill = 0.0 if how is np.sum else (-np.inf if how is np.max else np.inf)
        data = np.where(mask.astype(bool), data, fill)
    k = axes.index(name)
    spend(data.size)
    return Val(how(data, axis=k), axes[:k] + axes[k + 1 :])


def index_inner(v: Val, name: str) -> Val:
    """``softmax(x)_j``: the entries of a vector result as index ``j``."""
    if not v.vector:
        raise FormulaError("only a vector can be indexed by one subscript here")
    flat = v.data.reshape((*v.data.shape[: len(v.axes)], -1))
    if name in v.axes:
        raise FormulaError(f"index {name} is used twice")
    return Val(flat, (*v.axes, name))


def as_vector(v: Val) -> np.ndarray:
    return v.data.reshape((*v.data.shape[: len(v.axes)], -1))
