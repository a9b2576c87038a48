"""Attention that avoids the L×S weight matrix: blocked (FlashAttention's online softmax),
linear (kernel feature maps), Linformer (low-rank keys/values) and local (sliding window)."""

from __future__ import annotations

import os

import numpy as np

from attnkb.kernel.errors import KernelError
from attnkb.kernel.softmax import softmax

DEFAULT_BLOCK = (256, 4096)  # (query rows, key columns): 4 MiB of float32 scores per step
CAUSAL_BLOCK = (256, 512)  # narrower key tiles, so that whole tiles above the diagonal are skipped


SAFE_EXP = 60.0  # |score| ≤ 60 ⇒ exp(score) neither overflows nor underflows in float32


def blocked_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    scale: float | None = None,
    block_size: int | tuple[int, int] | None = None,
    causal_offset: int | None = None,
) -> np.ndarray:
    """softmax(q kᵀ·scale + mask) v, one (Bq × Bk) tile at a time, never holding L×S.

    ``causal_offset`` d lets query i see only keys j ≤ i + d (0: PyTorch's ``is_causal``,
    S − L: lower-right aligned), on top of ``mask``. That mask is made per tile: tiles wholly
    above the diagonal are skipped, tiles wholly below need none.

    For each block of queries we keep a running row maximum m, a running normaliser ℓ and an
    unnormalised output O. For each key block with scores Sᵢⱼ:
        m' = max(m, rowmax Sᵢⱼ),  P = exp(Sᵢⱼ − m'),  α = exp(m − m')
        ℓ' = α ℓ + rowsum P,      O' = α O + P Vⱼ
    and finally output = O / ℓ (Dao et al., 2022). Rows that see no key give zeros.

    Two exact shortcuts keep NumPy's passes over each tile few: ℓ comes out of the P·V product
    by appending a column of ones to V; and where Cauchy–Schwarz (|q·k| ≤ ‖q‖‖k‖) proves every
    score of a query block lies within ±60, m is held at 0 (softmax is shift-invariant and
    exp cannot overflow or underflow there), which removes the max and subtract passes.
    Extra memory: O(Bq·Bk + Bq·Ev) per step, whatever L and S are.
    """
    dtype = q.dtype
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    if block_size is None:
        bq, bk = DEFAULT_BLOCK if causal_offset is None else CAUSAL_BLOCK
    elif isinstance(block_size, int):
        bq = bk = block_size
    else:
        bq, bk = block_size
    if bq < 1 or bk < 1:
        raise KernelError("block size must be at least 1")
    length, source, ev = q.shape[-2], k.shape[-2], v.shape[-1]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    qb = np.broadcast_to(q, (*batch, length, q.shape[-1])).reshape(-1, length, q.shape[-1])
    kb = np.broadcast_to(k, (*batch, source, k.shape[-1])).reshape(-1, source, k.shape[-1])
    vb = np.broadcast_to(v, (*batch, source, ev)).reshape(-1, source, ev)
    mb = None
    if mask is not None:
        mb = np.broadcast_to(mask, (*batch, length, source)).reshape(-1, length, source)
    # a float mask with finite non-zero entries can move scores anywhere: no bound then
    mask_is_boolean = mask is None or bool(np.all((mask == 0) | np.isneginf(mask)))
    out = np.empty((qb.shape[0], length, ev), dtype=dtype)
    s_type = dtype.type
    ones = np.ones((source, 1), dtype=dtype)

    def one_slice(b: int) -> None:
        v_ext = np.concatenate([vb[b], ones], axis=1)  # P·[V | 1] = [P·V | rowsum P]
        k_b = kb[b]
        k_norm = float(np.sqrt((k_b.astype(np.float64) ** 2).sum(axis=1).max())) if source else 0.0
        tile = np.empty((min(bq, length), min(bk, source)), dtype=dtype)  # reused: no page faults
        part = np.empty((min(bq, length), ev + 1), dtype=dtype)
        for i in range(0, length, bq):
            qi = qb[b, i : i + bq] * s_type(scale)
            bound = float(np.sqrt((qi.astype(np.float64) ** 2).sum(axis=1).max())) * k_norm
            fixed_shift = mask_is_boolean and bound <= SAFE_EXP
            rows = qi.shape[0]
            m = np.zeros(rows, dtype=dtype) if fixed_shift else np.full(rows, -np.inf, dtype=dtype)
            acc = np.zeros((rows, ev + 1), dtype=dtype)
            for j in range(0, source, bk):
                kj = k_b[j : j + bk]
                if causal_offset is not None and j > i + rows - 1 + causal_offset:
                    break  # this tile and every later one lie above the diagonal: all masked
                s = np.matmul(qi, kj.T, out=tile[:rows, : kj.shape[0]])
                if mb is not None:
                    s += mb[b, i : i + bq, j : j + bk]
                if causal_offset is not None and j + kj.shape[0] - 1 > i + causal_offset:
                    above = np.arange(j, j + kj.shape[0]) > np.arange(i, i + rows)[:, None] + causal_offset
                    s[above] = -np.inf
                if not fixed_shift:
                    m_new = np.maximum(m, s.max(axis=1))
                    shift = np.where(np.isneginf(m_new), 0, m_new).astype(dtype, copy=False)
                    s -= shift[:, None]
                    acc *= np.exp(m - shift)[:, None]
                    m = m_new
                np.exp(s, out=s)
                acc += np.matmul(s, v_ext[j : j + bk], out=part[:rows])
            ell = acc[:, ev:]
            np.divide(acc[:, :ev], ell, out=out[b, i : i + bq], where=ell > 0)
            out[b, i : i + bq][ell[:, 0] == 0] = 0

    _run_slices(one_slice, qb.shape[0], length * source)
    return out.reshape(*batch, length, ev)


