"""The formula corpus: correct formulas in the spellings notes use are checked and agree, and
each slip a learner makes, injected into every checked formula, is caught.

Figures: ``python -m tests.formula_corpus``.
"""

from __future__ import annotations

import pytest

from tests import formula_corpus as corpus

COVERAGE = 0.80  # checked / checkable
CAUGHT = 0.85  # mutants caught, leaving out those correct for another reading


@pytest.fixture(scope="module")
def figures() -> corpus.Figures:
    return corpus.measure()


def test_the_corpus_is_large_and_says_where_each_formula_comes_from():
    entries = corpus.load()
    assert len(entries) >= 60 and sum(e.checkable for e in entries) >= 80
    assert len({e.id for e in entries}) == len(entries)
    assert all(e.source and e.title and e.text for e in entries)


def test_no_correct_formula_fails(figures):
    assert figures.false_alarms == []


def test_coverage_of_checkable_claims(figures):
    assert figures.checked / figures.checkable >= COVERAGE, corpus.report(figures)


def test_injected_slips_are_caught(figures):
    applied = sum(n - other for n, _, other in figures.slips.values())
    caught = sum(c for _, c, _ in figures.slips.values())
    assert caught / applied >= CAUGHT, corpus.report(figures)
    for slip, (n, _caught, other) in figures.slips.items():
        assert n - other > 0, f"{slip} was never injected into a checked formula"


@pytest.mark.parametrize(
    "slip, rhs, latex, mutated",
    [
        (
            "dropped exp",
            r"\frac{\exp(e_{ij})}{\sum_k \exp(e_{ik})}",
            True,
            r"\frac{(e_{ij})}{\sum_k (e_{ik})}",
        ),
        ("dropped exp", r"\frac{e^{x_i}}{\sum_j e^{x_j}}", True, r"\frac{{x_i}}{\sum_j {x_j}}"),
        (
            "dropped √d_k",
            r"\mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)V",
            True,
            r"\mathrm{softmax}\left({QK^\top}\right)V",
        ),
        ("dropped √d_k", "softmax(Q @ K^T / √d_k) @ V", False, "softmax(Q @ K^T) @ V"),
        ("squared √d_k", "softmax(QK^T / sqrt(d_k)) V", False, "softmax(QK^T / (d_k)) V"),
        ("scale outside softmax", "softmax(Q·Kᵀ / √d_k) · V", False, "1/√d_k * softmax(Q·Kᵀ) · V"),
        ("swapped Q/K", r"\mathrm{softmax}(QK^\top)V", True, r"\mathrm{softmax}(KQ^\top)V"),
        ("swapped Q/K", r"\sum_k \exp(q_i \cdot k_k)", True, r"\sum_k \exp(k_i \cdot q_k)"),
        ("wrong transpose", r"\mathrm{softmax}(QK^\top)V", True, r"\mathrm{softmax}(Q^\top K)V"),
        ("wrong transpose", r"q_i^\top k_j", True, r"q_i k_j"),
        ("flipped mask sign", r"\mathrm{softmax}(S + M)", True, r"\mathrm{softmax}(S - M)"),
        (
            "flipped mask side",
            r"\begin{cases} 0 & j \le i \\ -\infty & j > i \end{cases}",
            True,
            r"\begin{cases} 0 & i \le j \\ -\infty & i > j \end{cases}",
        ),
    ],
)
def test_each_slip_is_written_as_a_learner_would(slip, rhs, latex, mutated):
    assert corpus.SLIPS[slip](rhs, latex) == mutated


def test_a_slip_goes_into_the_right_side_only():
    text = r"$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top)V$"
    swapped = dict(corpus.mutants(text))["swapped Q/K"]
    assert swapped == r"$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(KQ^\top)V$"
    wrong_index = dict(corpus.mutants(r"$c_i = \sum_j \alpha_{ij} h_j$"))["sum over wrong index"]
    assert wrong_index == r"$c_i = \sum_i \alpha_{ij} h_j$"
