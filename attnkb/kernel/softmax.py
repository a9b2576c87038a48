"""Numerically stable softmax and the masks attention uses.

Masks follow PyTorch: a boolean mask is True where a query *may* attend; a float mask is added
to the scores; ``key_padding_mask`` is True where a key must be *ignored*.
"""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(x)_i = exp(x_i − max x) / Σ_j exp(x_j − max x).

    Subtracting the row maximum keeps exp from overflowing. A row whose every entry is −inf
    (fully masked) gives zeros, as PyTorch's SDPA does, never NaN.
    """
    x = np.asarray(x)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)
    e = np.exp(x - m)
    total = np.sum(e, axis=axis, keepdims=True)
    np.divide(e, total, out=e, where=total > 0)
    e[np.broadcast_to(total == 0, e.shape)] = 0.0
    return e


def causal_mask(length: int, source: int, lower_right: bool = False) -> np.ndarray:
    """Boolean (L, S), True = may attend.

    Upper-left aligned (PyTorch's ``is_causal``): query i sees keys j ≤ i. Lower-right aligned
    (the last query sees every key, as when decoding with a cache): j ≤ i + S − L.
    """
    offset = source - length if lower_right else 0
    i = np.arange(length)[:, None]
    j = np.arange(source)[None, :]
    return j <= i + offset


def window_mask(length: int, source: int, window: int) -> np.ndarray:
    """Boolean (L, S): query i sees keys j with |i − j| ≤ window (2·window + 1 keys at most)."""
    i = np.arange(length)[:, None]
    j = np.arange(source)[None, :]
    return np.abs(i - j) <= window


def key_padding_to_mask(key_padding_mask: np.ndarray) -> np.ndarray:
    """(N, S) True = ignore  →  (N, 1, 1, S) True = may attend, broadcastable over heads."""
    kpm = np.asarray(key_padding_mask, dtype=bool)
    return ~kpm[..., None, None, :]


def additive(mask: np.ndarray | None, dtype: np.dtype) -> np.ndarray | None:
    """A boolean or float mask as a float mask to add to the scores (−inf where not allowed)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype == bool:
        out = np.zeros(mask.shape, dtype=dtype)
        out[~mask] = -np.inf
        return out
    return mask.astype(dtype, copy=False)
