"""Arbitrary text never breaks the formula checker: only our own error, and never slowly."""

from __future__ import annotations

import contextlib
import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb.errors import AttnkbError
from attnkb.formulas.check import check_formulas
from attnkb.formulas.grammar import parse
from attnkb.formulas.inputs import random_inputs

PIECES = st.sampled_from(
    [
        "A",
        "O",
        "Q",
        "K",
        "V",
        "M",
        "q",
        "k_j",
        "v_j",
        "\\alpha_{ij}",
        "e_{ti}",
        "d_k",
        "W^O",
        "x",
        "=",
        "+",
        "-",
        "/",
        "^",
        "_",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "|",
        ",",
        ";",
        "&",
        "\\\\",
        "\\frac",
        "\\sqrt",
        "\\sum_j",
        "\\mathrm{softmax}",
        "\\exp",
        "\\top",
        "^T",
        "\\cdot",
        "@",
        "√",
        "Σ",
        "ᵀ",
        "\\infty",
        "\\begin{cases}",
        "\\end{cases}",
        "\\le",
        "\\text{otherwise}",
        "\\dots",
        "2",
        "0.5",
        "\\mathrm{Concat}",
        "\\mathrm{head}_i",
        "\\left(",
        "\\right)",
        "\\unknown",
        " ",
        "\\mathrm{score}",
        "\\phi",
        "\\tanh",
        "9^{9^{9}}",
        "\\bar{K}",
        "'",
        "\\|",
        "⊤",
        "\u200b",
        "\u202e",
        "\\tag{1}",
        "s_{t-1}",
        "h_j^e",
        "**",
        ".T",
        "\\sqrt[3]",
        "\\triangleq",
        "×",
        "Q_{dec}",
        "\\left[",
        "\\right]",
        "\\sum",
        "QK^\\top",
        "(QK^\\top)",
        "\\begin{pmatrix}",
        "\\def",
        "\\input{x}",
        "\\write18",
    ]
)
FORMULAS = st.lists(PIECES, max_size=40).map("".join) | st.text(max_size=300)
SETTINGS = settings(deadline=1000, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
BLOCKS = [(7, random_inputs("scaled_dot")), (9, random_inputs("causal"))]


@SETTINGS
@given(FORMULAS, st.booleans())
def test_parsing_raises_only_our_error(text, latex):
    with contextlib.suppress(AttnkbError):
        parse(text, latex)


@SETTINGS
@given(FORMULAS)
def test_checking_any_text_gives_a_verdict(text):
    body = f"$${text}$$\n\n$O = {text}$\n\n```\nA = {text}\n```\n"
    try:
        results = check_formulas("n.md", body, 1, BLOCKS, [1])
    except AttnkbError:
        return
    assert all(r.status in ("pass", "fail", "unsupported", "context") for r in results)
    assert all("\n" not in r.formula and "\x1b" not in r.formula for r in results)


# --- no false alarms: the attention formula in the spellings real notes use --------------------

NAMES = [
    r"\mathrm{Attention}",
    r"\text{Attention}",
    r"\operatorname{Attention}",
    "Attention",
    r"\mathrm{Attn}",
]
SOFTMAX = [r"\mathrm{softmax}", r"\text{softmax}", r"\operatorname{softmax}", "softmax", r"\mathrm{Softmax}"]
TRANSPOSED = [
    "K^T",
    "K^\\top",
    "K^{T}",
    "K^{\\top}",
    "K^{\\mathsf T}",
    "K^{\\mathsf{T}}",
    "K^\\intercal",
    "K^⊤",
]
ROOTS = [
    r"\sqrt{d_k}",
    r"\sqrt{d}",
    r"\sqrt{d_{k}}",
    r"\sqrt{d_\text{k}}",
    r"d_k^{1/2}",
    r"\sqrt{d_{\text{k}}}",
]
TIMES = ["", " ", r"\,", r" \cdot ", r" \times "]
OPEN_CLOSE = [
    ("(", ")"),
    (r"\left(", r"\right)"),
    (r"\Big(", r"\Big)"),
    (r"\!\left(", r"\right)"),
    (r"\left[", r"\right]"),
]
SCALED = ["frac", "slash", "times inverse"]


SLIPS = ["no root", "root multiplies", "swapped", "no transpose"]


@st.composite
def spelled_attention(draw, slip: str | None = None):
    name, softmax = draw(st.sampled_from(NAMES)), draw(st.sampled_from(SOFTMAX))
    kt, root = draw(st.sampled_from(TRANSPOSED)), draw(st.sampled_from(ROOTS))
    times, (left, right) = draw(st.sampled_from(TIMES)), draw(st.sampled_from(OPEN_CLOSE))
    q, k = ("K", "Q") if slip == "swapped" else ("Q", "K")
    kt = kt.replace("K", k) if slip != "no transpose" else k
    scores = f"{q}{draw(st.sampled_from(TIMES))}{kt}"
    how = draw(st.sampled_from(SCALED))
    if slip == "no root":
        scaled = scores
    elif slip == "root multiplies":
        scaled = rf"{scores} \cdot {root}"
    elif how == "frac":
        scaled = rf"\frac{{{scores}}}{{{root}}}"
    elif how == "slash":
        scaled = f"{scores} / {root}"
    else:
        scaled = rf"\frac{{1}}{{{root}}} {scores}"
    args = draw(st.sampled_from(["(Q, K, V)", "(Q,K,V)", ""]))
    delim = draw(st.sampled_from(["$", "$$"]))
    return f"{delim}{name}{args} = {softmax}{left}{scaled}{right}{times}V{delim}"


def _block(rows: int, keys: int, width: int, seed: int) -> list:
    from attnkb.examples.runner import run_block
    from attnkb.formulas.inputs import from_block

    text = (
        f"op: scaled_dot\nq: {{random: [{rows}, {width}], seed: {seed}}}\n"
        f"k: {{random: [{keys}, {width}], seed: {seed + 1}}}\nv: {{random: [{keys}, 3], seed: {seed + 2}}}\n"
    )
    return [(9, from_block(run_block("n.md", 9, text)))]


SHAPES = st.tuples(st.integers(2, 6), st.integers(2, 6), st.integers(2, 8), st.integers(0, 1000))


def _verdict(formula: str, shape) -> object:
    rows = check_formulas("n.md", formula + "\n", 1, _block(*shape), [1])
    (row,) = [r for r in rows if r.status != "context"]
    return row


@SETTINGS
@given(spelled_attention(), SHAPES)
def test_the_attention_formula_in_any_spelling_agrees_with_a_block(formula, shape):
    row = _verdict(formula, shape)
    assert row.status == "pass", (formula, row.message)


@SETTINGS
@given(st.sampled_from(SLIPS).flatmap(spelled_attention), SHAPES)
def test_a_slip_in_any_spelling_fails(formula, shape):
    row = _verdict(formula, shape)
    assert row.status == "fail", (formula, row.message)


# --- time: products of large matrices are refused by the work budget, not computed ---------------

PRODUCTS = st.sampled_from([
    "QK^\\top", "(QK^\\top)", "V", "V^\\top", "Q", "K^\\top", "\\mathrm{softmax}(", ")", "+", "\\exp(", "M",
    "/\\sqrt{d_k}", "\\sum_j", "q_i", "k_j", "v_j", "\\alpha_{ij}", "\\cdot", "e_{ij}", "\\frac{", "}{", "}",
])  # fmt: skip


@functools.cache
def _large_block() -> list:
    from attnkb.examples.runner import run_block
    from attnkb.formulas.inputs import from_block

    text = (
        "op: scaled_dot\nq: {random: [400, 32], seed: 1}\nk: {random: [400, 32], seed: 2}\n"
        "v: {random: [400, 32], seed: 3}\nmask: causal\n"
    )
    return [(9, from_block(run_block("n.md", 9, text)))]


@settings(deadline=1000, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PRODUCTS, min_size=1, max_size=25).map("".join))
def test_products_on_a_large_block_stay_fast(formula):
    try:
        rows = check_formulas("n.md", f"$$O = {formula}$$\n", 1, _large_block(), [1])
    except AttnkbError:
        return
    assert all(r.status in ("pass", "fail", "unsupported", "context") for r in rows)
