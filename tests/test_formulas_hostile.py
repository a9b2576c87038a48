"""Arbitrary text never breaks the formula checker: only our own error, and never slowly."""

from __future__ import annotations

import contextlib

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
