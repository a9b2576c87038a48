"""Formulas in notes checked against the kernel: each form passes when right and fails when
wrong, with the hint that names the slip."""

from __future__ import annotations

import pytest

from attnkb.examples.runner import run_note_examples
from attnkb.formulas import check_note
from attnkb.formulas.find import find_formulas
from attnkb.note import parse_note

CAUSAL = """```attention
op: scaled_dot
q: [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]]
k: [[0.5, 0.0], [0.0, 1.0], [1.0, 0.5], [1.0, -1.0]]
v: [[1, 2], [3, 4], [5, 6], [7, 8]]
mask: causal
```"""
SCALED = """```attention
op: scaled_dot
q: [[1.0, 0.0, 2.0], [0.0, 1.0, 0.5]]
k: [[0.5, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.5, -1.0], [2.0, 0.0, 0.0]]
v: [[1, 2], [3, 4], [5, 6], [7, 8]]
```"""
MULTIHEAD = """```attention
op: multihead
x: [[0.5, -0.2, 0.1, 0.9], [0.3, 0.8, -0.5, 0.0], [-0.7, 0.1, 0.4, 0.2]]
heads: 2
seed: 7
mask: causal
```"""
HEAD = r"$\mathrm{head}_i = \mathrm{Attention}(XW_i^Q, XW_i^K, XW_i^V)$"


def verdicts(make_vault, body: str) -> list:
    root = make_vault({"n.md": f"# N\n\n{body}\n"})
    note = parse_note("n.md", (root / "n.md").read_bytes())
    return check_note(root, note, run_note_examples(note))


def one(make_vault, body: str):
    rows = [r for r in verdicts(make_vault, body) if r.status != "context"]
    assert len(rows) == 1, [(r.formula, r.status, r.message) for r in rows]
    return rows[0]


