"""What a formula's symbols are bound to: an ``attention`` block's inputs and live output, or
seeded random inputs run through the kernel for one score function.

Everything here is the kernel's work; the formula only ever sees the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from attnkb import kernel

SCORE_OPS = ("dot", "scaled_dot", "cosine", "general", "additive", "concat", "hard")
RANDOM_OPS = (
    "scaled_dot",
    "dot",
    "general",
    "additive",
    "additive+b",
    "cosine",
    "linear",
    "self",
    "causal",
    "local",
)
# Score functions that differ in kind; dot, scaled dot, masks and windows are one family, so a
# missing √d_k beside a scaled block is still a failure ("-": no score function of its own).
FAMILIES = {"additive": "additive", "additive+b": "additive", "general": "general", "cosine": "cosine"}
FAMILIES |= {"linear": "linear", "concat": "concat", "linformer": "linformer", "softmax": "-", "weights": "-"}
LABELS = {
    "self": "scaled_dot, self-attention Q = K = V = X",
    "projected": "scaled_dot, Q = XW_Q, K = XW_K, V = XW_V",
    "causal": "scaled_dot with a causal mask",
}
L, S, D, DV, H = 3, 5, 4, 6, 7  # random shapes: all different, so a wrong product cannot conform


def score_family(op: str) -> str:
    return FAMILIES.get(op, "dot")


@dataclass
class Inputs:
    op: str
    arrays: dict[str, np.ndarray]
    weights: np.ndarray | None = None
    output: np.ndarray | None = None
    scores: np.ndarray | None = None
    mask: np.ndarray | None = None  # float, 0 where a query may attend, −inf elsewhere
    window: int | None = None
    heads: int | None = None
    scale: float | None = None
    block_line: int | None = None
    unmasked: tuple[np.ndarray | None, np.ndarray | None] | None = None  # (weights, output)
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # how a report names these inputs, when not just by ``op``

    @property
    def score_op(self) -> str | None:
        if self.op in ("hard", "local", "blocked"):
            return "scaled_dot"
        if self.op in SCORE_OPS:
            return self.op
        if self.op == "multihead":
            return "scaled_dot"
        return None

    def key_width(self) -> float:
        """d_k as the kernel uses it: a block's own ``scale`` s stands for 1/√d_k, so d_k = 1/s²."""
        if self.op == "multihead" and self.heads:
            return self.arrays["q"].shape[1] // self.heads
        if self.scale and self.score_op == "scaled_dot":
            return 1.0 / float(self.scale) ** 2
        return self.arrays["q"].shape[-1]

    def scores_of(self, q: np.ndarray, k: np.ndarray) -> np.ndarray:
        op = self.score_op
        if op is None:
            raise LookupError(f"op {self.op!r} has no score function")
        return kernel.compute_scores(op, q, k, self.scale, self.params)

    def attention(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        op = self.score_op
        if op is None:
            raise LookupError(f"op {self.op!r} is not softmax attention")
        out, _ = kernel.attention(
            q,
            k,
            v,
            score=op,
            mask=self.mask,
            scale=None if self.op == "multihead" else self.scale,
            params=self.params,
            hard=self.op == "hard",
        )
        return out

    def multihead(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
        if self.op != "multihead":
            raise LookupError("MultiHead needs a multihead block")
        a, heads = self.arrays, self.heads
        if heads is None:
            raise LookupError("MultiHead needs the block's heads")
        in_proj = np.vstack([a["w_q"].T, a["w_k"].T, a["w_v"].T])
        params = kernel.MultiheadParams(heads, in_proj, a["w_o"].T)
        out, _ = kernel.multi_head_attention(q, k, v, params, attn_mask=self.mask)
        return out


def from_block(result) -> Inputs | None:
    """Inputs of a block that ran (``runner.Result`` with ``live``), or None."""
    from attnkb.examples.runner import block_mask

    block, live = result.block, result.live
    if block is None or live is None:
        return None
    a = {k: np.asarray(v, dtype=float) for k, v in block.arrays.items()}
    d = block.data
    op = block.op
    if op in ("softmax", "weights"):
        return Inputs(op, a, live.weights, live.output, None, block_line=block.line)
    if op == "multihead":
        for name in ("q", "k", "v"):
            if name not in a:
                a[name] = a["x"]  # the spec requires x, or q, k and v
        e, heads = a["q"].shape[1], int(d["heads"])
        if "w_q" not in a:
            p = kernel.MultiheadParams.random(e, heads, seed=int(d.get("seed", 0)))
            w = p.in_proj_weight
            a.update(w_q=w[:e].T, w_k=w[e : 2 * e].T, w_v=w[2 * e :].T, w_o=p.out_proj_weight.T)
    q, k = a["q"], a["k"]
    mask = _float_mask(block_mask(block, q.shape[0], k.shape[0]), q.shape[0], k.shape[0])
    window = None
    if op == "local":
        window = int(d["window"])
        local = kernel.window_mask(q.shape[0], k.shape[0], window)
        mask = _additive(local, q.shape[0], k.shape[0]) + (0 if mask is None else mask)
    elif isinstance(d.get("mask"), dict):
        window = d["mask"].get("window")
    if op == "linformer":
        e = a["proj"] if "proj" in a else a["e"]  # the spec requires one of them
        a["e"], a["f"] = e, a.get("f", e)
    params = {"w": a.get("w"), "w_q": a.get("w_q"), "w_k": a.get("w_k"), "v": a.get("v_a"), "b": a.get("b")}
    inputs = Inputs(
        op,
        a,
        live.weights,
        live.output,
        live.scores,
        mask,
        window,
        int(d["heads"]) if op == "multihead" else None,
        d.get("scale"),
        block.line,
        params=params,
    )
    if mask is not None and inputs.score_op is not None and op != "multihead":
        values = a.get("v", np.eye(k.shape[0]))
        out, w = kernel.attention(q, k, values, score=inputs.score_op, scale=inputs.scale, params=params)
        inputs.unmasked = (w, out if "v" in a else None)
    return inputs


def _float_mask(mask, length: int, source: int) -> np.ndarray | None:
    return None if mask is None else _additive(mask, length, source)


def _additive(mask, length: int, source: int) -> np.ndarray:
    """A boolean mask (or a causal one by name) as 0 where a query may attend, −inf elsewhere."""
    if isinstance(mask, str):
        mask = kernel.causal_mask(length, source, lower_right=mask == "causal_lower_right")
    out = np.zeros((length, source))
    out[~np.asarray(mask, dtype=bool)] = -np.inf
    return out


@lru_cache(maxsize=64)
def random_inputs(op: str, values_are_keys: bool = False, seed: int = 0) -> Inputs:
    """Seeded random inputs with all-different widths, run through the kernel for ``op``.

    ``local`` has window 1, ``causal`` is scaled dot-product attention with a causal mask
    (then queries and keys are the same length), and ``self`` is self-attention: Q = K = V = X. ``values_are_keys`` is for notes that write
    ``h_j`` for both, as RNN encoder–decoder notes do.
    """
    rng = np.random.default_rng(seed)
    q, k, v = rng.standard_normal((L, D)), rng.standard_normal((S, D)), rng.standard_normal((S, DV))
    if op in ("local", "causal"):
        q = rng.standard_normal((S, D))
    if values_are_keys:
        v = k
    if op == "self":
        q = k = v = rng.standard_normal((S, D))
    a = {
        "q": q,
        "k": k,
        "v": v,
        "w": rng.standard_normal((D, D)),
        "w_q": rng.standard_normal((D, H)) / 2,
        "w_k": rng.standard_normal((D, H)) / 2,
        "v_a": rng.standard_normal(H),
        "b": rng.standard_normal(H) / 2,
    }
    if op in ("multihead", "multihead-self"):  # two heads; queries, keys and values all D wide
        v = rng.standard_normal((S, D))
        if op == "multihead-self":
            q = k = v
        p = kernel.MultiheadParams.random(D, 2, seed=seed)
        w = p.in_proj_weight
        a = {"q": q, "k": k, "v": v, "w_q": w[:D].T, "w_k": w[D : 2 * D].T, "w_v": w[2 * D :].T}
        a["w_o"] = p.out_proj_weight.T
        if op == "multihead-self":
            a["x"] = q
        out, weights = kernel.multi_head_attention(q, k, v, p)
        label = "multihead, 2 heads" + (", Q = K = V = X" if op == "multihead-self" else "")
        return Inputs("multihead", a, weights, out, None, heads=2, label=label)
    if op == "projected":  # self-attention of X through its projections: Q = XW_Q, K = XW_K, V = XW_V
        x = rng.standard_normal((S, D))
        w_v = rng.standard_normal((D, DV)) / 2
        pq, pk, pv = x @ a["w_q"], x @ a["w_k"], x @ w_v
        a = {"x": x, "q": pq, "k": pk, "v": pv, "w_q": a["w_q"], "w_k": a["w_k"], "w_v": w_v}
        out, w = kernel.attention(pq, pk, pv)
        scores = kernel.compute_scores("scaled_dot", pq, pk)
        return Inputs("scaled_dot", a, w, out, scores, label=LABELS["projected"])
    if op == "linear":
        out, w = kernel.linear_attention(q, k, v, need_weights=True)
        return Inputs(op, a, w, out, None)
    if op in ("local", "causal"):
        allowed = kernel.window_mask(S, S, 1) if op == "local" else kernel.causal_mask(S, S)
        mask = _float_mask(allowed, S, S)
        out, w = kernel.attention(q, k, v, mask=mask)
        scores = kernel.compute_scores("scaled_dot", q, k)
        name = "local" if op == "local" else "scaled_dot"
        return Inputs(name, a, w, out, scores, mask, 1 if op == "local" else None, label=LABELS.get(op, ""))
    score = {"additive+b": "additive", "self": "scaled_dot"}.get(op, op)
    params = {"w": a["w"], "w_q": a["w_q"], "w_k": a["w_k"], "v": a["v_a"]}
    if op == "additive+b":
        params["b"] = a["b"]
    else:
        del a["b"]
    out, w = kernel.attention(q, k, v, score=score, params=params)
    scores = kernel.compute_scores(score, q, k, None, params)
    return Inputs(score, a, w, out, scores, params=params, label=LABELS.get(op, ""))
