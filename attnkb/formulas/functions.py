"""Every function a formula may name, in one table: how it is spelled, how it is evaluated, and
what a left side naming it is compared with.

The lexer reads these spellings as one name (``softmax``, ``MultiHead``), the evaluator applies
them, and the checker takes a left side's target from them; adding a function is one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from attnkb import kernel
from attnkb.errors import FormulaError
from attnkb.formulas.tree import letter, sum_index
from attnkb.formulas.values import Val, as_vector, elementwise, reduce_axis, spend

if TYPE_CHECKING:  # the lexer reads this table: nothing above the values is imported
    from attnkb.formulas.evaluate import Evaluator
    from attnkb.formulas.grammar import Node

# evaluator, the call's argument list, its subscript (softmax_j, max_j) or None
Apply = Callable[["Evaluator", "Node", "Node | None"], Val]


@dataclass(frozen=True)
class Function:
    name: str  # the canonical spelling, used in messages about the function itself
    spellings: tuple[str, ...]  # every spelling that names it (after \mathrm, \text, \operatorname)
    apply: Apply | None = None  # None: a function we know of and do not evaluate (LayerNorm)
    target: str | None = None  # what ``f(…) = …`` is compared with: output, softmax, scores
    family: str | None = None  # for attention calls: the block kind, "attention" or "multihead"
    macro: bool = False  # also a LaTeX macro of its own (\exp, \max)
    letter: bool = False  # a letter (σ, φ, f) that is a function only when applied to (…)
    brackets: bool = False  # f[…] is a call too (softmax[QKᵀ/√d_k])
    subscript: bool = False  # takes an index (softmax_j, \max_j)


def one_argument(ev: Evaluator, args: Node, name: str) -> Val:
    if len(args.kids) != 1:
        raise FormulaError(f"{name} takes one argument")
    return ev.eval(args.kids[0])


def _elementwise(fn: Callable, name: str) -> Apply:
    def apply(ev: Evaluator, args: Node, sub: Node | None) -> Val:
        return elementwise(fn, one_argument(ev, args, name))

    return apply


def softmax(val: Val, axis: str | None, convention: str) -> Val:
    """Normalise ``axis``, else the last index, else the vector's entries (a matrix's rows)."""
    if axis is not None:
        if axis not in val.axes:
            raise FormulaError(f"softmax over {axis}, which the argument does not use")
        return Val(kernel.softmax(val.data, axis=val.axes.index(axis)), val.axes)
    if val.scalar:
        if not val.axes:
            raise FormulaError("softmax of a single number")
        return Val(kernel.softmax(val.data, axis=len(val.axes) - 1), val.axes)
    axis_no = -1 if convention == "row" or not val.vector else -2
    return Val(kernel.softmax(val.data, axis=axis_no), val.axes)


def _softmax(ev: Evaluator, args: Node, sub: Node | None) -> Val:
    return softmax(one_argument(ev, args, "softmax"), letter(sub) if sub is not None else None, ev.convention)


def _extreme(name: str) -> Apply:
    how, pairwise = (np.max, np.maximum) if name == "max" else (np.min, np.minimum)

    def apply(ev: Evaluator, args: Node, sub: Node | None) -> Val:
        vals = [ev.eval(a) for a in args.kids]
        if sub is not None:
            var, cond = sum_index(sub)
            if len(vals) != 1:
                raise FormulaError(f"{name} takes one argument")
            return reduce_axis(vals[0], var, how, ev.condition(cond) if cond is not None else None)
        if len(vals) == 2:
            return elementwise(pairwise, *vals)
        if len(vals) == 1 and vals[0].vector:  # max(x): its largest entry
            spend(vals[0].data.size)
            return Val(how(as_vector(vals[0]), axis=-1), vals[0].axes)
        raise FormulaError(f"{name} needs two arguments or an index")

    return apply


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _attention(ev: Evaluator, args: Node, sub: Node | None) -> Val:
    return ev.kernel_call([ev.eval(a) for a in args.kids], "attention")


def _multihead(ev: Evaluator, args: Node, sub: Node | None) -> Val:
    return ev.kernel_call([ev.eval(a) for a in args.kids], "multihead")


def _score(ev: Evaluator, args: Node, sub: Node | None) -> Val:
    return ev.score([ev.eval(a) for a in args.kids])


def _concat(ev: Evaluator, args: Node, sub: Node | None) -> Val:
    return ev.concat(args)


ATTENTION: tuple[str, ...] = (
    "Attention",
    "Attn",
    "SelfAttention",
    "SelfAttn",
    "CrossAttention",
    "CrossAttn",
    "attention",
    "attn",
)
ATTENTION += ("ScaledAttention", "ScaledDotProductAttention", "MaskedAttention", "MaskedSelfAttention")
ATTENTION += ("CausalAttention", "SWA", "SlidingWindowAttention", "LocalAttention")
MULTIHEAD = ("MultiHead", "MultiHeadAttention", "MHA", "MultiHeadAttn", "MultiHeadSelfAttention", "MHSA")
FUNCTIONS = (
    Function("softmax", ("softmax", "Softmax"), _softmax, "softmax", brackets=True, subscript=True),
    Function("exp", ("exp",), _elementwise(np.exp, "exp"), macro=True, brackets=True),
    Function("log", ("log", "ln"), _elementwise(np.log, "log"), macro=True),
    Function("tanh", ("tanh",), _elementwise(np.tanh, "tanh"), macro=True, brackets=True),
    Function("sigma", ("sigma",), _elementwise(_sigmoid, "sigma"), letter=True),
    Function("sigmoid", ("sigmoid",), _elementwise(_sigmoid, "sigmoid")),
    Function("sqrt", ("sqrt",), _elementwise(np.sqrt, "sqrt")),
    Function("phi", ("phi", "varphi"), _elementwise(kernel.efficient.elu_plus_one, "phi"), letter=True),
    Function("relu", ("relu", "ReLU"), _elementwise(_relu, "relu")),
    Function("max", ("max",), _extreme("max"), macro=True, subscript=True),
    Function("min", ("min",), _extreme("min"), macro=True, subscript=True),
    Function("score", ("score",), _score, "scores"),
    Function("Attention", ATTENTION, _attention, "output", "attention"),
    Function("MultiHead", MULTIHEAD, _multihead, "output", "multihead"),
    Function("Concat", ("Concat", "concat", "cat"), _concat),
    # known, not evaluated: a formula using one is unsupported
    Function("sin", ("sin",), macro=True),
    Function("cos", ("cos",), macro=True),
    Function("arg", ("arg",), macro=True),
    Function("argmax", ("argmax",), macro=True),
    Function("elu", ("elu",)),
    Function("abs", ("abs",)),
    Function("diag", ("diag",)),
    Function("LayerNorm", ("LayerNorm",)),
    Function("FFN", ("FFN",)),
    Function("MLP", ("MLP",)),
    Function("Var", ("Var",)),
    Function("f", ("f",), letter=True),  # the letters notes define functions with: f(x) := …
    Function("g", ("g",), letter=True),
    Function("m", ("m",), letter=True),
    Function("ell", ("ell", "l"), letter=True),
)
# Quantities some notes name in words (``Output = softmax(…) V``, ``weights = …``): what each is.
QUANTITIES = {"Output": "output", "output": "output", "weights": "weights", "Weights": "weights"}
QUANTITIES |= {"Score": "scores", "Scores": "scores", "scores": "scores"}
BY_SPELLING = {spelling: f for f in FUNCTIONS for spelling in f.spellings}


def function(name: str) -> Function | None:
    """The function ``name`` spells, if it is one."""
    return BY_SPELLING.get(name)


def is_function(name: str, canonical: str) -> bool:
    f = BY_SPELLING.get(name)
    return f is not None and f.name == canonical


def family(name: str) -> str | None:
    """``attention`` or ``multihead`` for a call compared with a block's output, else None."""
    f = BY_SPELLING.get(name)
    return f.family if f is not None else None


# what the lexer needs: words read as one name, macros that name a function, letters that take (…)
WORDS = frozenset(s for f in FUNCTIONS if not f.letter for s in f.spellings)
MACROS = frozenset(s for f in FUNCTIONS if f.macro for s in f.spellings)
LETTERS = frozenset(s for f in FUNCTIONS if f.letter for s in f.spellings)
BRACKETS = frozenset(s for f in FUNCTIONS if f.brackets for s in f.spellings)
