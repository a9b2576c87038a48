"""Score functions: how much each query matches each key, shape (..., L, S).

Row-vector convention throughout, as in the notes: a query is a row q, and ``Q = X @ W_q``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from attnkb.kernel.errors import KernelError

SCORES = ("dot", "scaled_dot", "general", "additive", "concat", "cosine")


def _param(params: Mapping[str, np.ndarray | None] | None, name: str, score: str) -> np.ndarray:
    if not params or name not in params or params[name] is None:
        raise KernelError(f"score {score!r} needs parameter {name!r}")
    return np.asarray(params[name])


def dot(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """score(q, k) = q · k."""
    return q @ np.swapaxes(k, -1, -2)


def scaled_dot(q: np.ndarray, k: np.ndarray, scale: float | None = None) -> np.ndarray:
    """score(q, k) = q · k / √E (or ``scale``·q·k). Scaling q first costs L·E, not L·S."""
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    return (q * q.dtype.type(scale)) @ np.swapaxes(k, -1, -2)


def general(q: np.ndarray, k: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Luong's general (bilinear) score: score(q, k) = q W kᵀ, with W of shape (E_q, E_k)."""
    if w.shape != (q.shape[-1], k.shape[-1]):
        raise KernelError(f"general score: W must be {(q.shape[-1], k.shape[-1])}, got {w.shape}")
    return (q @ w) @ np.swapaxes(k, -1, -2)


def additive(
    q: np.ndarray,
    k: np.ndarray,
    w_q: np.ndarray,
    w_k: np.ndarray,
    v: np.ndarray,
    b: np.ndarray | None = None,
) -> np.ndarray:
    """Bahdanau's additive score: score(q, k) = vᵀ tanh(q W_q + k W_k + b).

    W_q is (E_q, H), W_k is (E_k, H), v is (H,), b is (H,). Memory is L·S·H.
    """
    hidden = v.shape[-1]
    if w_q.shape != (q.shape[-1], hidden) or w_k.shape != (k.shape[-1], hidden):
        raise KernelError(
            f"additive score: W_q must be {(q.shape[-1], hidden)} and W_k {(k.shape[-1], hidden)},"
            f" got {w_q.shape} and {w_k.shape}"
        )
    pre = (q @ w_q)[..., :, None, :] + (k @ w_k)[..., None, :, :]
    if b is not None:
        pre = pre + b
    return np.tanh(pre) @ v


def concat(q: np.ndarray, k: np.ndarray, w: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Luong's concat score: score(q, k) = vᵀ tanh([q; k] W), W of shape (E_q + E_k, H).

    Splitting W into its q and k rows makes it the additive score without bias.
    """
    eq = q.shape[-1]
    if w.shape[0] != eq + k.shape[-1]:
        raise KernelError(f"concat score: W must have {eq + k.shape[-1]} rows, got {w.shape[0]}")
    return additive(q, k, w[:eq], w[eq:], v)


def cosine(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """score(q, k) = q · k / (‖q‖ ‖k‖); a zero vector scores 0 against everything."""
    tiny = np.finfo(q.dtype).tiny
    qn = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), tiny)
    kn = k / np.maximum(np.linalg.norm(k, axis=-1, keepdims=True), tiny)
    return qn @ np.swapaxes(kn, -1, -2)


def compute(
    score: str,
    q: np.ndarray,
    k: np.ndarray,
    scale: float | None = None,
    params: Mapping[str, np.ndarray | None] | None = None,
) -> np.ndarray:
    if score == "dot":
        return dot(q, k)
    if score == "scaled_dot":
        return scaled_dot(q, k, scale)
    if score == "cosine":
        return cosine(q, k)
    cast = {n: np.asarray(a, dtype=q.dtype) for n, a in (params or {}).items() if a is not None}
    if score == "general":
        return general(q, k, _param(cast, "w", score))
    if score == "additive":
        return additive(
            q,
            k,
            _param(cast, "w_q", score),
            _param(cast, "w_k", score),
            _param(cast, "v", score),
            cast.get("b"),
        )
    if score == "concat":
        return concat(q, k, _param(cast, "w", score), _param(cast, "v", score))
    raise KernelError(f"unknown score {score!r}; expected one of {', '.join(SCORES)}")