PARALLEL_MIN_WORK = 1 << 20  # scores per slice below which threads cost more than they save


def _run_slices(task, count: int, work_per_slice: int) -> None:
    """Run ``task(b)`` for every batch·head slice, one slice per core.

    NumPy's element-wise passes (exp) use one core, BLAS uses all of them; running whole slices
    side by side with BLAS held to one thread each keeps every core busy on both. threadpoolctl
    only sets thread counts; all arithmetic stays NumPy's.
    """
    workers = min(os.cpu_count() or 1, count)
    if workers < 2 or work_per_slice < PARALLEL_MIN_WORK:
        for b in range(count):
            task(b)
        return
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(task, b) for b in range(count)]:
            future.result()


def elu_plus_one(x: np.ndarray) -> np.ndarray:
    """φ(x) = elu(x) + 1: positive, so the implied weights are a proper average."""
    return np.where(x > 0, x + 1, np.exp(np.minimum(x, 0)))


def linear_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    causal: bool = False,
    need_weights: bool = False,
    eps: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Linear attention (Katharopoulos et al., 2020) with φ = elu + 1:

        outᵢ = φ(qᵢ)ᵀ Σⱼ φ(kⱼ) vⱼᵀ / (φ(qᵢ)ᵀ Σⱼ φ(kⱼ))

    Σⱼ φ(kⱼ)vⱼᵀ is an E×Ev matrix, so time and memory are linear in the sequence length; with
    ``causal`` the sums run over j ≤ i (prefix sums). The implied weights
    wᵢⱼ = φ(qᵢ)·φ(kⱼ) / Σⱼ φ(qᵢ)·φ(kⱼ) are built only when asked for.
    """
    fq, fk = elu_plus_one(q), elu_plus_one(k)
    if causal:
        kv = np.cumsum(fk[..., :, :, None] * v[..., :, None, :], axis=-3)  # (..., S, E, Ev)
        z = np.cumsum(fk, axis=-2)
        if q.shape[-2] != k.shape[-2]:
            raise KernelError("causal linear attention needs as many queries as keys")
        num = np.einsum("...le,...lef->...lf", fq, kv)
        den = np.einsum("...le,...le->...l", fq, z)
    else:
        kv = np.swapaxes(fk, -1, -2) @ v  # (..., E, Ev)
        num = fq @ kv
        den = fq @ fk.sum(axis=-2)[..., :, None]
        den = den[..., 0]
    out = num / (den[..., None] + eps)
    weights = None
    if need_weights:
        raw = fq @ np.swapaxes(fk, -1, -2)
        if causal:
            raw = np.tril(raw)
        weights = raw / (raw.sum(axis=-1, keepdims=True) + eps)
    return out.astype(q.dtype, copy=False), weights


def linformer_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    e: np.ndarray,
    f: np.ndarray | None = None,
    *,
    scale: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Linformer (Wang et al., 2020): project the S keys and values down to r rows first,

        K' = E K,  V' = F V   (E, F of shape (r, S)),  out = softmax(Q K'ᵀ/√d) V'

    so the weights are L×r instead of L×S. F defaults to E (shared projection).
    """
    f = e if f is None else f
    source = k.shape[-2]
    if e.shape[-1] != source or f.shape[-1] != source:
        raise KernelError(f"Linformer projections must have {source} columns, got {e.shape}, {f.shape}")
    if e.shape[0] != f.shape[0]:
        raise KernelError("Linformer projections E and F must have the same number of rows")
    kp, vp = e.astype(q.dtype) @ k, f.astype(q.dtype) @ v
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    weights = softmax((q * q.dtype.type(scale)) @ np.swapaxes(kp, -1, -2))
    return (weights @ vp).astype(q.dtype, copy=False), weights


def local_attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    window: int,
    scale: float | None = None,
    causal: bool = False,
    need_weights: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Sliding-window attention in O(L·w): query i sees keys j with |i − j| ≤ w (j ≤ i too
    when ``causal``). Only the 2w + 1 scores around each query are computed, by gathering the
    neighbouring keys; the dense L×S weights are assembled only when asked for."""
    if window < 0:
        raise KernelError("window must be >= 0")
    length, source = q.shape[-2], k.shape[-2]
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    offsets = np.arange(-window, 1 if causal else window + 1)
    idx = np.arange(length)[:, None] + offsets[None, :]  # (L, W)
    valid = (idx >= 0) & (idx < source)
    safe = np.clip(idx, 0, max(source - 1, 0))
    kw = np.take(k, safe, axis=-2)  # (..., L, W, E)
    vw = np.take(v, safe, axis=-2)  # (..., L, W, Ev)
    s = np.einsum("...le,...lwe->...lw", q * q.dtype.type(scale), kw)
    s = np.where(valid, s, -np.inf)
    w = softmax(s, axis=-1)
    out = np.einsum("...lw,...lwf->...lf", w, vw).astype(q.dtype, copy=False)
    weights = None
    if need_weights:
        batch = w.shape[:-2]
        weights = np.zeros((*batch, length, source), dtype=q.dtype)
        rows = np.broadcast_to(np.arange(length)[:, None], idx.shape)
        for b in np.ndindex(*batch):
            np.add.at(weights[b], (rows[valid], idx[valid]), w[b][valid])
    return out, weights
