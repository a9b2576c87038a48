import json

import numpy as np
import pytest

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
        ("op: dot\nq: [[1, 2]]\nk: [[1, 2, 3]]", "share their last dimension", 5),
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
    assert r.exit_code == 2 and "n.md:" in r.stderr + r.stdout and "score_var must be a number" in r.output


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
