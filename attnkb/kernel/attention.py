"""``attention``: the one entry point, with PyTorch's SDPA semantics.

    output = softmax(score(Q, K) + mask) V

Arrays are (..., L, E) for queries and (..., S, E) / (..., S, Ev) for keys and values; leading
batch/head dimensions broadcast. The result keeps the input dtype (float32 or float64).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from attnkb.kernel import scores as _scores
from attnkb.kernel.errors import KernelError
from attnkb.kernel.softmax import additive, causal_mask, key_padding_to_mask, softmax

MaskLike = np.ndarray | str | None
FLOATS = (np.float32, np.float64)


def check_inputs(*arrays: np.ndarray, names: tuple[str, ...] = ("q", "k", "v")) -> np.dtype:
    """Same float dtype everywhere, at least 2 dimensions, and no NaN or inf."""
    dtype = arrays[0].dtype
    for name, a in zip(names, arrays, strict=False):
        if a.dtype.type not in FLOATS:
            raise KernelError(f"{name} must be float32 or float64, got {a.dtype}")
        if a.dtype != dtype:
            raise KernelError(f"{name} is {a.dtype} but {names[0]} is {dtype}; use one dtype")
        if a.ndim < 2:
            raise KernelError(f"{name} must have at least 2 dimensions (..., length, dim)")
        if not np.isfinite(a).all():
            raise KernelError(f"{name} contains NaN or infinity")
    return dtype


def expand_gqa(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grouped-query attention: each of Hkv key/value heads serves Hq/Hkv query heads
    (``repeat_interleave`` on the head dimension, as PyTorch's ``enable_gqa``)."""
    if q.ndim < 3:
        raise KernelError("grouped-query attention needs a head dimension (..., H, L, E)")
    hq, hk = q.shape[-3], k.shape[-3]
    if hk != v.shape[-3] or hq % hk:
        raise KernelError(f"query heads ({hq}) must be a multiple of key/value heads ({hk})")
    reps = hq // hk
    return np.repeat(k, reps, axis=-3), np.repeat(v, reps, axis=-3)


def causal_offset(mask: str, length: int, source: int) -> int:
    """Query i may see keys j ≤ i + offset: 0 upper-left aligned, S − L lower-right aligned."""
    if mask not in ("causal", "causal_lower_right"):
        raise KernelError(f"unknown mask {mask!r}; use 'causal' or 'causal_lower_right'")
    return source - length if mask == "causal_lower_right" else 0


def resolve_mask(
    mask: MaskLike,
    length: int,
    source: int,
    dtype: np.dtype,
    key_padding_mask: np.ndarray | None = None,
) -> np.ndarray | None:
    """Any accepted mask form as one float mask to add to the scores."""
    if isinstance(mask, str):
        causal_offset(mask, length, source)  # checks the name
        mask = causal_mask(length, source, lower_right=mask == "causal_lower_right")
    elif mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool and mask.dtype.kind != "f":
            raise KernelError(f"mask must be boolean or float, got {mask.dtype}")
        if mask.ndim < 2 or mask.shape[-2:] not in ((length, source), (1, source), (length, 1)):
            raise KernelError(f"mask shape {mask.shape} does not fit scores (..., {length}, {source})")
    float_mask = additive(mask, dtype)
    if key_padding_mask is not None:
        kpm = np.asarray(key_padding_mask, dtype=bool)
        if kpm.shape[-1] != source:
            raise KernelError(f"key_padding_mask has {kpm.shape[-1]} keys, expected {source}")
        pad = additive(key_padding_to_mask(kpm), dtype)
        float_mask = pad if float_mask is None else float_mask + pad
    return float_mask


def attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    score: str = "scaled_dot",
    mask: MaskLike = None,
    scale: float | None = None,
    need_weights: bool = True,
    params: Mapping[str, np.ndarray | None] | None = None,
    key_padding_mask: np.ndarray | None = None,
    enable_gqa: bool = False,
    hard: bool = False,
    block_size: int | None = None,
    max_elements: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Attention with PyTorch's reference semantics; returns ``(output, weights)``.

    ``mask``: boolean (True = may attend), float (added to the scores), ``"causal"`` (upper-left
    aligned, as ``is_causal``) or ``"causal_lower_right"``. ``key_padding_mask``: (..., S), True =
    ignore. A fully masked row gives zero weights and a zero output. ``hard=True`` puts all weight
    on the best key (ties go to the first). ``need_weights=False`` returns ``(output, None)`` and,
    for dot-product scores, takes the blocked path that never holds the L×S matrix.
    ``max_elements`` refuses inputs whose score matrix would exceed that many elements.
    """
    q, k, v = np.asarray(q), np.asarray(k), np.asarray(v)
    dtype = check_inputs(q, k, v)
    if k.shape[-2] != v.shape[-2]:
        raise KernelError(f"k has {k.shape[-2]} positions but v has {v.shape[-2]}")
    if score in ("dot", "scaled_dot", "cosine") and q.shape[-1] != k.shape[-1]:
        raise KernelError(f"q and k must share their last dimension: {q.shape[-1]} != {k.shape[-1]}")
    if enable_gqa:
        k, v = expand_gqa(q, k, v)
    length, source = q.shape[-2], k.shape[-2]
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError as exc:
        raise KernelError(f"batch dimensions do not broadcast: {q.shape}, {k.shape}, {v.shape}") from exc
    elements = int(np.prod(batch, dtype=np.int64)) * length * source
    if max_elements is not None and elements > max_elements:
        raise KernelError(f"scores would hold {elements:,} elements, over the limit of {max_elements:,}")
    blocked = not need_weights and not hard and score in ("dot", "scaled_dot")
    # the blocked path builds a causal mask tile by tile instead of as one L×S matrix
    offset = causal_offset(mask, length, source) if blocked and isinstance(mask, str) else None
    float_mask = resolve_mask(None if offset is not None else mask, length, source, dtype, key_padding_mask)

    if blocked:
        from attnkb.kernel.efficient import blocked_attention

        if score == "dot":
            scale = 1.0
        out = blocked_attention(
            q, k, v, mask=float_mask, scale=scale, block_size=block_size, causal_offset=offset
        )
        return out, None

    s = _scores.compute(score, q, k, scale, params)
    if float_mask is not None:
        s = s + float_mask
    weights = hard_weights(s) if hard else softmax(s, axis=-1)
    output = weights @ v
    return output.astype(dtype, copy=False), (weights.astype(dtype, copy=False) if need_weights else None)


def hard_weights(s: np.ndarray) -> np.ndarray:
    """One-hot at each row's argmax (the first on ties); a fully masked row stays all zero."""
    best = np.argmax(s, axis=-1)
    weights = np.zeros_like(s)
    np.put_along_axis(weights, best[..., None], 1.0, axis=-1)
    weights[np.isneginf(s).all(axis=-1)] = 0.0
    return weights
