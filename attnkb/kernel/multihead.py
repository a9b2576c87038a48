"""Multi-head attention with PyTorch's ``nn.MultiheadAttention`` parameter layout, so weights
copied from a PyTorch module give the same numbers here.

Linear layers follow PyTorch (``y = x Wᵀ + b``, W of shape (out, in)); ``in_proj_weight``
stacks W_q, W_k, W_v into (3E, E).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnkb.kernel.attention import attention, check_inputs
from attnkb.kernel.errors import KernelError


@dataclass
class MultiheadParams:
    num_heads: int
    in_proj_weight: np.ndarray  # (3E, E)
    out_proj_weight: np.ndarray  # (E, E)
    in_proj_bias: np.ndarray | None = None  # (3E,)
    out_proj_bias: np.ndarray | None = None  # (E,)

    @classmethod
    def random(cls, embed_dim: int, num_heads: int, seed: int = 0, dtype=np.float64):
        """Xavier-uniform projections and zero biases, as PyTorch initialises them."""
        rng = np.random.default_rng(seed)
        bound_in = np.sqrt(6.0 / (embed_dim + 3 * embed_dim))
        bound_out = 1.0 / np.sqrt(embed_dim)
        return cls(
            num_heads,
            rng.uniform(-bound_in, bound_in, (3 * embed_dim, embed_dim)).astype(dtype),
            rng.uniform(-bound_out, bound_out, (embed_dim, embed_dim)).astype(dtype),
            np.zeros(3 * embed_dim, dtype=dtype),
            np.zeros(embed_dim, dtype=dtype),
        )


def multi_head_attention(
    query: np.ndarray,
    key: np.ndarray,
    value: np.ndarray,
    params: MultiheadParams,
    *,
    batch_first: bool = False,
    key_padding_mask: np.ndarray | None = None,
    attn_mask: np.ndarray | str | None = None,
    need_weights: bool = True,
    average_attn_weights: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """MultiHead(Q, K, V) = Concat(head₁ … head_h) W_Oᵀ, headᵢ = Attention(Q W_qᵢᵀ, K W_kᵢᵀ, V W_vᵢᵀ).

    Inputs are (L, N, E) or, with ``batch_first``, (N, L, E); unbatched (L, E) works too.
    ``key_padding_mask`` (N, S): True = ignore that key. ``attn_mask``: as in ``attention``
    (boolean True = may attend, float added, or "causal"). Returns the output in the input's
    layout and weights (N, L, S) averaged over heads, or (N, H, L, S) per head.
    """
    check_inputs(query, key, value, names=("query", "key", "value"))
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = query[:, None], key[:, None], value[:, None]
        batch_first = False
        if key_padding_mask is not None:
            key_padding_mask = np.asarray(key_padding_mask)[None]
    if not batch_first:
        query, key, value = (np.swapaxes(x, 0, 1) for x in (query, key, value))
    n, length, embed = query.shape
    heads = params.num_heads
    if embed % heads:
        raise KernelError(f"embedding size {embed} is not divisible by {heads} heads")
    if params.in_proj_weight.shape != (3 * embed, embed):
        raise KernelError(f"in_proj_weight must be {(3 * embed, embed)}, got {params.in_proj_weight.shape}")
    head_dim = embed // heads
    dtype = query.dtype
    w = params.in_proj_weight.astype(dtype)
    b = np.zeros(3 * embed, dtype) if params.in_proj_bias is None else params.in_proj_bias.astype(dtype)
    q = query @ w[:embed].T + b[:embed]
    k = key @ w[embed : 2 * embed].T + b[embed : 2 * embed]
    v = value @ w[2 * embed :].T + b[2 * embed :]

    def split(x: np.ndarray) -> np.ndarray:  # (N, T, E) -> (N, H, T, D)
        return x.reshape(x.shape[0], x.shape[1], heads, head_dim).transpose(0, 2, 1, 3)

    mask = attn_mask
    if isinstance(mask, np.ndarray) and mask.ndim == 3:  # (N·H, L, S) as PyTorch accepts
        mask = mask.reshape(n, heads, *mask.shape[1:])
    out, weights = attention(
        split(q),
        split(k),
        split(v),
        mask=mask,
        key_padding_mask=key_padding_mask,
        need_weights=need_weights,
    )
    out = out.transpose(0, 2, 1, 3).reshape(n, length, embed)
    out = out @ params.out_proj_weight.astype(dtype).T
    if params.out_proj_bias is not None:
        out = out + params.out_proj_bias.astype(dtype)
    if weights is not None and average_attn_weights:
        weights = weights.mean(axis=1)
    if not batch_first:
        out = np.swapaxes(out, 0, 1)
    if unbatched:
        out = out[:, 0]
        weights = None if weights is None else weights[0]
    return out, weights