RIGHT = {
    "latex display": r"$$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right) V$$",
    "text and ^T": r"$\text{Attention}(Q,K,V) = \text{softmax}(\frac{QK^T}{\sqrt{d_k}})V$",
    "brackets and mathsf": r"\(\operatorname{Attention}(Q,K,V)=\operatorname{softmax}(QK^{\mathsf T}/\sqrt{d_k})V\)",
    "plain @": "```\nAttention(Q, K, V) = softmax(Q @ K^T / √d_k) @ V\n```",
    "plain Attn": "```text\nAttn = Softmax(Q @ K^T / √d_k) @ V\n```",
    "plain dots": "```math\nAttention(Q,K,V) = softmax(Q·Kᵀ/√d_k)·V\n```",
    "weights": r"$A = \mathrm{softmax}(QK^\top / \sqrt{d_k})$",
    "output from weights": r"$$P = \mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d}}\right), \qquad O = PV$$",
    "masked weights": r"$A = \mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}} + M\right)$, "
    r"$M_{ij} = \begin{cases} 0 & j \le i \\ -\infty & j > i \end{cases}$",
    "dot score": r"$\mathrm{score}(q, k_j) = q^\top k_j$",
    "scaled score": r"$\mathrm{score}(q, k_j) = \frac{q \cdot k_j}{\sqrt{d_k}}$",
    "general score": r"$\mathrm{score}(q, k_j) = q W k_j^\top$",
    "additive score": r"$e_j = v_a^\top \tanh(q W_q + k_j W_k)$",
    "additive, columns": "```\nscore(s_t, h_i) = v_a^T * tanh(W_a * s_t + U_a * h_i)\n```",
    "weights by exp": r"$\alpha_{ij} = \frac{\exp(e_{ij})}{\sum_l \exp(e_{il})}$",
    "weights chain": "```\nα_ti = softmax(e_ti) = exp(e_ti) / Σ_j exp(e_tj)\n```",
    "softmax definition": r"$\mathrm{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}$",
    "softmax shift": r"$\mathrm{softmax}(x + c) = \mathrm{softmax}(x)$",
    "context vector": r"$c_i = \sum_j \alpha_{ij} v_j$",
    "context vector, plain": "```\nc_t = Σ_i α_ti * h_i\n```",
    "unicode scripts": "```\nA_{i,j} = exp(q_i · k_j / √d_k) / Σₗ exp(q_i · k_l / √d_k)\n```",
    "one query": r"$o = \sum_j \mathrm{softmax}_j\big(\mathrm{score}(q, k_j)\big)\, v_j$",
    "self-attention": r"$\mathrm{SelfAttn}(X) = \mathrm{softmax}\left(\frac{XX^\top}{\sqrt{d_k}}\right)X$",
    "linear attention": r"$o_i = \frac{\sum_j \phi(q_i)^\top \phi(k_j)\, v_j}{\sum_j \phi(q_i)^\top \phi(k_j)}$",
    "mathsf T in a frac": r"$\mathrm{Attention}(Q,K,V) = \mathrm{softmax}\left(\frac{Q K^{\mathsf T}}{\sqrt{d_k}}\right) V$",
    "unicode ⊤": "```\nAttention(Q, K, V) = softmax(QK^⊤ / √d_k) V\n```",
    "zero-width and direction marks": "$A\u200b = \\mathrm{softmax}(Q\u200eK^\\top/\\sqrt{d_k})\ufeff$",
    "≜ and a tag": r"$\mathrm{Attention}(Q,K,V) \triangleq \mathrm{softmax}(QK^\top/\sqrt{d_k})V \tag{1} \label{eq:a}$",
    "matrix = its rows": r"$O = \sum_j \alpha_{ij} v_j$",
    "Bahdanau s_{t-1}": r"$e_{tj} = v_a^\top \tanh(W_a s_{t-1} + U_a h_j)$",
    "Bahdanau, unicode scripts": "```\neₜⱼ = v_aᵀ tanh(W_a sₜ₋₁ + U_a hⱼ)\n```",
    "unicode scripts on α": "```\nαᵢⱼ = exp(eᵢⱼ) / Σₖ exp(eᵢₖ)\n```",
    "numpy spelling": "```\nAttention(Q, K, V) = softmax((Q @ K.T) / d_k**0.5) @ V\n```",
    "× as the product": "```\nAttention(Q, K, V) = softmax(Q × K^T / √d_k) × V\n```",
    "Σ with its index left out": "```\nc_t = Σ α_ti × h_i\n```",
    "encoder states h^e": r"$c_i = \sum_j \alpha_{ij} h_j^e$",
    "cross-attention names": "```\nCrossAttention(Q_dec, K_enc, V_enc) = softmax(Q_dec × K_enc^T / √d_k) × V_enc\n```",
    "multi-head, random heads": r"$\mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \ldots, \mathrm{head}_h) W^O$, "
    r"$\mathrm{head}_i = \mathrm{Attention}(QW_i^Q, KW_i^K, VW_i^V)$",
    "multi-head, plain": "```\nMultiHead(Q,K,V) = Concat(head₁, head₂, ..., headₕ)W^O\n"
    "where head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)\n```",
    "multi-head self-attention": r"$\mathrm{MHA}(X) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)W^O$, "
    r"$\mathrm{head}_i = \mathrm{softmax}\left(\frac{XW_i^Q (XW_i^K)^\top}{\sqrt{d_k}}\right) XW_i^V$",
    "equation environment": r"$$\begin{equation} \mathrm{Attention}(Q,K,V) = \mathrm{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V"
    r" \end{equation}$$",
    "σ naming softmax": r"$A = \sigma\left(\frac{QK^\top}{\sqrt{d_k}}\right)$",
    "stable softmax with max(x)": r"$\text{softmax}(x)_i = \frac{e^{x_i - \max(x)}}{\sum_j e^{x_j - \max(x)}}$",
    "spacing before a formula": r"$P = \mathrm{softmax}(S), \; S = QK^\top / \sqrt{d_k}, \; O = PV$",
    "math italic pasted from a PDF": "```\nAttention(𝑄, 𝐾, 𝑉) = softmax(𝑄𝐾ᵀ/√𝑑ₖ)𝑉\n```",
    "chain to rows": r"$\mathrm{Attention}(Q,K,V) = \mathrm{softmax}(QK^T/\sqrt{d_k})V = \sum_j \alpha_{ij} v_j$",
}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_correct_formulas_agree_with_random_inputs(make_vault, name):
    rows = [r for r in verdicts(make_vault, RIGHT[name]) if r.status != "context"]
    assert rows
    for r in rows:
        assert r.status == "pass", r.message
        assert r.block_line is None and (r.op or r.target == "softmax")


def test_the_agreeing_score_op_is_named(make_vault):
    assert one(make_vault, RIGHT["dot score"]).op == "dot"
    assert one(make_vault, RIGHT["general score"]).op == "general"
    assert one(make_vault, RIGHT["additive score"]).op == "additive"
    column = one(make_vault, RIGHT["additive, columns"])
    assert "column-vector convention" in column.message


