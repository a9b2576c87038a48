"""Running an ``attention`` block on the kernel and comparing the note's claims with live output.

Nothing in a note is executed: the block is data (safe YAML), the computation is the kernel's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from attnkb import kernel
from attnkb.errors import ExampleError
from attnkb.examples import DEFAULT_MAX_ELEMENTS
from attnkb.examples.spec import (
    MATRIX_KEYS,
    Block,
    parse_block,
    scalar_nodes,
    written_tolerance,
)
from attnkb.note import Note


@dataclass
class Live:
    """What the kernel computed for a block."""

    weights: np.ndarray | None
    output: np.ndarray | None
    inputs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    scores: np.ndarray | None = None  # before masking and softmax; for the score-function ops
    heads: np.ndarray | None = None  # op multihead: each head's weights (H, L, S); weights is their mean
    allowed: np.ndarray | None = None  # (L, S), True = the query may attend the key; None: no mask


@dataclass
class Result:
    path: str
    line: int
    op: str
    status: str  # pass | fail | error
    message: str = ""
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    live: Live | None = None
    block: Block | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "op": self.op,
            "status": self.status,
            "mismatches": self.mismatches,
            "message": self.message,
        }


def block_mask(block: Block, length: int, source: int) -> str | np.ndarray | None:
    """A block's mask as the kernel takes it (a window of w becomes its boolean matrix)."""
    if isinstance(block.mask, int):
        return kernel.window_mask(length, source, block.mask)
    return block.mask


def compute(block: Block) -> Live:
    a = block.arrays
    shapes = {k: tuple(v.shape) for k, v in a.items()}
    try:
        with np.errstate(all="ignore"):
            live = _compute(block, a, shapes)
    except kernel.KernelError as exc:
        raise block.error(str(exc)) from exc
    for name in ("weights", "output"):  # fully masked rows are zeros, never NaN: this is overflow
        value = getattr(live, name)
        if value is not None and not np.isfinite(value).all():
            raise block.error(f"the {name} come out NaN or infinite: the inputs are too large (overflow)")
    if live.weights is not None and live.weights.ndim == 2:
        live.allowed = allowed_cells(block, *live.weights.shape)
    return live


def allowed_cells(block: Block, length: int, source: int) -> np.ndarray | None:
    """Which (query, key) pairs the block lets attend, True = may attend; None when nothing is
    masked. A picture draws the others as masked, not as weights of 0."""
    mask = block_mask(block, length, source)
    if block.op == "local":
        allowed = kernel.window_mask(length, source, block.window or 0)
        if isinstance(mask, str) and mask == "causal":
            allowed &= kernel.causal_mask(length, source)
        return allowed
    if isinstance(mask, str):
        return kernel.causal_mask(length, source, lower_right=mask == "causal_lower_right")
    if isinstance(mask, np.ndarray):
        return mask.astype(bool)
    return None


def _compute(block: Block, a: dict, shapes: dict) -> Live:
    op = block.op
    if op == "softmax":
        return Live(kernel.softmax(a["scores"]), None, shapes)
    if op == "weights":
        weights = a["weights"]
        return Live(weights, weights @ a["v"] if "v" in a else None, shapes)
    if op == "multihead":
        return _multihead(block, a, shapes)
    q, k, v = a["q"], a["k"], a.get("v")
    values = v if v is not None else np.eye(k.shape[0])
    mask = block_mask(block, q.shape[0], k.shape[0])
    scale = block.scale
    scores = None
    if op in ("dot", "scaled_dot", "cosine", "general", "additive", "concat", "hard"):
        score = "scaled_dot" if op == "hard" else op
        params = {
            "w": a.get("w"),
            "w_q": a.get("w_q"),
            "w_k": a.get("w_k"),
            "v": a.get("v_a"),
            "b": a.get("b"),
        }
        out, w = kernel.attention(
            q, k, values, score=score, mask=mask, scale=scale, params=params, hard=op == "hard"
        )
        scores = kernel.compute_scores(score, q, k, scale, params)
    elif op == "blocked":
        _, w = kernel.attention(q, k, values, mask=mask, scale=scale)
        out, _ = kernel.attention(
            q, k, values, mask=mask, scale=scale, need_weights=False, block_size=block.block_size
        )
    elif op == "linear":
        out, w = kernel.linear_attention(q, k, values, causal=mask == "causal", need_weights=True)
    elif op == "local":
        window = min(block.window or 0, max(q.shape[0], k.shape[0]))  # a wider window changes nothing
        causal = isinstance(mask, str) and mask == "causal"
        out, w = kernel.local_attention(
            q, k, values, window=window, scale=scale, causal=causal, need_weights=True
        )
    else:  # linformer
        e = a["proj"] if "proj" in a else a["e"]  # the spec requires one of them
        out, w = kernel.linformer_attention(q, k, values, e, a.get("f"), scale=scale)
    return Live(w, out if v is not None else None, shapes, scores)


def _multihead(block: Block, a: dict[str, np.ndarray], shapes: dict) -> Live:
    # the spec requires x, or q, k and v
    q, k, v = (a[name] if name in a else a["x"] for name in ("q", "k", "v"))
    embed, heads = q.shape[1], block.heads or 1
    given = [n for n in ("w_q", "w_k", "w_v", "w_o") if n in a]
    if given and len(given) != 4:
        raise block.error("multihead needs all of w_q, w_k, w_v, w_o, or seed for random ones")
    if given:
        # row-vector convention (Q = X W_q) → PyTorch's layout (Q = X Wᵀ)
        in_proj = np.vstack([a["w_q"].T, a["w_k"].T, a["w_v"].T])
        params = kernel.MultiheadParams(heads, in_proj, a["w_o"].T)
    else:
        params = kernel.MultiheadParams.random(embed, heads, seed=block.seed)
    mask = block_mask(block, q.shape[0], k.shape[0])
    out, per_head = kernel.multi_head_attention(q, k, v, params, attn_mask=mask, average_attn_weights=False)
    assert per_head is not None  # need_weights is on
    return Live(per_head.mean(axis=0), out, shapes, heads=per_head)


