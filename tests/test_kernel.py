"""Kernel properties that hold without PyTorch, and small cases worked by hand."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attnkb.kernel import (
    KernelError,
    MultiheadParams,
    attention,
    blocked_attention,
    linear_attention,
    linformer_attention,
    local_attention,
    multi_head_attention,
    softmax,
    window_mask,
)

finite = st.floats(-5, 5, allow_nan=False, width=64)


def qkv(draw, length, source, e=3, ev=2):
    q = draw(arrays(np.float64, (length, e), elements=finite))
    k = draw(arrays(np.float64, (source, e), elements=finite))
    v = draw(arrays(np.float64, (source, ev), elements=finite))
    return q, k, v


@st.composite
def problems(draw):
    return qkv(draw, draw(st.integers(1, 7)), draw(st.integers(1, 7)))


@settings(max_examples=80, deadline=None)
@given(problems(), st.sampled_from(["dot", "scaled_dot", "cosine"]))
def test_rows_sum_to_one_and_output_is_weighted_average(p, score):
    q, k, v = p
    out, w = attention(q, k, v, score=score)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert (w >= 0).all()
    np.testing.assert_allclose(out, w @ v, rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(problems(), st.integers(1, 9), st.integers(1, 9), st.sampled_from([None, "causal"]))
def test_blocked_equals_plain(p, bq, bk, mask):
    q, k, v = p
    expected, _ = attention(q, k, v, mask=mask)
    got = blocked_attention(
        q,
        k,
        v,
        block_size=(bq, bk),
        mask=None
        if mask is None
        else np.where(np.tril(np.ones((q.shape[0], k.shape[0]), bool)), 0.0, -np.inf),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(
    problems(),
    st.integers(1, 9),
    st.integers(1, 9),
    st.sampled_from(["causal", "causal_lower_right"]),
    st.sampled_from([1.0, 30.0]),  # 30: scores too large for the fixed-shift shortcut
    st.booleans(),
)
def test_causal_blocked_path_equals_the_plain_one(p, bq, bk, mask, spread, pad):
    q, k, v = (x * spread for x in p)
    padding = None
    if pad:  # key padding on top of the causal mask: both must apply
        padding = np.zeros((1, k.shape[0]), bool)
        padding[0, -1] = True
    q, k, v = (x[None, None] for x in (q, k, v))  # (N, H, T, E), as key_padding_mask (N, S) needs
    expected, _ = attention(q, k, v, mask=mask, key_padding_mask=padding)
    got, none = attention(
        q, k, v, mask=mask, key_padding_mask=padding, need_weights=False, block_size=(bq, bk)
    )
    assert none is None
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_causal_blocked_path_never_holds_the_whole_mask():
    import tracemalloc

    rng = np.random.default_rng(0)
    n = 1500
    q, k, v = (rng.standard_normal((n, 8), dtype=np.float32) for _ in range(3))
    expected, _ = attention(q, k, v, need_weights=False, block_size=(128, 256))
    tracemalloc.start()
    got, _ = attention(q, k, v, mask="causal", need_weights=False, block_size=(128, 256))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < n * n  # a boolean L×S mask alone is n² bytes, the float one 4·n²
    np.testing.assert_allclose(got[-1], expected[-1], rtol=1e-5, atol=1e-6)  # the last row sees all


def test_blocked_path_with_scores_too_large_for_the_shortcut():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 40, 8)) * 20 for _ in range(3))
    expected, _ = attention(q, k, v)
    got, none = attention(q, k, v, need_weights=False, block_size=7)
    assert none is None
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    q32, k32, v32 = (x.astype(np.float32) for x in (q, k, v))
    got32, _ = attention(q32, k32, v32, need_weights=False, block_size=(8, 16))
    assert got32.dtype == np.float32 and np.isfinite(got32).all()


@settings(max_examples=60, deadline=None)
@given(problems(), finite)
def test_adding_a_constant_to_a_score_row_changes_nothing(p, c):
    q, k, v = p
    s = q @ k.T
    np.testing.assert_allclose(softmax(s + c), softmax(s), rtol=1e-9, atol=1e-12)
    mask = np.zeros_like(s)
    mask[0] = c
    np.testing.assert_allclose(
        attention(q, k, v, score="dot", mask=mask)[1], softmax(s), rtol=1e-9, atol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 7).flatmap(
        lambda n: st.tuples(arrays(np.float64, (n, 3), elements=finite), st.permutations(range(n)))
    )
)
def test_self_attention_is_permutation_equivariant(case):
    x, perm = case
    perm = np.array(perm)
    out, _ = attention(x, x, x)
    out_p, _ = attention(x[perm], x[perm], x[perm])
    np.testing.assert_allclose(out_p, out[perm], rtol=1e-10, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_causal_weights_are_zero_above_the_diagonal(p):
    q, k, v = p
    _, w = attention(q, k, v, mask="causal")
    assert np.all(w[np.triu_indices(q.shape[0], 1, k.shape[0])] == 0)


def test_hand_worked_scaled_dot():
    q = np.array([[1.0, 0.0]])
    k = np.array([[1.0, 0.0], [0.0, 1.0]])
    v = np.array([[1.0, 2.0], [3.0, 4.0]])
    out, w = attention(q, k, v)
    a = np.exp(1 / np.sqrt(2))
    np.testing.assert_allclose(w, [[a / (a + 1), 1 / (a + 1)]])
    np.testing.assert_allclose(out, [[1 + 2 / (a + 1), 2 + 2 / (a + 1)]])


def test_fully_masked_row_gives_zeros_and_hard_attention_ties_go_first():
    q = np.ones((2, 2))
    k = np.ones((3, 2))
    v = np.arange(6.0).reshape(3, 2)
    out, w = attention(q, k, v, mask=np.array([[False] * 3, [True] * 3]))
    assert np.all(out[0] == 0) and np.all(w[0] == 0)
    out, w = attention(q, k, v, hard=True)
    assert w.tolist() == [[1, 0, 0], [1, 0, 0]] and out.tolist() == [[0, 1], [0, 1]]


def test_additive_general_concat_scores_by_hand():
    q = np.array([[1.0, 2.0]])
    k = np.array([[0.5, -1.0], [2.0, 0.0]])
    v = np.eye(2)
    w = np.array([[1.0, 0.0], [0.0, 2.0]])
    _, weights = attention(q, k, v, score="general", params={"w": w})
    np.testing.assert_allclose(weights, softmax(np.array([[0.5 - 4.0, 2.0]])))
    wq, wk, va = np.eye(2), np.eye(2), np.array([1.0, -1.0])
    _, weights = attention(q, k, v, score="additive", params={"w_q": wq, "w_k": wk, "v": va})
    s = [np.tanh(q[0] + k[j]) @ va for j in range(2)]
    np.testing.assert_allclose(weights, softmax(np.array([s])))
    _, wc = attention(q, k, v, score="concat", params={"w": np.vstack([wq, wk]), "v": va})
    np.testing.assert_allclose(wc, weights)


def test_linear_attention_matches_its_formula():
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((5, 3)) for _ in range(3))
    phi = lambda x: np.where(x > 0, x + 1, np.exp(x))  # noqa: E731
    raw = phi(q) @ phi(k).T
    out, w = linear_attention(q, k, v, need_weights=True)
    np.testing.assert_allclose(out, (raw / raw.sum(1, keepdims=True)) @ v, rtol=1e-5)
    np.testing.assert_allclose(w.sum(-1), 1, rtol=1e-5)
    out_c, w_c = linear_attention(q, k, v, causal=True, need_weights=True)
    rc = np.tril(raw)
    np.testing.assert_allclose(out_c, (rc / rc.sum(1, keepdims=True)) @ v, rtol=1e-5)
    np.testing.assert_allclose(w_c, rc / rc.sum(1, keepdims=True), rtol=1e-5)


def test_local_attention_equals_window_masked_attention():
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((2, 9, 4)) for _ in range(3))
    for window in (0, 1, 3, 20):
        expected, ew = attention(q, k, v, mask=window_mask(9, 9, window))
        out, w = local_attention(q, k, v, window=window, need_weights=True)
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(w, ew, rtol=1e-10, atol=1e-12)


def test_linformer_with_identity_projection_is_plain_attention():
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal((4, 3)) for _ in range(3))
    out, w = linformer_attention(q, k, v, np.eye(4))
    np.testing.assert_allclose(out, attention(q, k, v)[0])
    out, w = linformer_attention(q, k, v, rng.standard_normal((2, 4)))
    assert w.shape == (4, 2)


def test_multihead_shapes_and_unbatched():
    params = MultiheadParams.random(8, 2, seed=1)
    x = np.random.default_rng(7).standard_normal((5, 8))
    out, w = multi_head_attention(x, x, x, params)
    assert out.shape == (5, 8) and w.shape == (5, 5)
    _, w = multi_head_attention(
        x[None], x[None], x[None], params, batch_first=True, average_attn_weights=False
    )
    assert w.shape == (1, 2, 5, 5)


@pytest.mark.parametrize(
    "args,kwargs,message",
    [
        ((np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 1))), {}, "share their last dimension"),
        ((np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 1))), {}, "positions"),
        ((np.ones((2, 3), int), np.ones((2, 3)), np.ones((2, 1))), {}, "float32 or float64"),
        ((np.ones((2, 3), np.float32), np.ones((2, 3)), np.ones((2, 1))), {}, "one dtype"),
        ((np.full((2, 3), np.nan), np.ones((2, 3)), np.ones((2, 1))), {}, "NaN"),
        ((np.ones((2, 3)),) * 3, {"max_elements": 3}, "over the limit"),
        ((np.ones((2, 3)),) * 3, {"mask": "sideways"}, "unknown mask"),
        ((np.ones((2, 3)),) * 3, {"score": "general"}, "needs parameter 'w'"),
        ((np.ones((2, 3)),) * 3, {"mask": np.ones((3, 3), bool)}, "does not fit"),
    ],
)
def test_clear_errors(args, kwargs, message):
    with pytest.raises(KernelError, match=message):
        attention(*args, **kwargs)
    assert issubclass(KernelError, ValueError)


def test_test_cases_are_seeded_the_same_in_every_process():
    """The PyTorch reference cases draw their inputs from ``stable_seed``: a failure replays."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = "from tests.conftest import stable_seed; print(stable_seed(((2, 3), 4, 7, 8, 5), 'causal'))"
    root = Path(__file__).resolve().parents[1]
    seeds = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": salt, "PYTHONPATH": str(root)},
        ).stdout
        for salt in ("1", "2")
    }
    assert len(seeds) == 1 and seeds.pop().strip().isdigit()