WRONG = {  # formula, the hint's start (values differ)
    "no exp": (r"$\alpha_i = \text{score}(q, k_i) / \sum_j \text{score}(q, k_j)$", "missing exp"),
    "no exp in softmax": (r"$\mathrm{softmax}(x)_i = \frac{x_i}{\sum_j x_j}$", "missing exp"),
    "√d_k multiplied": (r"$O = \mathrm{softmax}(QK^\top \sqrt{d_k})V$", "√d_k multiplies"),
    "scale outside": (
        "```\nAttention(Q, K, V) = softmax(Q @ K^T) @ V / √d_k\n```",
        "the √d_k scaling is outside",
    ),
    "mask side": (
        r"$A = \mathrm{softmax}(QK^\top/\sqrt{d_k} + M)$, $M_{ij} = \begin{cases} -\infty & j \le i \\ 0 & j > i \end{cases}$",
        "wrong mask side",
    ),
    "no exp, e and α": (r"$\alpha_{ij} = \frac{e_{ij}}{\sum_k e_{ik}}$", "missing exp"),
    "mask +∞": (
        r"$A = \mathrm{softmax}(QK^\top/\sqrt{d_k} + M)$, $M_{ij} = \begin{cases} 0 & j \le i \\ \infty & j > i \end{cases}$",
        "wrong mask sign",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_formulas_fail_with_the_slip_named(make_vault, name):
    formula, hint = WRONG[name]
    r = one(make_vault, formula)
    assert r.status == "fail", r.message
    assert r.hint.startswith(hint), r.message
    assert r.max_abs_diff is not None and r.max_abs_diff > 0.01


@pytest.mark.parametrize(
    "formula, hint",
    [
        (r"$O = V\,\mathrm{softmax}(QK^\top / \sqrt{d_k})$", "the product is in the wrong order"),
        (r"$A = \mathrm{softmax}(QK / \sqrt{d_k})$", "K needs a transpose"),
    ],
)
def test_products_that_do_not_conform_fail_with_the_slip_named(make_vault, formula, hint):
    r = one(make_vault, formula)
    assert r.status == "fail" and "shapes do not conform" in r.message
    assert r.hint.startswith(hint)


def test_missing_sqrt_fails_against_a_scaled_block_and_passes_against_a_dot_one(make_vault):
    formula = r"$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top)V$"
    r = one(make_vault, f"{formula}\n\n{SCALED}")
    assert (r.status, r.op, r.block_line) == ("fail", "scaled_dot", 5)
    assert r.hint.startswith("√d_k is missing")
    assert r.first_diff is not None and r.first_diff["kernel"] != r.first_diff["formula"]
    assert one(make_vault, f"{formula}\n\n{SCALED.replace('scaled_dot', 'dot')}").status == "pass"


@pytest.mark.parametrize(
    "formula",
    [
        r"$O = \mathrm{softmax}(KQ^\top / \sqrt{d_k}) V$",  # right only when Q = K
        "```\nc_t = Σ α_it × h_i\n```",
        r"$S = KQ^\top / \sqrt{d_k}$",  # linear attention has no S: the formula is not its own S
    ],
)
def test_formulas_right_only_for_self_attention_inputs_fail(make_vault, formula):
    r = one(make_vault, formula)
    assert r.status == "fail", r.message


ADDITIVE = """```attention
op: additive
q: [[1.0, 0.5], [0.3, -0.2]]
k: [[0.2, 0.1], [1.0, -1.0], [0.5, 0.5]]
w_q: {random: [2, WIDTH], seed: 1}
w_k: {random: [2, WIDTH], seed: 2}
v_a: {random: [WIDTH], seed: 3}
```"""


@pytest.mark.parametrize("width", [2, 3])  # square projections conform under every reading
@pytest.mark.parametrize(
    "formula",
    [
        r"$e_{ij} = v_a^\top \tanh(q_i W_q + k_j W_k)$",  # rows
        r"$e_{ij} = v_a^\top \tanh(W_q q_i + W_k k_j)$",  # columns, W_q read as its transpose
        r"$e_{ij} = v_a^\top \tanh(W_q^\top q_i + W_k^\top k_j)$",  # columns, W_q as the block stores it
    ],
)
def test_additive_scores_in_every_convention_agree_with_a_block(make_vault, formula, width):
    r = one(make_vault, f"{formula}\n\n{ADDITIVE.replace('WIDTH', str(width))}")
    assert r.status == "pass", r.message
    wrong = one(make_vault, f"{formula.replace('+', '-')}\n\n{ADDITIVE.replace('WIDTH', str(width))}")
    assert wrong.status == "fail", wrong.message


def test_a_wrong_additive_score_fails(make_vault):
    r = one(make_vault, r"$e_{tj} = v_a^\top \tanh(W_a s_{t-1} - U_a h_j)$")
    assert r.status == "fail" and r.first_diff is not None, r.message


def test_a_formula_of_another_score_beside_a_block_is_not_a_failure(make_vault):
    additive = ADDITIVE.replace("WIDTH", "3")
    r = one(make_vault, r"$S = QK^\top / \sqrt{d_k}$" + f"\n\n{additive}")
    assert r.status == "unsupported" and "op scaled_dot" in r.message and "op additive" in r.message, (
        r.message
    )
    wrong = one(make_vault, r"$S = KQ^\top / \sqrt{d_k}$" + f"\n\n{additive}")
    assert wrong.status == "fail", wrong.message


def test_wrong_mask_sign_against_a_causal_block(make_vault):
    r = one(make_vault, r"$A = \mathrm{softmax}(QK^\top / \sqrt{d_k} - M)$" + f"\n\n{CAUSAL}")
    assert r.status == "fail" and r.block_line == 5
    assert r.hint.startswith("wrong mask sign")
    right = one(make_vault, r"$A = \mathrm{softmax}(QK^\top / \sqrt{d_k} + M)$" + f"\n\n{CAUSAL}")
    assert right.status == "pass"


CAUSAL_ENTRIES = (
    r"$$A_{ij} = \frac{\exp(q_i \cdot k_j / \sqrt{d_k})}{\sum_{l \le i} \exp(q_i \cdot k_l / \sqrt{d_k})}"
    r"COND$$"
)


@pytest.mark.parametrize("condition", [r", \quad j \le i", r" \qquad (j \leq i)", r", \text{for } j \le i"])
def test_a_formula_is_compared_only_where_its_stated_condition_holds(make_vault, condition):
    r = one(make_vault, CAUSAL_ENTRIES.replace("COND", condition) + f"\n\n{CAUSAL}")
    assert r.status == "pass", r.message
    assert r.formula.endswith(("j \\le i", "j \\leq i")), r.formula
    wrong = one(make_vault, CAUSAL_ENTRIES.replace("COND", condition.replace("le", "ge")) + f"\n\n{CAUSAL}")
    assert wrong.status == "fail", wrong.message


def test_formula_without_the_blocks_mask_is_not_a_false_alarm(make_vault):
    r = one(make_vault, r"$O = \mathrm{softmax}(QK^\top / \sqrt{d_k})V$" + f"\n\n{CAUSAL}")
    assert r.status == "pass" and "without its mask" in r.message


def test_multihead_with_concat_and_head_i(make_vault):
    mha = r"$\mathrm{MHA}(X, X, X) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\,W^O$"
    r = one(make_vault, f"{HEAD}, {mha}\n\n{MULTIHEAD}")
    assert (r.status, r.target, r.op) == ("pass", "output", "multihead"), r.message
    without_wo = mha.replace(r"\,W^O", "")
    no_wo = one(make_vault, f"{HEAD}, {without_wo}\n\n{MULTIHEAD}")
    assert no_wo.status == "fail"
    wrong_head = HEAD.replace("XW_i^K", "XW_i^Q")
    assert one(make_vault, f"{wrong_head}, {mha}\n\n{MULTIHEAD}").status == "fail"


@pytest.mark.parametrize(
    "formula",
    [
        RIGHT["multi-head, random heads"].replace(" W^O$", "$"),
        RIGHT["multi-head, random heads"].replace("QW_i^Q", "QW_i^K"),
        RIGHT["multi-head self-attention"].replace(r"\sqrt{d_k}", "d_k"),
    ],
)
def test_wrong_multi_head_formulas_fail_with_random_heads(make_vault, formula):
    r = one(make_vault, formula)
    assert r.status == "fail" and r.op.startswith("multihead"), r.message


def test_context_vector_with_indices_swapped_fails(make_vault):
    r = one(make_vault, r"$c_i = \sum_j \alpha_{ji} v_j$")
    assert r.status == "fail" and r.first_diff is not None
    r = one(make_vault, r"$O = \sum_j \alpha_{ji} v_j$")
    assert r.status == "fail" and r.first_diff is not None


@pytest.mark.parametrize(
    "formula, reason",
    [
        (r"$\mathrm{score}(s_t, h_i) = v_a^\top \tanh(W_a [s_t; h_i])$", "[a; b]"),
        (r"$O = \sqrt[3]{V}$", "n-th roots"),
        (r"$e_j = q \times k_j$", "cross product"),
        (r"$\mathrm{softmax}(x)_i = \frac{\exp(x_i / \tau)}{\sum_j \exp(x_j / \tau)}$", "temperature"),
    ],
)
def test_forms_we_cannot_bind_are_unsupported_not_failed(make_vault, formula, reason):
    r = one(make_vault, formula)
    assert r.status == "unsupported" and reason in r.message, r.message


def test_sliding_window_must_renormalise_inside_the_window(make_vault):
    local = (
        "```attention\nop: local\nq: {random: [6, 4], seed: 1}\nk: {random: [6, 4], seed: 2}\nwindow: 1\n```"
    )
    wrong = (
        r"$$A_{ij} = \begin{cases} \mathrm{softmax}_j\!\left(\frac{q_i \cdot k_j}{\sqrt{d_k}}\right)"
        r" & |i - j| \le w \\ 0 & \text{otherwise} \end{cases}$$"
    )
    right = (
        r"$$A_{ij} = \begin{cases} \dfrac{\exp(q_i \cdot k_j / \sqrt{d_k})}{\sum_{l:\,|i - l| \le w}"
        r" \exp(q_i \cdot k_l / \sqrt{d_k})} & |i - j| \le w \\ 0 & \text{otherwise} \end{cases}$$"
    )
    assert one(make_vault, f"{wrong}\n\n{local}").status == "fail"
    assert one(make_vault, f"{right}\n\n{local}").status == "pass"


def test_self_attention_weights_are_not_symmetric(make_vault):
    r = one(make_vault, r"$A_{ij} = A_{ji}$")
    assert r.status == "fail" and "self-attention" in r.op


@pytest.mark.parametrize(
    "formula",
    [
        r"$Q = XW_q$",
        r"$d_k = 64$",
        r"$O(n^2 d)$",
        r"$QK^\top$",
        r"$W_q \in \mathbb{R}^{d \times h}$",
        r"$\alpha_j \ge 0$",
        r"$A = 0$",
        r"$S = [2, 0, -2]$",
        "```\nh = [h1, h2, h3]\n```",
    ],
)
def test_context_is_recorded_never_compared(make_vault, formula):
    rows = verdicts(make_vault, formula)
    assert rows and all(r.status == "context" for r in rows)


@pytest.mark.parametrize(
    "formula, reason",
    [
        (r"$\newcommand{\A}{x} O = \A$", "macro definitions"),
        (r"$O = \int_0^1 V\,dt$", "integrals"),
        (r"$O = \prod_j V$", "products"),
        (r"$A = \lim_{T \to 0} \mathrm{softmax}(S/T)$", "limits"),
        (r"$A = \frac{\partial S}{\partial Q}$", "derivatives"),
        (r"$O = A^{-1} V$", "powers of matrices"),
        (r"$O = A^2 V$", "powers of matrices"),
        (r"$O = \mathrm{LayerNorm}(V)$", "not known"),
        ("$O = [" + ", ".join(["1"] * 450) + "]$", "over 400 tree nodes"),
        ("$O = " + "+".join(["V"] * 100) + "$", "nested deeper than 32"),
        ("$O = " + "+".join(["V"] * 800) + "$", "over 1500 tokens"),
        ("$O = " + "(" * 40 + "V" + ")" * 40 + "$", "nested deeper than 32"),
        ("$O = " + "V " * 1100 + "$", "over 2,000 characters"),
    ],
)
def test_refused_formulas_are_unsupported(make_vault, formula, reason):
    r = one(make_vault, formula)
    assert r.status == "unsupported"
    assert reason in r.message


def test_large_arrays_are_refused_before_allocating(make_vault):
    big = "```attention\nop: dot\nq: {random: [1200, 2], seed: 1}\nk: {random: [1200, 2], seed: 2}\n```"
    r = one(make_vault, r"$S_{ij} = \sum_l q_l \cdot k_j \, q_i \cdot k_l$" + f"\n\n{big}")
    assert r.status == "unsupported" and "1,000,000" in r.message


def test_long_chains_of_products_are_refused_before_the_work(make_vault):
    big = (
        "```attention\nop: scaled_dot\nq: {random: [500, 16], seed: 1}\nk: {random: [500, 16], seed: 2}\n"
        "v: {random: [500, 16], seed: 3}\n```"
    )
    r = one(make_vault, r"$O = (QK^\top)(QK^\top)(QK^\top) V$" + f"\n\n{big}")
    assert r.status == "unsupported" and "operations" in r.message
    r = one(make_vault, r"$O = \mathrm{softmax}(QK^\top / \sqrt{d_k}) V$" + f"\n\n{big}")
    assert r.status == "pass"


def test_a_note_with_hundreds_of_formulas_is_checked_up_to_the_limit():
    from attnkb.formulas.check import MAX_FORMULAS, check_formulas

    body = "".join(
        rf"$O = \mathrm{{softmax}}(QK^\top \sqrt{{d_k}})V$ line {n}" + "\n" for n in range(MAX_FORMULAS + 20)
    )
    rows = check_formulas("n.md", body, 1, [], [])
    assert len(rows) == MAX_FORMULAS + 1
    assert [r.line for r in rows[:3]] == [1, 2, 3] and {r.status for r in rows[:-1]} == {"fail"}
    assert rows[-1].status == "unsupported" and rows[-1].line == MAX_FORMULAS + 1
    assert f"over {MAX_FORMULAS} formulas" in rows[-1].message


def test_what_is_not_a_formula():
    body = (
        "价格 $5 到 $10 之间\n\n`$O = AV$` in code\n\n```python\nO = A @ V\n```\n\n"
        "```\n编码器隐状态: h1, h2\n```\n\n```attention\nop: dot\n```\n"
    )
    assert find_formulas(body) == []


def test_line_separators_inside_a_fence_do_not_shift_lines():
    body = "a\n\n```\nx = 1 \u2028 y \x0c z\nO = A @ V\n```\n\n\\[\nP = A\n\\]\n"
    found = [(f.line, f.text) for f in find_formulas(body)]
    assert found == [(4, "x = 1 \u2028 y \x0c z"), (5, "O = A @ V"), (8, "P = A")]


def test_a_paragraph_starting_with_math_and_ending_with_a_digit():
    body = "$O = AV$ for 2\n$A = P$ line 1\n\n$\\alpha_{ij}$ sums to 1\n"
    found = [(f.line, f.text) for f in find_formulas(body)]
    assert found == [(1, "O = AV"), (2, "A = P"), (4, "\\alpha_{ij}")]


def test_formula_lines_point_into_the_file():
    body = "a\n\n$$\nO = AV\n$$\n\nb $A = B$ and\nc \\(S = QK^T\\)\n\n```\nx\nO = A @ V\n```\n\n\\[\nP = A\n\\]\n"
    found = [(f.line, f.text, f.latex) for f in find_formulas(body, first_line=10)]
    assert found == [
        (12, "O = AV", True),
        (16, "A = B", True),
        (17, "S = QK^T", True),
        (21, "O = A @ V", False),
        (24, "P = A", True),
    ]


def test_a_blocks_scale_is_its_sqrt_dk(make_vault):
    scaled = SCALED[:-3] + "scale: 0.25\n```"
    assert one(make_vault, r"$S = QK^\top / \sqrt{d_k}$" + f"\n\n{scaled}").status == "pass"
    assert one(make_vault, r"$S = QK^\top / \sqrt{3}$" + f"\n\n{scaled}").status == "fail"


def test_a_window_block_and_a_formula_without_the_window(make_vault):
    local = (
        "```attention\nop: local\nq: {random: [6, 4], seed: 1}\nk: {random: [6, 4], seed: 2}\nwindow: 1\n```"
    )
    r = one(make_vault, r"$A = \mathrm{softmax}(QK^\top / \sqrt{d_k})$" + f"\n\n{local}")
    assert r.status == "pass" and "without its mask" in r.message
    r = one(make_vault, r"$A = \mathrm{softmax}(QK^\top \sqrt{d_k})$" + f"\n\n{local}")
    assert r.status == "fail"


def test_aligned_equations_are_one_formula_per_line(make_vault):
    body = "$$\n\\begin{aligned}\nS &= QK^\\top \\\\\nA &= \\mathrm{softmax}(S) \\\\\nO &= AV\n\\end{aligned}\n$$"
    rows = verdicts(make_vault, body)
    assert [(r.formula, r.status) for r in rows] == [
        (r"S = QK^\top", "pass"),
        (r"A = \mathrm{softmax}(S)", "pass"),
        ("O = AV", "pass"),
    ]


COMMA_MASK = r"$A = \mathrm{softmax}(QK^\top/\sqrt{d_k} + M)$, $M_{ij} = \begin{cases} 0, & COND \\ -\infty, & \text{otherwise} \end{cases}$"


def test_a_mask_written_with_commas_is_the_notes_own_mask(make_vault):
    """``0, & i \\le j`` once failed to parse and a causal mask was stood in for it: a false pass."""
    anti = one(make_vault, COMMA_MASK.replace("COND", r"i \le j"))
    assert anti.status == "fail" and anti.hint.startswith("wrong mask side"), anti.message
    assert one(make_vault, COMMA_MASK.replace("COND", r"j \le i")).status == "pass"
    spelled = r"$A = \mathrm{softmax}(QK^\top/\sqrt{d_k} + M)$, $M_{ij} = \begin{cases} 0, & i \le j \\ -\infty, & i > j \end{cases}$"
    assert one(make_vault, spelled).status == "fail"
    beside_a_block = one(make_vault, COMMA_MASK.replace("COND", r"i \le j") + f"\n\n{CAUSAL}")
    assert beside_a_block.status == "fail", beside_a_block.message


def test_a_mask_the_note_defines_unreadably_is_never_replaced(make_vault):
    unreadable = COMMA_MASK.replace("COND", r"i \le j").replace(r"-\infty,", r"-\infty;")
    r = one(make_vault, unreadable)
    assert r.status == "unsupported" and "M is defined in this note" in r.message, r.message


def test_every_spelling_in_the_function_table_is_read_as_its_function():
    from attnkb.formulas.functions import FUNCTIONS, function
    from attnkb.formulas.grammar import parse

    for f in FUNCTIONS:
        for spelling in f.spellings:
            letter = "\\" + spelling if len(spelling) > 1 else spelling  # \sigma, f
            written = letter if f.letter else rf"\mathrm{{{spelling}}}"
            rhs = parse(rf"y = {written}(x)").kids[1]
            assert rhs.kind == "call" and function(rhs.value[0]) is f, spelling
            if not f.letter:
                plain = parse(f"y = {spelling}(x)", latex=False).kids[1]
                assert plain.kind == "call" and function(plain.value[0]) is f, spelling


ONLINE = (
    r"$$m(x) := \max_i x_i, \quad f(x) := \left[e^{x_1 - m(x)}, \dots, e^{x_B - m(x)}\right], \quad "
    r"\ell(x) := \sum_i f(x)_i, \quad \mathrm{softmax}(x) := \frac{f(x)}{\ell(x)}$$"
)
SPELLINGS = {  # left sides, notation, shapes, chains and symbols of issue 25, each checked and agreeing
    "Output": "```\nOutput = softmax(Q·Kᵀ / √d_k) · V\n```",
    "weights and output in code": "```\nweights = softmax(Q @ K.T / np.sqrt(d_k))\noutput = weights @ V\n```",
    "text with a space": r"$\text{Scaled Attention}(Q, K, V) = \text{softmax}(QK^\top/\sqrt{d_k})V$",
    "A(Q, K, V)": r"$A(Q, K, V) = \mathrm{softmax}(QK^T/\sqrt{d_k})V$",
    "attn": r"$\text{attn}(Q, K, V) = \text{softmax}\!\left(\tfrac{Q K^\top}{\sqrt{d_k}}\right) V$",
    "Attention(…)_i": r"$\mathrm{Attention}(Q, K, V)_i = \sum_j \mathrm{softmax}_j(q_i^\top k_j / \sqrt{d_k}) v_j$",
    "Attention_i": "```\nAttention_i = Σ_j softmax_j(q_i · k_j / √d_k) v_j\n```",
    "MaskedAttention": r"$\mathrm{MaskedAttention}(Q, K, V) = \mathrm{softmax}(QK^\top/\sqrt{d_k} + M)V$, "
    r"$M_{ij} = \begin{cases} 0, & j \le i \\ -\infty, & j > i \end{cases}$",
    "MultiHeadAttn": r"$\mathrm{MultiHeadAttn}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)W^O$, "
    r"$\mathrm{head}_i = \mathrm{Attention}(QW_i^Q, KW_i^K, VW_i^V)$",
    "y_i": r"$y_i = \sum_j \alpha_{ij} v_j$",
    "score_{ij}": r"$\text{score}_{ij} = \frac{q_i \cdot k_j}{\sqrt{d_k}}$",
    "Score": "```\nScore = Q × K^T / √d_k\n```",
    "a_{ij}": r"$a_{ij} = \frac{\exp(e_{ij})}{\sum_k \exp(e_{ik})}$",
    "A[i,j]": "```\nA[i,j] = exp(S[i,j]) / Σ_k exp(S[i,k])\n```",
    "norms": r"$\mathrm{score}(s_t, h_i) = \frac{s_t^\top h_i}{\|s_t\| \, \|h_i\|}$",
    "norms, plain": "```\nscore(s_t, h_i) = s_t · h_i / (||s_t|| * ||h_i||)\n```",
    "hi in plain text": "```\nc_t = Σ_i α_ti hi\n```",
    "small and tag": r"$$\small{\mathrm{Attention}(Q,K,V) = \mathrm{softmax}(QK^\top/\sqrt{d_k})V} \tag{1}$$",
    "stackrel": r"$A \stackrel{\text{def}}{=} \mathrm{softmax}(QK^\top/\sqrt{d_k})$",
    "underbrace": r"$O = \underbrace{\mathrm{softmax}(QK^\top/\sqrt{d_k})}_{A} V$",
    "mathrm{head_1}": r"$\mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head_1}, \ldots, \mathrm{head_h})W^O$, "
    r"$\mathrm{head_i} = \mathrm{Attention}(QW_i^Q, KW_i^K, VW_i^V)$",
    "pasted Wᴼ and WᵢQ": "```\nMultiHead(Q, K, V) = Concat(head₁, …, headₕ)Wᴼ\nheadᵢ = Attention(QWᵢQ, KWᵢK, VWᵢV)\n```",
    "shape": r"$\mathbf{O} = \mathrm{softmax}(\mathbf{Q}\mathbf{K}^\top/\sqrt{d})\mathbf{V} \in \mathbb{R}^{n \times d_v}$",
    "shape, unicode": "```\nAttention(Q, K, V) = softmax(QKᵀ/√d_k)V ∈ ℝⁿˣᵈᵛ\n```",
    "shape of scores": r"$S = QK^\top / \sqrt{d_k} \in \mathbb{R}^{n \times m}$",
    "≈ is context": r"$Y = \mathrm{softmax}(QK^\top/\sqrt{d_k})V \approx \Phi(Q)(\Phi(K)^\top V)$",
    "max without parentheses": r"$\mathrm{softmax}(x_i) = \frac{e^{x_i - \max_j x_j}}{\sum_j e^{x_j - \max_k x_k}}$",
    "X by its rows, projections": r"$X = [x_1, \dots, x_n]$, "
    r"$\mathrm{SelfAttn}(X) = \mathrm{softmax}\left(\frac{XW_Q (XW_K)^\top}{\sqrt{d_k}}\right) XW_V$",
    "online softmax": ONLINE,
    "heads stacked with semicolons": r"$\mathrm{MultiHead}(Q, K, V) = [\mathrm{head}_1; \dots; \mathrm{head}_h] W^O, "
    r"\quad \mathrm{head}_i = \mathrm{Attention}(QW_i^Q, KW_i^K, VW_i^V)$",
    "parenthetical definition": r"$A = \mathrm{softmax}(S)$, $S(=QK^\top/\sqrt{d_k})$",
}


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_spellings_notes_use_are_checked(make_vault, name):
    rows = [r for r in verdicts(make_vault, SPELLINGS[name]) if r.status != "context"]
    assert rows and all(r.status == "pass" for r in rows), [(r.formula, r.status, r.message) for r in rows]


def test_a_stated_shape_is_checked(make_vault):
    r = one(make_vault, r"$O = \mathrm{softmax}(QK^\top/\sqrt{d_k})V \in \mathbb{R}^{n \times d_k}$")
    assert r.status == "fail" and "stated shape n × d_k" in r.message, r.message
    chain = one(make_vault, SPELLINGS["≈ is context"])
    assert "the ≈ link is context" in chain.message


def named(make_vault, title: str, body: str):
    root = make_vault({"n.md": f"# {title}\n\n{body}\n"})
    note = parse_note("n.md", (root / "n.md").read_bytes())
    return [r for r in check_note(root, note, run_note_examples(note)) if r.status != "context"]


def test_a_formula_is_judged_against_the_score_its_note_names(make_vault):
    unscaled = r"$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top)V$"
    (r,) = named(make_vault, "Scaled dot-product attention", unscaled)
    assert r.status == "fail" and r.hint.startswith("√d_k is missing"), r.message
    assert r.max_abs_diff and r.max_abs_diff > 0.01
    (r,) = named(make_vault, "缩放点积注意力", f"## 点积注意力 (dot-product)\n\n{unscaled}")
    assert r.status == "pass" and r.op == "dot", r.message  # its own section is about dot-product
    (r,) = named(make_vault, "Attention", unscaled)
    assert r.status == "pass" and r.op == "dot"
    (r,) = named(
        make_vault, "Attention", f"{unscaled}\n\n{SCALED}".replace("softmax}(QK^\\top)", "softmax}(QK^\\top)")
    )
    assert r.status == "fail"  # beside a scaled block


def test_a_formula_under_a_masked_heading_needs_the_mask(make_vault):
    plain = r"$O = \mathrm{softmax}(QK^\top/\sqrt{d_k})V$"
    (r,) = named(make_vault, "Decoder", f"## Masked self-attention\n\n{plain}")
    assert r.status == "fail" and r.hint.startswith("the mask is missing"), r.message
    (r,) = named(make_vault, "Decoder", f"## Masked self-attention\n\n{plain}\n\n{CAUSAL}")
    assert r.status == "fail" and r.hint.startswith("the mask is missing"), r.message
    masked = r"$O = \mathrm{softmax}(QK^\top/\sqrt{d_k} + M)V$"
    (r,) = named(make_vault, "Decoder", f"## Masked self-attention\n\n{masked}\n\n{CAUSAL}")
    assert r.status == "pass", r.message


@pytest.mark.parametrize(
    "formula",
    [
        r"$c_i = \sum_i \alpha_{ij} v_j$",
        r"$\mathrm{softmax}(x)_i = \frac{e^{x_i}}{\sum_i e^{x_i}}$",
        "```\nα_ij = exp(e_ij) / Σ_i exp(e_ij)\n```",
    ],
)
def test_a_sum_over_an_index_the_left_side_keeps_fails_with_its_hint(make_vault, formula):
    r = one(make_vault, formula)
    assert r.status == "fail" and r.hint.startswith("the sum runs over i"), r.message


def test_the_symmetry_claim_fails_with_why(make_vault):
    r = one(make_vault, r"$A_{ij} = A_{ji}$")
    assert r.status == "fail" and "softmax normalises each row on its own" in r.hint


def test_generic_names_are_attention_only_when_the_right_side_is(make_vault):
    rows = verdicts(make_vault, r"$\text{output} = \text{ReLU}(y)$ and $y = W_2(W_1 x + b_1) + b_2$")
    assert [r.status for r in rows] == ["context", "context"]


def test_softmax_without_exp_fails_also_in_the_online_form(make_vault):
    r = one(
        make_vault, ONLINE.replace("e^{x_1 - m(x)}", "x_1 - m(x)").replace("e^{x_B - m(x)}", "x_B - m(x)")
    )
    assert r.status == "fail" and r.target == "softmax" and r.hint.startswith("missing exp"), r.message


def test_projections_swapped_in_self_attention_fail(make_vault):
    r = one(make_vault, r"$\mathrm{SelfAttn}(X) = \mathrm{softmax}(XW_K (XW_Q)^\top/\sqrt{d_k}) XW_V$")
    assert r.status == "fail", r.message