# --- comparing --------------------------------------------------------------------------------


def compare(block: Block, live: Live) -> list[dict[str, Any]]:
    expect, tol = block.expect, block.tol
    mismatches: list[dict[str, Any]] = []
    for key in MATRIX_KEYS:
        if key not in expect:
            continue
        actual = getattr(live, key)
        if actual is None:
            mismatches.append(
                {
                    "key": key,
                    "index": None,
                    "expected": expect[key],
                    "actual": None,
                    "message": f"op {block.op!r} computes no {key} here"
                    + (" (give v)" if key == "output" else ""),
                }
            )
            continue
        nodes = scalar_nodes(block.key_node("expect", key))
        expected = np.array(expect[key], dtype=object)
        if expected.shape != actual.shape:
            mismatches.append(
                {
                    "key": key,
                    "index": None,
                    "expected": list(expected.shape),
                    "actual": list(actual.shape),
                    "message": f"{key} has the wrong shape",
                }
            )
            continue
        for idx, node, want, got in zip(
            np.ndindex(actual.shape), nodes, expected.flat, actual.flat, strict=False
        ):
            allowed = tol if tol is not None else written_tolerance(node.value)
            if not _within(want, got, allowed):
                mismatches.append(
                    {
                        "key": key,
                        "index": list(idx),
                        "expected": want,
                        "actual": round(float(got), 6),
                        "tolerance": allowed,
                    }
                )
    if "score_var" in expect:
        want, var_node = expect["score_var"], block.key_node("expect", "score_var")
        assert var_node is not None  # expect holds score_var
        got = score_variance(live)
        allowed = tol if tol is not None else written_tolerance(var_node.value)
        if got is None:
            message = f"op {block.op!r} has no score function, so no score variance"
            mismatches.append(
                {"key": "score_var", "index": None, "expected": want, "actual": None, "message": message}
            )
        elif not _within(want, got, allowed):
            mismatches.append(
                {
                    "key": "score_var",
                    "index": None,
                    "expected": want,
                    "actual": round(got, 6),
                    "tolerance": allowed,
                }
            )
    if "argmax" in expect and live.weights is not None:
        best = best_keys(live.weights)
        want_list = expect["argmax"]
        if len(want_list) != len(best):
            mismatches.append(
                {
                    "key": "argmax",
                    "index": None,
                    "expected": want_list,
                    "actual": len(best),
                    "message": "argmax needs one entry per query",
                }
            )
        else:
            for i, (want, got) in enumerate(zip(want_list, best, strict=True)):
                shown = block.key_label(got)
                if want != shown and want != got:
                    mismatches.append({"key": "argmax", "index": [i], "expected": want, "actual": shown})
    if "shape" in expect:
        target = live.output if live.output is not None else live.weights
        shape = list(target.shape) if target is not None else None
        if shape != list(expect["shape"]):
            mismatches.append({"key": "shape", "index": None, "expected": expect["shape"], "actual": shape})
    for claim in expect.get("claims") or []:
        ok = _claim(claim, live.weights)
        if not ok:
            mismatches.append(
                {
                    "key": "claims",
                    "index": None,
                    "expected": claim,
                    "actual": False,
                    "message": f"claim {claim} does not hold",
                }
            )
    return mismatches


def best_keys(weights: np.ndarray) -> list[int]:
    """The key each query weighs most (one query when the weights are a single row)."""
    return np.atleast_1d(np.argmax(weights, axis=-1)).tolist()


def _within(want: float, got: float, allowed: float) -> bool:
    """|want − got| ≤ allowed, where a value rounded to exactly half a unit still counts
    (0.125 written as 0.12 differs by 0.005000000000000004 in floating point)."""
    return abs(float(want) - float(got)) <= allowed * (1 + 1e-9)


def score_variance(live: Live) -> float | None:
    """Population variance of every score: what √d_k scaling is there to keep near 1."""
    return None if live.scores is None else float(np.var(live.scores))


def _claim(claim: str, w: np.ndarray | None) -> bool:
    if w is None:
        return False
    if claim == "rows_sum_to_one":
        return bool(np.allclose(w.sum(axis=-1), 1.0, atol=1e-6))
    if claim == "nonnegative":
        return bool((w >= -1e-12).all())
    return bool(np.all(np.abs(np.triu(w, 1)) < 1e-12))


def run_block(path: str, line: int, text: str, max_elements: int = DEFAULT_MAX_ELEMENTS) -> Result:
    block = None
    try:
        block = parse_block(path, line, text, max_elements)
        live = compute(block)
    except ExampleError as exc:
        return Result(path, exc.line or line, block.op if block else "", "error", exc.message)
    mismatches = compare(block, live)
    if mismatches:
        message = f"{len(mismatches)} claim(s) differ from the live output"
        return Result(path, line, block.op, "fail", message, mismatches, live, block)
    return Result(path, line, block.op, "pass", "all claims hold", [], live, block)


def run_note_examples(note: Note, max_elements: int = DEFAULT_MAX_ELEMENTS) -> list[Result]:
    return [run_block(note.path, ex.line, ex.text, max_elements) for ex in note.examples]
