import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb.kernel import attention, softmax

ISSUE_BLOCK = """```attention
op: scaled_dot            # required
q: [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
k: [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
v: [[1, 2], [3, 4], [5, 6]]
mask: causal              # optional
labels: {queries: [I, love, China], keys: [我, 爱, 中国]}   # optional
expect:
  weights: [[1.0, 0.0, 0.0], [0.33, 0.67, 0.0], [0.25, 0.25, 0.5]]
  argmax: [我, 爱, 中国]
tol: 0.01                 # optional
```
"""


def note(*blocks: str) -> str:
    return "# Example\n\nText.\n\n" + "\n".join(blocks)


def block(body: str) -> str:
    return f"```attention\n{body.strip()}\n```\n"


def run(cli, root, *args):
    """Exit code and the block rows of ``--json`` (their ``"kind": "block"`` checked, then dropped)."""
    r = cli("--vault", root, "run-example", *args, "--json")
    if not r.stdout.strip().startswith("["):
        return r.exit_code, r
    rows = json.loads(r.stdout)
    assert all(row["kind"] in ("block", "formula") for row in rows)
    return r.exit_code, [
        {k: v for k, v in row.items() if k != "kind"} for row in rows if row["kind"] == "block"
    ]


Q = "[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]"
OPS = {
    "dot": f"op: dot\nq: {Q}\nk: {Q}\nv: {Q}\nexpect:\n  claims: [rows_sum_to_one, nonnegative]",
    "scaled_dot": f"op: scaled_dot\nq: {Q}\nk: {Q}\nscale: 0.5\nexpect:\n  shape: [3, 3]",
    "cosine": f"op: cosine\nq: {Q}\nk: {Q}\nexpect:\n  argmax: [0, 1, 2]",
    "general": f"op: general\nq: {Q}\nk: {Q}\nw: [[1, 0], [0, 1]]\nexpect:\n  argmax: [0, 1, 2]",
    "additive": f"op: additive\nq: {Q}\nk: {Q}\nw_q: [[1, 0], [0, 1]]\nw_k: [[1, 0], [0, 1]]\n"
    "v_a: [1, 1]\nb: [0, 0]\nexpect:\n  claims: [rows_sum_to_one]",
    "concat": f"op: concat\nq: {Q}\nk: {Q}\nw: [[1, 0], [0, 1], [1, 0], [0, 1]]\nv_a: [1, 1]\n"
    "expect:\n  claims: [nonnegative]",
    "hard": f"op: hard\nq: {Q}\nk: {Q}\nv: [[1], [2], [3]]\nexpect:\n  output: [[1], [2], [3]]",
    "multihead": "op: multihead\nx: {random: [4, 4], seed: 1}\nheads: 2\nseed: 3\nmask: causal\n"
    "expect:\n  shape: [4, 4]\n  claims: [rows_sum_to_one, causal]",
    "multihead_weights": "op: multihead\nx: [[1, 0], [0, 1]]\nheads: 1\nw_q: [[1, 0], [0, 1]]\n"
    "w_k: [[1, 0], [0, 1]]\nw_v: [[1, 0], [0, 1]]\nw_o: [[1, 0], [0, 1]]\n"
    "expect:\n  weights: [[0.67, 0.33], [0.33, 0.67]]",
    "linear": f"op: linear\nq: {Q}\nk: {Q}\nv: {Q}\nmask: causal\nexpect:\n  claims: [causal, rows_sum_to_one]",
    "local": "op: local\nq: {random: [6, 4], seed: 0}\nk: {random: [6, 4], seed: 1}\nwindow: 1\n"
    "expect:\n  claims: [rows_sum_to_one]",
    "blocked": "op: blocked\nq: {random: [5, 4], seed: 0}\nk: {random: [5, 4], seed: 1}\n"
    "v: {random: [5, 3], seed: 2}\nblock: 2\nexpect:\n  shape: [5, 3]",
    "linformer": "op: linformer\nq: {random: [5, 4], seed: 0}\nk: {random: [5, 4], seed: 1}\n"
    "v: {random: [5, 3], seed: 2}\nproj: {random: [2, 5], seed: 3}\nexpect:\n  shape: [5, 3]",
    "softmax": "op: softmax\nscores: [[0, 0], [1, 0]]\nexpect:\n  weights: [[0.5, 0.5], [0.731, 0.269]]",
    "weights": "op: weights\nweights: [[1, 0], [0.5, 0.5]]\nv: [[2], [4]]\nexpect:\n  output: [[2], [3]]\n"
    "  claims: [rows_sum_to_one, causal]",
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_runs_from_a_block(make_vault, cli, name):
    root = make_vault({"n.md": note(block(OPS[name]))})
    code, results = run(cli, root, "n.md")
    assert code == 0, results
    assert results == [
        {
            "path": "n.md",
            "line": 5,
            "op": OPS[name].split("\n")[0][4:],
            "status": "pass",
            "mismatches": [],
            "message": "all claims hold",
        }
    ]


def test_the_issue_example_and_the_multihead_numbers():
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    _, w = attention(q, q, q)
    np.testing.assert_allclose(w, softmax(q @ q.T / np.sqrt(2)))
    assert abs(w[0, 0] - 0.67) < 0.005


def test_issue_block_passes_and_renders_heatmap_with_labels(make_vault, cli):
    root = make_vault({"n.md": note(ISSUE_BLOCK)})
    r = cli("--vault", root, "run-example", "n.md")
    assert r.exit_code == 0
    assert "中国" in r.stdout and "love" in r.stdout and "PASS n.md:5 scaled_dot" in r.stdout


def test_precision_as_written_is_the_tolerance(make_vault, cli):
    loose = block("op: softmax\nscores: [[0, 0, 0]]\nexpect:\n  weights: [[0.33, 0.33, 0.33]]")
    strict = block("op: softmax\nscores: [[0, 0, 0]]\nexpect:\n  weights: [[0.333, 0.333, 0.334]]")
    root = make_vault({"a.md": note(loose), "b.md": note(strict)})
    assert run(cli, root, "a.md")[0] == 0
    code, results = run(cli, root, "b.md")
    assert code == 1 and results[0]["status"] == "fail"
    (m,) = results[0]["mismatches"]
    assert m["key"] == "weights" and m["index"] == [0, 2] and m["expected"] == 0.334


def test_wrong_claims_fail_with_exit_1_and_a_table(make_vault, cli):
    bad = block(f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  argmax: [1, 1, 2]\n  claims: [causal]")
    root = make_vault({"n.md": note(bad)})
    code, results = run(cli, root, "n.md")
    assert code == 1
    keys = [m["key"] for m in results[0]["mismatches"]]
    assert keys == ["argmax", "claims"]
    text = cli("--vault", root, "run-example", "n.md")
    assert "expected vs live" in text.stdout


@pytest.mark.parametrize(
    "body,message,line",
    [
        ("op: teleport\nq: [[1]]", "unknown or missing op 'teleport'", 6),
        ("op: dot\nq: [[1, 2], [3]]\nk: [[1]]", "ragged rows", 7),
        ("op: dot\nq: [[1]]\nk: [[1]]\nexec: rm -rf /", "unknown key 'exec'", 9),
        ("op: dot\nq: [[1]]", "needs k", 5),
        ("op: dot\nq: {random: [5000, 5000]}\nk: [[1]]", "over the limit", 7),
        ("op: dot\nq: !!python/object/apply:os.system [echo]\nk: [[1]]", "invalid YAML", 7),
        ("op: dot\nq: [[1, 2]]\nk: [[1, 2, 3]]", "share their last dimension", 8),
        ("op: dot\nq: [[1]]\nk: [[1]]\nmask: [[1, 1]]", "mask must be a 1x1", 9),
    ],
)
def test_invalid_blocks_exit_2_with_path_and_line_and_others_still_run(make_vault, cli, body, message, line):
    good = block("op: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.5, 0.5]]")
    root = make_vault({"n.md": note(block(body), good)})
    code, results = run(cli, root, "n.md")
    assert code == 2
    assert results[0]["status"] == "error" and message in results[0]["message"]
    assert results[0]["line"] == line
    assert results[1]["status"] == "pass"
    r = cli("--vault", root, "run-example", "n.md")
    assert f"n.md:{line}" in r.stdout


def test_other_fences_are_ignored_and_check_reports_failures(make_vault, cli):
    failing = block("op: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.9, 0.1]]")
    root = make_vault({"n.md": note("```python\nimport os; os.system('x')\n```\n", failing)})
    report = json.loads(cli("--vault", root, "check", "--json").stdout)
    assert [p["kind"] for p in report["problems"] if p["severity"] == "error"] == ["example-fail"]


def test_update_rewrites_only_expect_values_keeping_precision_and_crlf(make_vault, cli):
    wrong = (
        "```attention\r\nop: softmax  # keep\r\nscores: [[0, 0], [1, 0]]\r\nexpect:\r\n"
        "  weights: [[0.9, 0.1], [0.500, 0.500]]   # comment\r\n  argmax: [1, 1]\r\n```\r\n"
    )
    text = "---\r\ntitle: T\r\n---\r\n# T\r\n\r\n" + wrong + "\r\nafter\r\n"
    root = make_vault({"n.md": text})
    r = cli("--vault", root, "run-example", "n.md", "--update")
    assert r.exit_code == 0, r.output
    new = (root / "n.md").read_bytes().decode()
    assert new == text.replace("[[0.9, 0.1], [0.500, 0.500]]", "[[0.5, 0.5], [0.731, 0.269]]").replace(
        "argmax: [1, 1]", "argmax: [0, 0]"
    )


def test_update_add_weights_and_json_listing(make_vault, cli):
    root = make_vault({"n.md": note(block(f"op: scaled_dot\nq: {Q}\nk: {Q}\nv: {Q}"))})
    assert cli("--vault", root, "run-example", "n.md", "--add", "weights").exit_code == 2
    r = cli("--vault", root, "run-example", "n.md", "--update", "--add", "weights")
    assert r.exit_code == 0
    text = (root / "n.md").read_text()
    assert "expect:\n  weights: [[" in text
    assert run(cli, root, "--all")[0] == 0


def test_run_example_needs_notes_or_all(make_vault, cli):
    root = make_vault({"n.md": "x"})
    r = cli("--vault", root, "run-example")
    assert r.exit_code == 2 and "--all" in r.stderr


def test_score_variance_grows_with_dk_and_scaling_brings_it_back(make_vault, cli):
    def demo(op: str, d: int, var: str) -> str:
        return block(
            f"op: {op}\nq: {{random: [64, {d}], seed: 1}}\nk: {{random: [64, {d}], seed: 2}}\n"
            f"expect:\n  score_var: {var}"
        )

    root = make_vault(
        {"n.md": note(demo("dot", 4, "3.4"), demo("dot", 64, "64.5"), demo("scaled_dot", 64, "1.01"))}
    )
    code, results = run(cli, root, "n.md")
    assert code == 0, results
    assert [r["status"] for r in results] == ["pass", "pass", "pass"]
    # The variance is checked, not just displayed: a wrong figure fails and names the live value.
    (root / "n.md").write_text(note(demo("dot", 64, "1.0")))
    code, results = run(cli, root, "n.md")
    assert code == 1
    assert results[0]["mismatches"][0]["key"] == "score_var"
    assert results[0]["mismatches"][0]["actual"] == pytest.approx(64.465, abs=1e-3)
    r = cli("--vault", root, "run-example", "n.md", "--update")
    assert r.exit_code == 0, r.output
    assert "score_var: 64.5\n" in (root / "n.md").read_text()


def test_scores_matrix_is_compared_and_ops_without_scores_say_so(make_vault, cli):
    good = block(f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  scores: [[1, 0, 1], [0, 1, 1], [1, 1, 2]]")
    wrong = block(f"op: scaled_dot\nq: {Q}\nk: {Q}\nexpect:\n  scores: [[1, 0, 1], [0, 1, 1], [1, 1, 2]]")
    none = block("op: softmax\nscores: [[0, 1]]\nexpect:\n  score_var: 0.25\n  scores: [[0, 1]]")
    root = make_vault({"n.md": note(good, wrong, none)})
    code, results = run(cli, root, "n.md")
    assert code == 1
    assert [r["status"] for r in results] == ["pass", "fail", "fail"]
    assert {m["index"][0] for m in results[1]["mismatches"]} == {0, 1, 2}
    assert [m["message"] for m in results[2]["mismatches"]] == [
        "op 'softmax' computes no scores here",
        "op 'softmax' has no score function, so no score variance",
    ]


def test_score_var_must_be_a_number(make_vault, cli):
    root = make_vault({"n.md": note(block(f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  score_var: big"))})
    r = cli("--vault", root, "run-example", "n.md")
    assert (
        r.exit_code == 2
        and "n.md:" in r.stderr + r.stdout
        and "score_var must be a finite number" in r.output
    )


def test_large_matrices_are_drawn_as_their_top_left_corner(make_vault, cli):
    big = block(
        "op: scaled_dot\nq: {random: [64, 8], seed: 1}\nk: {random: [64, 8], seed: 2}\nv: {random: [64, 40], seed: 3}"
    )
    root = make_vault({"n.md": note(big)})
    r = cli("--vault", root, "run-example", "n.md", env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    assert "(first 16 of 64 rows, 11 of 64 columns)" in r.stdout
    assert "(first 16 of 64 rows, 9 of 40 columns)" in r.stdout
    assert len(r.stdout.splitlines()) < 50
    assert max(len(line) for line in r.stdout.splitlines()) <= 100


MALFORMED = [  # (block body, message, line of the complaint in the note)
    (f"op: blocked\nq: {Q}\nk: {Q}\nv: {Q}\nblock: abc", "block must be a whole number >= 1", 10),
    (f"op: blocked\nq: {Q}\nk: {Q}\nv: {Q}\nblock: .nan", "block must be a whole number >= 1", 10),
    (f"op: local\nq: {Q}\nk: {Q}\nwindow: 1e21", "window must be a whole number >= 0", 9),
    ("op: multihead\nx: [[1, 0], [0, 1]]\nheads: 1\nseed: -1", "seed must be a whole number >= 0", 9),
    ("op: multihead\nx: [[1, 0], [0, 1]]\nheads: true", "heads must be a whole number >= 1", 8),
    (f"op: dot\nq: {Q}\nk: {Q}\nexpect: {{shape: 5}}", "expect shape must be a list", 9),
    (f"op: dot\nq: {Q}\nk: {Q}\nlabels: [1, 2]", "labels must be a mapping", 9),
    (f"op: dot\nq: {Q}\nk: {Q}\nlabels: {{keys: 5}}", "labels: keys must be a list", 9),
    (f"op: [dot]\nq: {Q}\nk: {Q}", "unknown or missing op ['dot']", 6),
    (f"op: dot\nq: 5\nk: {Q}", "q: expected a list", 7),
    ("op: softmax\nscores: 3", "scores: expected a list", 7),
    (f"op: dot\nq: {{random: [4294967296, 4294967296]}}\nk: {Q}", "is over the limit", 7),
    (f"op: dot\nq: {{random: [3]}}\nk: {Q}", "q must be a matrix", 7),
    (f"op: dot\nq: [[1, 0], [.inf, 1]]\nk: {Q}", "q: row 2 holds NaN or infinity", 7),
    (f"op: dot\nq: [[1, 0], [1, 1{'0' * 400}]]\nk: {Q}", "q: row 2 holds something that is not a finite", 7),
    (f"op: dot\nq: {Q}\nk: {Q}\ntol: .nan\nexpect: {{weights: [[0, 0, 0]]}}", "tol must be a finite number", 9),
    (f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  weights: [[.nan]]", "expect weights: row 1 holds NaN", 10),
    (f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  weights: [[1, 2], [3]]", "expect weights: ragged rows", 10),
    (f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  score_var: .nan", "score_var must be a finite number", 10),
    (f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  claims: causal", "expect claims must be a list", 10),
    (f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  argmax: 1", "expect argmax must be a list", 10),
    # YAML reads `no` as false, and false == 0: `argmax: [no]` passed against key 0
    (f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  argmax: [no, 1, 2]", "expect argmax: no is read as true/false", 10),
    (f"op: dot\nq: {Q}\nk: {Q}\nlabels: {{keys: [yes, b, c]}}", "labels: keys: yes is read as true/false", 9),
    (f"op: scaled_dot\nq: {Q}\nk: {Q}\nscale: .inf", "scale must be a finite number", 9),
    (f"op: dot\nq: {Q}\nk: {Q}\nmask: [[1, 1, 1], [1, 1], [1, 1, 1]]", "mask must be a 3x3 matrix", 9),
    (f"op: dot\nq: {Q}\nk: {Q}\nmask: {{window: true}}", "mask must be causal", 9),
    (f"op: local\nq: {Q}\nk: {Q}\nwindow: 1\nmask: {{window: 1}}", "supports mask: causal only", 10),
    ("op: softmax\nscores: [[0, 1]]\nmask: causal", "op 'softmax' takes no mask", 8),
    # finite inputs whose scores overflow: NaN weights were an internal error (and NaN in --json)
    ("op: dot\nq: [[1.0e308, 1.0e308]]\nk: [[1.0e308, 1.0e308]]\nv: [[1.0]]", "NaN or infinite", 5),
    # a key written twice: YAML keeps the last silently, lines and --update follow the first
    (f"op: dot\nq: {Q}\nk: {Q}\nq: [[9, 9]]", "key 'q' is given twice", 9),
    (f"op: dot\nq: {Q}\nk: {Q}\nexpect:\n  weights: [[1]]\n  weights: [[2]]", "key 'weights' is given twice", 11),
    # every array the block implies counts: multihead's random projections would be 3.6e9 numbers
    ("op: multihead\nx: {random: [1, 30000]}\nheads: 1", "block needs 3,600,", 5),
    ("op: additive\nq: {random: [3000, 2]}\nk: {random: [3000, 2]}\nw_q: {random: [2, 64]}\nw_k: {random: [2, 64]}\n"
     "v_a: {random: [64]}", "over the limit", 5),
]  # fmt: skip


@pytest.mark.parametrize("body,message,line", MALFORMED, ids=[m[1][:30] for m in MALFORMED])
def test_a_malformed_value_is_an_invalid_block_and_other_blocks_run(make_vault, cli, body, message, line):
    good = block("op: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.5, 0.5]]")
    root = make_vault({"n.md": note(block(body), good), "m.md": note(good)})
    code, results = run(cli, root, "--all")
    assert code == 2
    assert [(r["path"], r["status"]) for r in results] == [
        ("m.md", "pass"),
        ("n.md", "error"),
        ("n.md", "pass"),
    ]
    assert message in results[1]["message"] and results[1]["line"] == line
    report = cli("--vault", root, "check", "--json")
    assert report.exit_code == 1
    (problem,) = [p for p in json.loads(report.stdout)["problems"] if p["kind"] == "example-error"]
    assert (problem["path"], problem["line"]) == ("n.md", line) and message in problem["message"]


def test_wide_windows_are_the_whole_sequence(make_vault, cli):
    q = np.array(json.loads(Q))
    full = json.dumps(np.round(attention(q, q, q)[1], 3).tolist())  # a window wider than the text: no window
    wide = block(f"op: local\nq: {Q}\nk: {Q}\nwindow: {10**30}\nexpect:\n  weights: {full}")
    masked = block(
        f"op: dot\nq: {Q}\nk: {Q}\nmask: {{window: {10**30}}}\nexpect:\n  claims: [rows_sum_to_one]"
    )
    root = make_vault({"n.md": note(wide, masked)})
    code, results = run(cli, root, "n.md")
    assert code == 0, results


BLOCK_KEYS = ["q", "k", "v", "x", "w", "w_q", "w_k", "w_v", "w_o", "v_a", "b", "proj", "e", "f", "scores",
              "weights", "mask", "labels", "expect", "tol", "scale", "window", "block", "heads", "seed"]  # fmt: skip
INNER_KEYS = ["random", "seed", "queries", "keys", "claims", "shape", "argmax", "score_var", "output", "weights",
              "scores", "window"]  # fmt: skip
BLOCK_VALUES = st.recursive(
    st.sampled_from(
        ["1", "-1", "0", "2.5", ".nan", ".inf", "1e21", "4294967296", "abc", "causal", "true", "~", "2026-02-30",
         "''", "[[1, 0], [0, 1]]", "[[1, 2, 3]]", "{random: [2, 2], seed: 1}", "{random: [3, 2]}", "[0.5, 0.5]",
         "[rows_sum_to_one, causal]"]
    ),
    lambda inner: st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")
    | st.dictionaries(st.sampled_from(INNER_KEYS), inner, max_size=3).map(
        lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"
    ),
    max_leaves=8,
)  # fmt: skip
FUZZ_OPS = ["dot", "scaled_dot", "cosine", "general", "additive", "concat", "hard", "multihead", "linear", "local",
            "blocked", "linformer", "softmax", "weights"]  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    op=st.sampled_from(FUZZ_OPS),
    fields=st.dictionaries(st.sampled_from(BLOCK_KEYS), BLOCK_VALUES, max_size=7),
)
def test_any_block_yaml_gives_a_verdict_never_a_traceback(make_vault, cli, op, fields):
    body = f"op: {op}\n" + "".join(f"{k}: {v}\n" for k, v in fields.items())
    root = make_vault({"n.md": note(block(body))})
    r = cli("--vault", root, "run-example", "--all", "--json")
    assert r.exception is None or isinstance(r.exception, SystemExit), (body, r.exception)
    assert r.exit_code in (0, 1, 2) and "internal error" not in r.output, body
    (result,) = json.loads(r.stdout)
    assert result["status"] in ("pass", "fail", "error") and result["line"] >= 5
    r = cli("--vault", root, "check")
    assert r.exception is None or isinstance(r.exception, SystemExit), (body, r.exception)
    assert r.exit_code in (0, 1) and "internal error" not in r.output, body


def test_update_writes_integers_scientific_and_hex_so_that_they_pass(make_vault, cli):
    rows = block("op: softmax\nscores: [[0, 0], [1, 0]]\nexpect:\n  weights: [[1, 0x1], [7.0e-01, 3]]")
    whole = block("op: weights\nweights: [[1, 0], [0, 1]]\nv: [[2], [4]]\nexpect:\n  output: [[5], [0x10]]")
    root = make_vault({"n.md": note(rows, whole)})
    assert run(cli, root, "n.md")[0] == 1
    r = cli("--vault", root, "run-example", "n.md", "--update")
    assert r.exit_code == 0, r.output
    text = (root / "n.md").read_text()
    assert "weights: [[0.500, 0.500], [7.3e-01, 0.269]]" in text
    assert "output: [[2], [0x4]]" in text
    assert run(cli, root, "n.md")[0] == 0


def test_update_quotes_labels_that_need_it(make_vault, cli):
    labelled = block(
        "op: dot\nq: [[0, 1], [1, 0]]\nk: [[1, 0], [0, 1], [0, 0]]\n"
        "labels: {keys: ['yes', 'a, b', '#c']}\nexpect:\n  argmax: [x, y]"
    )
    root = make_vault({"n.md": note(labelled)})
    r = cli("--vault", root, "run-example", "n.md", "--update")
    assert r.exit_code == 0, r.output
    assert "argmax: ['a, b', 'yes']" in (root / "n.md").read_text()
    assert run(cli, root, "n.md")[0] == 0


def test_update_never_edits_through_an_alias(make_vault, cli):
    aliased = block("op: weights\nweights: [[1, 0], [0, 1]]\nv: &w [[2, 1], [4, 1]]\nexpect: {output: *w}")
    aliased = aliased.replace("[[2, 1], [4, 1]]", "[[2, 1], [4, 9]]").replace(
        "output: *w", "output: *w, shape: [9]"
    )
    other = block("op: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.9, 0.1]]")
    root = make_vault({"a.md": note(aliased), "b.md": note(other)})
    before = (root / "a.md").read_text()
    r = cli("--vault", root, "run-example", "--all", "--update")
    assert r.exit_code == 2
    assert "a.md:9: expect values given by an alias (*name) are not rewritten" in r.stderr
    assert (root / "a.md").read_text() == before  # the input v is untouched
    assert "weights: [[0.5, 0.5]]" in (root / "b.md").read_text()  # other notes are still updated


def test_update_refuses_when_the_file_changes_while_examples_run(make_vault, monkeypatch):
    import attnkb.note
    from attnkb.errors import ExampleError
    from attnkb.examples.runner import run_note_examples
    from attnkb.examples.update import update_note

    text = note(block("op: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.9, 0.1]]"))
    root = make_vault({"n.md": text})
    results = run_note_examples(attnkb.note.parse_text("n.md", text))
    saved_by_the_user = text + "\nA paragraph saved in the editor meanwhile.\n"
    original = attnkb.note.parse_text

    def parse_while_the_user_saves(path, new_text, *rest):
        (root / "n.md").write_text(saved_by_the_user)
        return original(path, new_text, *rest)

    monkeypatch.setattr(attnkb.note, "parse_text", parse_while_the_user_saves)
    with pytest.raises(ExampleError, match="changed while its examples ran"):
        update_note(root, results, set())
    assert (root / "n.md").read_text() == saved_by_the_user


def test_update_waits_for_the_vault_lock(make_vault):
    import threading

    from attnkb.examples.runner import run_note_examples
    from attnkb.examples.update import update_note
    from attnkb.note import parse_text
    from attnkb.srs.log import ReviewLog

    text = note(block("op: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.9, 0.1]]"))
    root = make_vault({"n.md": text})
    results = run_note_examples(parse_text("n.md", text))
    with ReviewLog(root / ".attnkb").locked():  # as a review writing this note holds it
        worker = threading.Thread(target=update_note, args=(root, results, set()))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and (root / "n.md").read_text() == text
    worker.join(5)
    assert "[[0.5, 0.5]]" in (root / "n.md").read_text()


@pytest.mark.parametrize(
    "body,message,line",
    [
        ("op: weights\nweights: [[1, 0], [0, 1]]\nv: [[1, 2, 3]]", "v must have 2 rows, one per key", 8),
        ("op: linear\nq: [[1, 0]]\nk: [[1, 2, 3]]\nv: [[1]]", "q and k must share their last dimension", 8),
        ("op: local\nq: [[1, 0]]\nk: [[1, 0]]\nv: [[1], [2]]\nwindow: 1", "v must have 1 row", 9),
        ("op: additive\nq: [[1, 0]]\nk: [[1, 0]]\nw_q: [[1], [1]]\nw_k: [[1], [1]]\nv_a: [1]\nb: [1, 2]",
         "b must hold 1 number", 12),
        ("op: multihead\nx: [[1, 0]]\nheads: 1\nw_q: [[1, 0], [0, 1]]\nw_k: [[1, 0], [0, 1]]\nw_v: [[1, 2, 3]]\n"
         "w_o: [[1, 0], [0, 1]]", "w_v must be 2x2", 11),
        ("op: multihead\nq: [[1, 0]]\nk: [[1, 2, 3]]\nv: [[1, 0]]\nheads: 1", "must all have 2 columns", 8),
        ("op: multihead\nx: [[1, 0, 1]]\nheads: 2", "3 columns cannot be split into 2 heads", 8),
    ],
)  # fmt: skip
def test_shapes_that_do_not_fit_the_op_are_an_invalid_block(make_vault, cli, body, message, line):
    root = make_vault({"n.md": note(block(body))})
    code, results = run(cli, root, "n.md")
    assert code == 2 and message in results[0]["message"] and results[0]["line"] == line


def test_argmax_of_a_single_row_of_scores(make_vault, cli):
    root = make_vault({"n.md": note(block("op: softmax\nscores: [1, 2, 0]\nexpect:\n  argmax: [0]"))})
    code, results = run(cli, root, "n.md")
    assert code == 1 and results[0]["mismatches"][0]["actual"] == 1
    assert cli("--vault", root, "run-example", "n.md", "--update").exit_code == 0
    assert "argmax: [1]" in (root / "n.md").read_text()


def test_exponent_numbers_in_a_block_are_numbers(make_vault, cli):
    body = "op: scaled_dot\nq: [[1e0, 0]]\nk: [[1, 0], [0, 1]]\nscale: 5e-1\ntol: 1e-3\nexpect:\n  weights: [[0.622, 0.378]]"
    root = make_vault({"n.md": note(block(body))})
    code, results = run(cli, root, "--all")
    assert (code, [r["status"] for r in results]) == (0, ["pass"]), results
