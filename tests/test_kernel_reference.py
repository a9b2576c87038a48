"""Our kernel against PyTorch 2.13's reference implementations (skipped without torch)."""

import numpy as np
import pytest

from attnkb.kernel import MultiheadParams, attention, multi_head_attention
from tests.conftest import stable_seed

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-10}, np.float32: {"rtol": 1e-5, "atol": 1e-6}}


def rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def close(ours, theirs, dtype):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), **TOL[dtype])


SHAPES = [  # (batch dims, L, S, E, Ev)
    ((), 1, 1, 1, 1),
    ((2,), 5, 5, 4, 3),
    ((2, 3), 4, 7, 8, 5),
    ((1, 2), 9, 3, 16, 16),
    ((3,), 33, 65, 8, 4),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal", "lower_right"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_sdpa(dtype, shape, mask_kind, need_weights):
    rng = np.random.default_rng(stable_seed(shape, mask_kind))
    batch, length, source, e, ev = shape
    q, k, v = (rand(rng, (*batch, n, d), dtype) for n, d in ((length, e), (source, e), (source, ev)))
    tq, tk, tv = map(torch.from_numpy, (q, k, v))
    kwargs, ours_mask = {}, None
    if mask_kind == "bool":
        m = rng.random((length, source)) > 0.4
        m[0] = False  # a fully masked row: zeros, not NaN
        kwargs["attn_mask"], ours_mask = torch.from_numpy(m), m
    elif mask_kind == "float":
        m = rng.standard_normal((*batch, length, source)).astype(dtype)
        kwargs["attn_mask"], ours_mask = torch.from_numpy(m), m
    elif mask_kind == "causal":
        kwargs["is_causal"], ours_mask = True, "causal"
    elif mask_kind == "lower_right":
        from torch.nn.attention.bias import causal_lower_right

        kwargs["attn_mask"], ours_mask = causal_lower_right(length, source), "causal_lower_right"
    expected = F.scaled_dot_product_attention(tq, tk, tv, **kwargs)
    out, weights = attention(q, k, v, mask=ours_mask, need_weights=need_weights)
    assert out.dtype == dtype
    close(out, expected, dtype)
    assert (weights is None) != need_weights


@pytest.mark.parametrize("length,source", [(3, 7), (7, 3)])
def test_is_causal_with_unequal_lengths(length, source):
    rng = np.random.default_rng(1)
    q, k, v = (
        rand(rng, (2, length, 4), np.float64),
        rand(rng, (2, source, 4), np.float64),
        rand(rng, (2, source, 4), np.float64),
    )
    expected = F.scaled_dot_product_attention(*map(torch.from_numpy, (q, k, v)), is_causal=True)
    close(attention(q, k, v, mask="causal")[0], expected, np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_custom_scale_and_gqa(dtype):
    rng = np.random.default_rng(2)
    q, k, v = (
        rand(rng, (2, 8, 5, 4), dtype),
        rand(rng, (2, 2, 6, 4), dtype),
        rand(rng, (2, 2, 6, 3), dtype),
    )
    tq, tk, tv = map(torch.from_numpy, (q, k, v))
    expected = F.scaled_dot_product_attention(tq, tk, tv, scale=0.3, enable_gqa=True)
    close(attention(q, k, v, scale=0.3, enable_gqa=True)[0], expected, dtype)
    close(attention(q, k, v, scale=0.3, enable_gqa=True, need_weights=False)[0], expected, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("padding", [False, True])
def test_multihead_matches_nn_multiheadattention(dtype, batch_first, average, padding):
    torch.manual_seed(0)
    embed, heads, n, length, source = 12, 3, 2, 5, 6
    mha = torch.nn.MultiheadAttention(
        embed,
        heads,
        batch_first=batch_first,
        dtype=torch.float64 if dtype == np.float64 else torch.float32,
    )
    with torch.no_grad():
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    mha.eval()
    rng = np.random.default_rng(3)
    qshape = (n, length, embed) if batch_first else (length, n, embed)
    kshape = (n, source, embed) if batch_first else (source, n, embed)
    q, k, v = rand(rng, qshape, dtype), rand(rng, kshape, dtype), rand(rng, kshape, dtype)
    kpm = None
    if padding:
        kpm = np.zeros((n, source), dtype=bool)
        kpm[0, -2:] = True
    expected, expected_w = mha(
        *map(torch.from_numpy, (q, k, v)),
        key_padding_mask=None if kpm is None else torch.from_numpy(kpm),
        need_weights=True,
        average_attn_weights=average,
    )
    params = MultiheadParams(
        heads,
        mha.in_proj_weight.detach().numpy(),
        mha.out_proj.weight.detach().numpy(),
        mha.in_proj_bias.detach().numpy(),
        mha.out_proj.bias.detach().numpy(),
    )
    out, w = multi_head_attention(
        q, k, v, params, batch_first=batch_first, key_padding_mask=kpm, average_attn_weights=average
    )
    close(out, expected, dtype)
    close(w, expected_w, dtype)
