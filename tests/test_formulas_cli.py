"""``run-example`` and ``check`` report formulas: rows, exit codes, the starter vault, and the
reference notes (seed 000's weights without exp must fail)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import need_shared

NOTES = Path(__file__).resolve().parents[1] / "notes"
WRONG = r"$\alpha_i = \text{score}(q, k_i) / \sum_j \text{score}(q, k_j)$"
RIGHT = "```\nAttention(Q, K, V) = softmax(Q @ K^T / √d_k) @ V\n```"
FIELDS = {
    "kind",
    "path",
    "line",
    "formula",
    "status",
    "target",
    "op",
    "block_line",
    "max_abs_diff",
    "message",
}


def rows(cli, root, *args):
    r = cli("--vault", root, "run-example", *args, "--json")
    return r.exit_code, json.loads(r.stdout)


def test_json_rows_for_blocks_and_formulas(make_vault, cli):
    block = "```attention\nop: dot\nq: [[1.0, 0.0]]\nk: [[1.0, 0.0], [0.0, 1.0]]\nv: [[1, 2], [3, 4]]\n```"
    root = make_vault({"n.md": f"# N\n\n$O = \\mathrm{{softmax}}(QK^\\top)V$\n\n{block}\n\n$Q = XW_q$\n"})
    code, data = rows(cli, root, "n.md")
    assert code == 0
    kinds = [d["kind"] for d in data]
    assert kinds == ["block", "formula", "formula"]
    assert {"path", "line", "op", "status", "mismatches", "message"} <= set(data[0])
    passed, context = data[1], data[2]
    assert set(passed) == FIELDS and set(context) == FIELDS
    assert passed == {
        "kind": "formula",
        "path": "n.md",
        "line": 3,
        "formula": r"O = \mathrm{softmax}(QK^\top)V",
        "status": "pass",
        "target": "output",
        "op": "dot",
        "block_line": 5,
        "max_abs_diff": passed["max_abs_diff"],
        "message": passed["message"],
    }
    assert passed["max_abs_diff"] < 1e-9
    assert (context["status"], context["target"], context["block_line"]) == ("context", None, None)


def test_a_failing_formula_exits_1_and_is_shown_plainly(make_vault, cli):
    root = make_vault({"n.md": f"# N\n\n{WRONG} [red]not markup[/red]\n\n{RIGHT}\n"})
    code, data = rows(cli, root, "--all")
    assert code == 1
    fail = next(d for d in data if d["status"] == "fail")
    assert (fail["line"], fail["target"], fail["block_line"]) == (3, "weights", None)
    assert "missing exp" in fail["message"]
    r = cli("--vault", root, "run-example", "n.md")
    assert r.exit_code == 1
    assert "FAIL n.md:3 formula \\alpha_i = \\text{score}(q, k_i)" in r.stdout
    assert "seeded random inputs" in r.stdout and "first difference" in r.stdout
    assert "formulas: 2 checked, 1 agree, 1 disagree, 0 unsupported, 0 context" in r.stdout
    assert cli("--vault", root, "run-example", "n.md", "--no-formulas").exit_code == 0


def test_markup_in_a_formula_is_printed_as_text(make_vault, cli):
    root = make_vault({"n.md": "# N\n\n$O = [bold]V[/bold] + \x1b[31m$\n"})
    r = cli("--vault", root, "run-example", "n.md")
    assert "[bold]V[/bold]" in r.stdout and "\x1b[31m" not in r.stdout


def test_no_formulas_runs_blocks_only(make_vault, cli):
    root = make_vault({"n.md": f"# N\n\n{WRONG}\n"})
    code, data = rows(cli, root, "n.md", "--no-formulas")
    assert (code, data) == (0, [])
    r = cli("--vault", root, "run-example", "n.md", "--no-formulas")
    assert "formulas:" not in r.stdout


def test_unsupported_and_context_never_change_the_exit_code(make_vault, cli):
    body = "# N\n\n$O = \\int V$\n\n$Q = XW_q$\n\n$O(n^2)$\n"
    root = make_vault({"n.md": body})
    code, data = rows(cli, root, "n.md")
    assert code == 0
    assert sorted(d["status"] for d in data) == ["context", "context", "unsupported"]


def test_check_reports_failing_formulas(make_vault, cli):
    root = make_vault({"n.md": f"# N\n\n{WRONG}\n\n{RIGHT}\n"})
    r = cli("--vault", root, "check", "--json")
    assert r.exit_code == 1
    problems = json.loads(r.stdout)["problems"]
    failing = [(p["kind"], p["line"], p["severity"]) for p in problems if p["kind"].startswith("formula")]
    assert failing == [("formula-fail", 3, "error")]


def test_the_starter_vault_states_40_checked_formulas_that_agree(cli, tmp_path):
    vault = tmp_path / "notes"
    shutil.copytree(NOTES, vault, ignore=shutil.ignore_patterns(".attnkb"))
    code, data = rows(cli, vault, "--all")
    assert code == 0
    formulas = [d for d in data if d["kind"] == "formula"]
    checked = [d for d in formulas if d["status"] in ("pass", "fail")]
    assert len(checked) >= 40
    assert all(d["status"] == "pass" for d in checked)
    against_blocks = [d for d in checked if d["block_line"] is not None]
    assert len(against_blocks) >= 20
    window = [d for d in checked if d["path"] == "滑动窗口注意力.md" and d["line"] == 22]
    assert window and window[0]["op"] == "local"


def test_reference_seeds_as_notes(cli, tmp_path):
    seeds = need_shared("reference", "seeds")
    vault = tmp_path / "seeds"
    vault.mkdir()
    for seed in seeds.glob("*.txt"):
        shutil.copy(seed, vault / f"{seed.stem}.md")
    r = cli("--vault", vault, "run-example", "--all", "--json")
    assert r.exit_code == 1 and "Traceback" not in r.output
    fails = [d for d in json.loads(r.stdout) if d["kind"] == "formula" and d["status"] == "fail"]
    assert [(d["path"].split("_")[0], d["line"]) for d in fails] == [("000", 52)]
    assert "missing exp" in fails[0]["message"]


def test_reference_interview_vault(cli, tmp_path):
    source = need_shared("reference", "interview-vault")
    vault = tmp_path / "iv"
    shutil.copytree(source, vault, ignore=shutil.ignore_patterns(".attnkb"))
    r = cli("--vault", vault, "run-example", "--all", "--json")
    assert r.exit_code == 1 and "Traceback" not in r.output
    fails = [d for d in json.loads(r.stdout) if d["kind"] == "formula" and d["status"] == "fail"]
    assert [d["formula"] for d in fails] == ["A_{ij} = A_{ji}"]


def test_lark_is_imported_only_when_formulas_are_checked():
    import subprocess
    import sys

    code = "import sys, attnkb.cli, attnkb.checks, attnkb.formulas; print('lark' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


HOSTILE = [
    r"$\write18{rm -rf /} O = V$",
    r"$\input{/etc/passwd}$ and $\def\x{y} A = \x$",
    r"$O = 2^{2^{2^{2^{40}}}} V$ and $O = 10^{308} \cdot 10^{308} V$",
    "$A\u200b = \\mathrm{softmax}(Q\u202eK^\\top/\\sqrt{d_k})$ \x1b[2J\x1b]8;;http://x\x07",
    "$O = V unterminated\n\n$$O =\n\n`$$O = V$$`\n\n```python\nO = A @ V\n```",
    r"$O = " + "(" * 31 + "V" + ")" * 31 + "$",
    r"$A = \begin{pmatrix} 1 & 2 \end{pmatrix}$ $O = \sqrt[3]{V}$ $\newcommand{\A}{A}$",
    "```attention\nop: dot\nq: {random: [700, 8]}\nk: {random: [700, 8]}\nv: {random: [700, 8]}\n```\n\n"
    r"$O = (QK^\top)(QK^\top)(QK^\top)V$",
]


def test_hostile_formulas_give_rows_never_a_crash(make_vault, cli):
    body = "\n\n".join(HOSTILE) + "\n\n" + "$O = AV$ x 1\n" * 600
    root = make_vault({"n.md": f"# N\n\n{body}\n", "ok.md": f"# OK\n\n{RIGHT}\n"})
    code, data = rows(cli, root, "--all")
    assert code in (0, 1)
    formulas = [d for d in data if d["kind"] == "formula"]
    assert formulas and all(set(d) == FIELDS for d in formulas)
    assert all(not any(ord(c) < 32 or 0x200B <= ord(c) <= 0x202E for c in d["formula"]) for d in formulas)
    assert any("500 formulas" in d["message"] for d in formulas)
    assert ("ok.md", "pass") in {(d["path"], d["status"]) for d in formulas}
    for args in (("run-example", "--all"), ("check",)):
        r = cli("--vault", root, *args)
        assert r.exit_code in (0, 1) and "Traceback" not in r.output and "internal error" not in r.output
        assert "\x1b" not in r.output
