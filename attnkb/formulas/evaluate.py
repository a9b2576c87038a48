"""Evaluating a formula tree with NumPy, its symbols bound to a block's (or random) inputs.

Conventions are those of the notes: rows are vectors (``Q = XW_q``); capital letters are
matrices; ``q_i``, ``k_j``, ``\\alpha_{ij}`` carry their indices as named axes; ``\\sum_j``
reduces axis ``j``; ``softmax`` normalises the last axis, or the one it is subscripted with.
The column convention (``W_a s_t``, vectors as columns, projections transposed) is the
fallback when rows do not conform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from attnkb import kernel
from attnkb.errors import FormulaError
from attnkb.formulas.functions import QUANTITIES, function
from attnkb.formulas.grammar import Node
from attnkb.formulas.inputs import Inputs
from attnkb.formulas.lexer import WORDS
from attnkb.formulas.tree import letter, number, previous_step, subscript, sum_index
from attnkb.formulas.values import (
    ShapeError,
    Val,
    align,
    as_vector,
    budget,
    elementwise,
    index_inner,
    matmul,
    matrix,
    reduce_axis,
    scalar,
    spend,
    transpose,
)
from attnkb.plural import counted

HIDDEN_Q, HIDDEN_K = "·q", "·k"  # the one query / key a bare ``q`` / ``k`` stands for
WEIGHT_SYMS = {"A", "P", "alpha"}
OUTPUT_ROWS = {"c", "o", "y"}
FREE_SCALARS = {"c", "T", "tau", "beta", "lambda", "t", "a", "C"}
MAX_DEFINITION_DEPTH = 6
COLUMN_STORED = "column-stored"
SIDES = {"e": "h", "enc": "h", "d": "s", "dec": "s"}  # h^e encoder states (keys), h^d decoder (queries)
# Q_dec, K_enc, V_enc: the same matrices, named for the side they come from
SIDE_NAMES = {"Q": ("dec", "decoder"), "K": ("enc", "encoder"), "V": ("enc", "encoder")}


class Unbound(FormulaError):
    """A symbol with no value here: the formula is unsupported (never a failure).

    ``symbol`` names it, so that random inputs can tell "this op has no b" from "no op has X".
    """

    def __init__(self, message: str, symbol: str = ""):
        super().__init__(message)
        self.symbol = symbol


@dataclass
class Definition:
    rhs: Node
    params: tuple[str, ...]  # the LHS's index letters: head_i → ("i",); M_{ij} → ("i", "j")
    unreadable: str = ""  # why the note's definition could not be read (the symbol stays unbound)
    function: bool = False  # f(x) := …: params are the arguments' names, not index letters


@dataclass
class Evaluator:
    inputs: Inputs | None
    convention: str = "row"
    definitions: dict[str, Definition] = field(default_factory=dict)
    free: bool = False  # identities: unbound symbols get seeded random values
    lengths: dict[str, int] = field(default_factory=dict)
    env: dict[str, int] = field(default_factory=dict)  # index letter → a number (head_1)
    depth: int = 0
    kept: tuple[str, ...] | None = None  # the left side's indices, once it is evaluated
    bindings: dict[str, Val] = field(default_factory=dict)  # a defined function's arguments

    # --- the tree ----------------------------------------------------------------------------

    def eval(self, node: Node) -> Val:
        method = getattr(self, "_" + node.kind, None)
        if method is None:
            raise FormulaError(f"cannot evaluate {node.kind}")
        val = method(node)
        for name, n in val.lengths().items():
            self.lengths.setdefault(name, n)
        return val

    def _num(self, node: Node) -> Val:
        return scalar(float(node.value))

    def _inf(self, node: Node) -> Val:
        return scalar(np.inf)

    def _sym(self, node: Node) -> Val:
        return self.symbol(node.value, [], None, "")

    _word = _sym

    def _add(self, node: Node) -> Val:
        return elementwise(np.add, self.eval(node.kids[0]), self.eval(node.kids[1]))

    def _sub(self, node: Node) -> Val:
        return elementwise(np.subtract, self.eval(node.kids[0]), self.eval(node.kids[1]))

    def _neg(self, node: Node) -> Val:
        v = self.eval(node.kids[0])
        return Val(-v.data, v.axes)

    def _mul(self, node: Node) -> Val:
        extreme = _indexed_extreme(node.kids[0]) if node.value == "jux" else None
        if extreme is not None:  # \max_j x_j: the largest x_j
            how, (var, cond) = extreme
            where = self.condition(cond) if cond is not None else None
            return reduce_axis(self.eval(node.kids[1]), var, how, where)
        a, b = self.eval(node.kids[0]), self.eval(node.kids[1])
        if node.value == "had":
            return elementwise(np.multiply, a, b)
        if node.value == "times" and a.vector and b.vector:  # Q × K^T is a product; u × v is not
            raise FormulaError("× between vectors (a cross product) is not evaluated")
        return matmul(a, b, self.convention, dot=node.value in ("dot", "star"))

    def _div(self, node: Node) -> Val:
        a, b = self.eval(node.kids[0]), self.eval(node.kids[1])
        if not b.scalar:
            raise FormulaError("dividing by a vector or matrix (an inverse) is not evaluated")
        return elementwise(np.divide, a, b)

    def _sqrt(self, node: Node) -> Val:
        return elementwise(np.sqrt, self.eval(node.kids[0]))

    def _abs(self, node: Node) -> Val:
        v = self.eval(node.kids[0])
        if not v.scalar:
            raise FormulaError("|…| of a vector or matrix is not evaluated")
        return Val(np.abs(v.data), v.axes)

    def _norm(self, node: Node) -> Val:
        v = self.eval(node.kids[0])
        if not v.vector:
            raise FormulaError("‖…‖ is evaluated for vectors only")
        return Val(np.linalg.norm(as_vector(v), axis=-1), v.axes)

    def _vector(self, node: Node) -> Val:
        kids = node.kids
        index = _running_index(kids)
        if index is not None:  # [e^{x_1}, …, e^{x_B}]: the last item over its index, as a vector
            val = self.eval(kids[-1])
            if val.axes != (index,) or not val.scalar:
                raise FormulaError("[a_1, …, a_n] is evaluated when each item is a number")
            return Val(val.data[None, :] if self.convention == "row" else val.data[:, None])
        vals = [self.eval(k) for k in kids]
        if not vals or any(not v.scalar or v.axes for v in vals):
            raise FormulaError("[…] is evaluated as a list of numbers only")
        return Val(np.array([[float(v.data) for v in vals]]))

    def _stack(self, node: Node) -> Val:
        if len(node.kids) > 2:  # [head_1; …; head_h]: the heads side by side, as Concat
            return self.concat(Node("args", node.kids))
        a, b = self.eval(node.kids[0]), self.eval(node.kids[1])
        if not (a.vector and b.vector):
            raise FormulaError("[a; b] is evaluated for two vectors only")
        axes, (x, y) = align(a, b, inner_pad=False)
        x, y = x.reshape((*x.shape[: len(axes)], -1)), y.reshape((*y.shape[: len(axes)], -1))
        lead = np.broadcast_shapes(x.shape[:-1], y.shape[:-1])
        joined = np.concatenate(
            [np.broadcast_to(x, lead + x.shape[-1:]), np.broadcast_to(y, lead + y.shape[-1:])], -1
        )
        row = self.convention == "row"
        return Val(joined[..., None, :] if row else joined[..., :, None], axes)

    def _rel(self, node: Node) -> Val:
        if len(node.kids) == 1:
            return self.eval(node.kids[0])
        return self.condition(node)

    def _items(self, node: Node) -> Val:
        if len(node.kids) != 1:
            raise FormulaError("a list is not a value")
        return self.eval(node.kids[0])

    def _dots(self, node: Node) -> Val:
        raise FormulaError("… is evaluated only inside Concat(head_1, …, head_h)")

    # --- scripts: indices, powers, transposes -------------------------------------------------

    def _post(self, node: Node) -> Val:
        base, scripts = node.kids[0], list(zip(node.value, node.kids[1:], strict=True))
        if base.kind in ("sym", "word"):
            name, sub, sup, primes = base.value, None, None, ""
            while scripts:
                kind, script = scripts[0]
                if kind == "sub" and sub is None:
                    sub = script
                elif kind == "sup" and sup is None and name in ("W", "U") and letter(script):
                    sup = letter(script)
                elif kind == "sup" and name == "h" and (side := letter(script)) is not None and side in SIDES:
                    name = SIDES[side]  # h_j^e: an encoder state; h_{i-1}^d: the decoder's
                elif kind == "prime":
                    primes += "'"
                else:
                    break
                scripts.pop(0)
            if name == "e" and sub is None and scripts and scripts[0][0] == "sup":
                val = elementwise(np.exp, self.eval(scripts.pop(0)[1]))
            elif name == "s" and (previous := previous_step(sub)) is not None:
                val = self.symbol(name, [previous], sup, primes)
            else:
                val = self.symbol(name, subscript(sub), sup, primes)
        else:
            val = self.eval(base)
        for kind, script in scripts:
            if kind == "tr":
                val = transpose(val)
            elif kind == "sup":
                val = self.power(val, self.eval(script))
            elif kind == "sub" and (index := letter(script)):
                val = index_inner(val, index)
            else:
                raise FormulaError("this subscript or prime is not evaluated")
        return val

    def power(self, base: Val, exponent: Val) -> Val:
        if not base.scalar:
            raise FormulaError("powers of matrices and vectors are not evaluated")
        if not exponent.scalar:
            raise FormulaError("a power must be a number")
        return elementwise(np.power, Val(base.data.astype(float), base.axes), exponent)

    # --- sums, cases, conditions ---------------------------------------------------------------

    def _sum(self, node: Node) -> Val:
        body, scripts = node.kids[0], dict(zip(node.value, node.kids[1:], strict=False))
        sub = scripts.get("sub")
        if sub is None:
            return self._implicit_sum(body)
        var, cond = sum_index(sub)
        val = self.eval(body)
        where = self.condition(cond) if cond is not None else None
        return reduce_axis(val, var, np.sum, where)

    def _implicit_sum(self, body: Node) -> Val:
        """``c_t = Σ α_ti h_i``: the sum runs over the one index the left side does not keep."""
        val = self.eval(body)
        kept = self.kept
        free = [a for a in val.axes if kept is not None and a not in kept and not a.startswith("·")]
        if kept is None or len(free) != 1:
            raise FormulaError("a sum without an index (Σ_j) is not evaluated")
        return reduce_axis(val, free[0], np.sum)

    def _cases(self, node: Node) -> Val:
        values, conds, default = [], [], None
        for row in node.kids:
            value = self.eval(row.kids[0])
            rels = row.kids[1].kids
            if not rels:
                default = value
                continue
            cond = self.condition(rels[0])
            for rel in rels[1:]:
                cond = elementwise(np.logical_and, cond, self.condition(rel))
            values.append(value)
            conds.append(cond)
        if not values:
            raise FormulaError("cases without a condition")
        extra = [default] if default is not None else []
        axes, arrays = align(*values, *conds, *extra)
        n = len(values)
        fallback = arrays[-1] if extra else np.nan
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        with np.errstate(all="ignore"):
            out = np.select(
                [np.broadcast_to(c.astype(bool), shape) for c in arrays[n : 2 * n]],
                [np.broadcast_to(v, shape) for v in arrays[:n]],
                np.broadcast_to(fallback, shape),
            )
        if not extra and np.isnan(out).any():
            raise FormulaError("the cases do not cover every entry")
        return Val(np.asarray(out, dtype=float), axes)

    def condition(self, node: Node) -> Val:
        if node.kind != "rel" or len(node.kids) < 2:
            raise FormulaError("a condition must be a comparison")
        tests = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater, "=": np.equal}
        tests["!="] = np.not_equal
        result: Val | None = None
        vals = [self.eval(k) for k in node.kids]
        for op, a, b in zip(node.value, vals, vals[1:], strict=False):
            if op not in tests:
                raise FormulaError(f"the condition {op!r} is not evaluated")
            test = elementwise(tests[op], a, b)
            result = test if result is None else elementwise(np.logical_and, result, test)
        assert result is not None  # two sides at least: one test
        return result

    # --- functions -----------------------------------------------------------------------------

    def _call(self, node: Node) -> Val:
        name, kinds = node.value
        args, scripts = node.kids[0], dict(zip(kinds, node.kids[1:], strict=False))
        if set(scripts) - {"sub"}:
            raise FormulaError(f"{name} with a superscript is not evaluated")
        sub = scripts.get("sub")
        d = self.definitions.get(name)
        if d is not None and d.function and sub is None:
            return self.apply_defined(name, d, [self.eval(a) for a in args.kids])
        f = function(name)
        if f is None or f.apply is None:
            for arg in args.kids:  # an unbound argument is the reason to give, as for any call
                self.eval(arg)
            raise Unbound(f"function {name} is not known")
        if sub is not None and not f.subscript:
            raise FormulaError(f"{name} with a subscript is not evaluated")
        return f.apply(self, args, sub)

    def score(self, args: list[Val]) -> Val:
        if len(args) != 2 or self.inputs is None:
            raise Unbound("score(·, ·) needs two arguments and a block or random inputs")
        a, b = (self._kernel_rows(x) for x in args)
        shared = set(args[0].axes) & set(args[1].axes)
        if shared:
            raise FormulaError("score of two vectors sharing an index is not evaluated")
        try:
            s = self.inputs.scores_of(a[0], b[0])
        except (LookupError, kernel.KernelError) as exc:
            raise Unbound(str(exc), "score") from None
        (na, ia), (nb, ib) = a[1], b[1]
        if ia and ib:
            return Val(s.reshape(na + nb), args[0].axes + args[1].axes)
        raise FormulaError("score of whole matrices is written S = … here")

    def _kernel_rows(self, v: Val) -> tuple[np.ndarray, tuple[tuple[int, ...], bool]]:
        """A value as rows for the kernel, and (its axis lengths, whether it was a vector)."""
        lead = v.data.shape[: len(v.axes)]
        if v.vector:
            flat = v.data.reshape((*lead, -1))
            budget(flat.shape)
            return flat.reshape(-1, flat.shape[-1]), (lead, True)
        raise FormulaError("score(·, ·) takes vectors such as q and k_j")

    def kernel_call(self, args: list[Val], which: str) -> Val:
        if self.inputs is None or len(args) != 3 or any(a.axes or a.scalar or a.vector for a in args):
            raise Unbound("Attention(·, ·, ·) is evaluated on three matrices with a block's score")
        q, k, v = (a.data for a in args)
        spend(q.shape[0] * k.shape[0] * (q.shape[-1] + v.shape[-1]))
        try:
            fn = self.inputs.attention if which == "attention" else self.inputs.multihead
            return matrix(fn(q, k, v))
        except kernel.KernelError as exc:
            raise ShapeError(str(exc)) from None
        except LookupError as exc:
            raise Unbound(str(exc), "Attention") from None

    def concat(self, args_node: Node) -> Val:
        items = list(args_node.kids)
        if len(items) >= 3 and items[-2].kind == "dots":  # head_1, …, head_h or head_1, head_2, …, head_h
            expanded = self._expand(items[0], items[-1])
            if [self._name_of(i) for i in items[:-2]] != [
                self._name_of(e) for e in expanded[: len(items) - 2]
            ]:
                raise FormulaError("Concat(x_1, x_2, …, x_n) needs its first items numbered 1, 2, …")
            items = expanded
        vals = [self.eval(i) for i in items]
        if any(v.axes or v.scalar for v in vals):
            raise FormulaError("Concat takes matrices")
        rows = {v.inner[0] for v in vals}
        if len(rows) != 1:
            raise ShapeError("Concat of matrices with different row counts")
        budget((next(iter(rows)), sum(v.inner[1] for v in vals)))
        return Val(np.concatenate([v.data for v in vals], axis=-1))

    @staticmethod
    def _name_of(n: Node) -> tuple | None:
        if n.kind == "post" and n.value == ("sub",) and n.kids[0].kind in ("sym", "word"):
            return n.kids[0].value, number(n.kids[1])
        return None

    def _expand(self, first: Node, last: Node) -> list[Node]:
        """``head_1, …, head_h``: one node per head, numbered 1..h from the block."""

        def parts(n: Node):
            if n.kind == "post" and n.value == ("sub",) and n.kids[0].kind in ("sym", "word"):
                return n.kids[0].value, n.kids[1]
            raise FormulaError("Concat(x_1, …, x_n) needs subscripted names")

        name, lo = parts(first)
        name2, hi = parts(last)
        heads = self.inputs.heads if self.inputs is not None else None
        if name != name2 or number(lo) != 1 or heads is None or letter(hi) not in ("h", "H"):
            raise Unbound("Concat(head_1, …, head_h) needs a multihead block")
        return [
            Node("post", (Node("word", (), name), Node("items", (Node("num", (), str(i)),))), ("sub",))
            for i in range(1, heads + 1)
        ]

    # --- symbols ---------------------------------------------------------------------------------

    def apply_defined(self, name: str, d: Definition, args: list[Val]) -> Val:
        """A function the note defines (``m(x) := \\max_i x_i``), on these arguments."""
        if len(args) != len(d.params):
            raise FormulaError(f"{name} is defined with {counted(len(d.params), 'argument')}")
        if self.depth >= MAX_DEFINITION_DEPTH:
            raise FormulaError("definitions refer to each other too deeply")
        inner = Evaluator(self.inputs, self.convention, self.definitions, self.free, depth=self.depth + 1)
        inner.bindings = dict(zip(d.params, args, strict=True))
        return inner.eval(d.rhs)

    def symbol(self, name: str, subs: list[str | int], sup: str | None, primes: str) -> Val:
        key = name + (f"^{sup}" if sup else "") + primes
        if name in self.bindings and not sup and not primes:
            val = self.bindings[name]
            if not subs:
                return val
            if len(subs) == 1 and isinstance(subs[0], str) and len(subs[0]) == 1:
                return index_inner(val, subs[0])
            raise FormulaError(f"{name} with these indices is not evaluated")
        if not subs and not sup and not primes and name in self.lengths and len(name) == 1:
            n = self.lengths[name]
            return Val(np.arange(n, dtype=float), (name,))
        if key == "M" and "M" in self.definitions:
            return self.defined(key, subs)
        if not self.free and self.inputs is not None:
            found = self.bound(self.inputs, name, subs, sup, primes)
            if found is not None:
                return found
        if self.free and name in WORDS:  # \max_j x_j without parentheses: not a free symbol
            raise Unbound(f"{name} without parentheses is not evaluated", key)
        if self.free:  # an identity: every symbol is free, whatever the note defines elsewhere
            return self.random_symbol(name, subs, sup, primes)
        if key in self.definitions:
            return self.defined(key, subs)
        shown = key + (f"_{''.join(map(str, subs))}" if subs else "")
        raise Unbound(f"{shown} is not bound to anything here", key)

    def defined(self, key: str, subs: list[str | int]) -> Val:
        d = self.definitions[key]
        if d.unreadable:
            raise Unbound(f"{key} is defined in this note by a formula not read here ({d.unreadable})", key)
        if self.depth >= MAX_DEFINITION_DEPTH:
            raise FormulaError("definitions refer to each other too deeply")
        inner = Evaluator(self.inputs, self.convention, self.definitions, self.free, depth=self.depth + 1)
        resolved = [self.env.get(s, s) if isinstance(s, str) else s for s in subs]
        if len(d.params) == 1 and len(resolved) == 1 and isinstance(resolved[0], int):
            inner.env = {**self.env, d.params[0]: resolved[0]}
            return inner.eval(d.rhs)
        if not d.params and not subs:
            return inner.eval(d.rhs)
        if len(d.params) == 2 and not subs and key == "M" and self.inputs is not None:
            length, source = self.inputs.arrays["q"].shape[0], self.inputs.arrays["k"].shape[0]
            inner.lengths = {d.params[0]: length, d.params[1]: source}
            val = inner.eval(d.rhs)
            full = elementwise(np.add, val, Val(np.zeros((length, source)), d.params))
            order = [full.axes.index(p) for p in d.params]
            return Val(np.transpose(full.data, order))
        raise Unbound(f"{key} is defined with other indices than it is used with", key)

    def bound(self, inputs: Inputs, name: str, subs: list, sup: str | None, primes: str) -> Val | None:
        a = inputs.arrays
        entries_ok = inputs.op != "multihead"  # its weights are averaged over heads
        row = self.convention == "row"
        if primes:
            return None
        letters = [s for s in subs if isinstance(s, str) and len(s) == 1]
        if name in QUANTITIES:  # weights = …, output = weights @ V
            name = {"output": "O", "weights": "A", "scores": "S"}[QUANTITIES[name]]
        words = [s for s in subs if isinstance(s, str) and len(s) > 1]
        numbers = [s for s in subs if isinstance(s, int)]
        if sup is None and not subs:
            if name in ("Q", "K", "V") and name.lower() in a:
                return matrix(a[name.lower()])
            if name == "X":
                x = self_input(inputs)
                return None if x is None else matrix(x)
            if name in ("A", "P", "alpha") and inputs.weights is not None and entries_ok:
                return matrix(inputs.weights)
            if name == "S" and inputs.scores is not None and entries_ok:
                return matrix(inputs.scores)
            if name in ("O", "Y") and inputs.output is not None:
                return matrix(inputs.output)
            if name == "M" and inputs.mask is not None:
                return matrix(inputs.mask)
            if name in ("E", "F") and name.lower() in a:
                return matrix(a[name.lower()])
            if name == "W" and "w" in a:
                return matrix(a["w"])
            if name == "b" and "b" in a:
                return self._vec(a["b"])
            if name == "d":
                return scalar(inputs.key_width())
            if name == "w" and inputs.window is not None:
                return scalar(inputs.window)
            if name == "h" and inputs.heads is not None:
                return scalar(inputs.heads)
            if name in ("q", "k", "v"):
                data = a.get(name)
                if data is None:
                    return None
                return self.rows_of(data, HIDDEN_Q if name == "q" else HIDDEN_K)
            if name in OUTPUT_ROWS and inputs.output is not None:
                return self.rows_of(inputs.output, HIDDEN_Q)
            return None
        if name in ("W", "U"):
            # "column-stored": vectors as columns, projections as the block stores them (W_q^T q)
            as_stored = row or self.convention == COLUMN_STORED
            return self._weight(inputs, name, subs, sup, as_stored)
        if name in SIDE_NAMES and sup is None and subs == words and words[0] in SIDE_NAMES[name]:
            return matrix(a[name.lower()]) if name.lower() in a and len(words) == 1 else None
        if sup is not None:
            return None
        key = "".join(str(s) for s in subs)
        if name == "d":
            if key in ("k", "q"):
                return scalar(inputs.key_width())
            if key == "v" and "v" in a:
                return scalar(a["v"].shape[-1] if inputs.op != "multihead" else inputs.key_width())
            if key == "model" and inputs.op == "multihead":
                return scalar(a["q"].shape[1])
            return None
        if name == "v" and key == "a":
            return self._vec(a["v_a"]) if "v_a" in a else None
        if words or numbers:
            return None
        if name in ("A", "P", "alpha", "a") and inputs.weights is not None and entries_ok:
            return self._entries(inputs.weights, letters)
        if name in ("S", "e", "score") and inputs.scores is not None and entries_ok:
            return self._entries(inputs.scores, letters)
        if len(letters) != 1:
            return None
        (i,) = letters
        if i in self.env:
            return None
        if name in ("q", "s"):  # s_t, s_i: the decoder state that queries
            return self.rows_of(a["q"], i)
        if name == "k":
            return self.rows_of(a["k"], i)
        if name == "v" and "v" in a:
            return self.rows_of(a["v"], i)
        if name == "h":
            if "v" in a and not np.array_equal(a["v"], a["k"]):
                raise Unbound("h_j names both keys and values, and this block's differ")
            return self.rows_of(a["k"], i)
        if name in OUTPUT_ROWS and inputs.output is not None:
            return self.rows_of(inputs.output, i)
        return None

    def _entries(self, m: np.ndarray, letters: list[str]) -> Val | None:
        if len(letters) == 2 and letters[0] != letters[1]:
            return Val(m, tuple(letters))
        if len(letters) == 1:
            return Val(m, (HIDDEN_Q, letters[0]))
        return None

    def rows_of(self, data: np.ndarray, axis: str) -> Val:
        data = np.asarray(data, dtype=float)
        return Val(data[:, None, :] if self.convention == "row" else data[:, :, None], (axis,))

    def _vec(self, data: np.ndarray) -> Val:
        data = np.asarray(data, dtype=float).reshape(-1)
        return Val(data[None, :] if self.convention == "row" else data[:, None])

    def _weight(self, inputs: Inputs, name: str, subs: list, sup: str | None, row: bool) -> Val | None:
        a = inputs.arrays
        which = {"q": "w_q", "Q": "w_q", "a": "w_q", "1": "w_q", "k": "w_k", "K": "w_k", "2": "w_k"}
        which |= {"v": "w_v", "V": "w_v", "o": "w_o", "O": "w_o"}
        tags = [s for s in [sup, *[str(s) for s in subs]] if s is not None]
        if name == "U":
            tags = ["k"] if tags == ["a"] else ["?"]
        elif tags == ["a"] and inputs.op == "general" and "w" in a:
            return matrix(a["w"])  # s_t^T W_a h_i: Luong's general score names its matrix W_a
        keys = {which[t] for t in tags if t in which}
        rest = [t for t in tags if t not in which]
        if len(keys) != 1 or next(iter(keys)) not in a:
            return None
        key = next(iter(keys))
        w = a[key]
        if rest:  # W_i^Q: the slice of head i
            if len(rest) != 1 or inputs.heads is None or key == "w_o":
                return None
            given = self.env.get(rest[0], rest[0])
            head = given if isinstance(given, int) else int(given) if given.isdigit() else None
            if head is None or not 1 <= head <= inputs.heads:
                return None
            width = w.shape[1] // inputs.heads
            w = w[:, (head - 1) * width : head * width]
        return matrix(w if row else w.T)

    def random_symbol(self, name: str, subs: list, sup: str | None, primes: str) -> Val:
        """A free symbol of an identity: a seeded random vector (or a positive scalar)."""
        key = name + (sup or "") + primes
        rng = np.random.default_rng(sum(map(ord, key)) * 7919 + 11)
        if name in FREE_SCALARS and not subs:
            return scalar(0.5 + rng.random())
        data = rng.standard_normal(5)
        if not subs:
            return Val(data[None, :] if self.convention == "row" else data[:, None])
        if len(subs) == 1 and isinstance(subs[0], str) and len(subs[0]) == 1:
            return Val(data, (subs[0],))
        raise Unbound(f"{name} with these indices is not evaluated")


# --- helpers ---------------------------------------------------------------------------------


def self_input(inputs: Inputs) -> np.ndarray | None:
    a = inputs.arrays
    if "x" in a:
        return a["x"]
    if "v" in a and np.array_equal(a["q"], a["k"]) and np.array_equal(a["k"], a["v"]):
        return a["q"]
    return None


def _indexed_extreme(node: Node):
    """``\\max_j`` / ``\\min_j`` written without parentheses: (np.max or np.min, (index, condition))."""
    if node.kind != "post" or node.value != ("sub",) or node.kids[0].kind != "word":
        return None
    if node.kids[0].value not in ("max", "min"):
        return None
    try:
        return (np.max if node.kids[0].value == "max" else np.min), sum_index(node.kids[1])
    except FormulaError:
        return None


def _running_index(kids: tuple[Node, ...]) -> str | None:
    """``[a_1, …, a_B]``: the index letter of the last item when the first is it at 1."""
    if len(kids) != 3 or kids[1].kind != "dots":
        return None
    letters = {n.kids[1].kids[0].value for n in kids[2].walk() if _one_script(n, "sym")}
    numbers = {n.kids[1].kids[0].value for n in kids[0].walk() if _one_script(n, "num")}
    if len(letters) == 1 and numbers == {"1"}:
        return next(iter(letters))
    return None


def _one_script(n: Node, kind: str) -> bool:
    return (
        n.kind == "post"
        and n.value == ("sub",)
        and n.kids[1].kind == "items"
        and len(n.kids[1].kids) == 1
        and n.kids[1].kids[0].kind == kind
    )
