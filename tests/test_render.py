"""Terminal safety: note text reaches the terminal literally, never as markup or control codes."""

from __future__ import annotations

import io
import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb.cli.render import clean, markdown_source, one_line
from attnkb.mathtext import latex_to_unicode, math_readable

# What a terminal would act on: ESC, the C1 controls (8-bit CSI, OSC...), other C0 controls but
# tab and newline, DEL, and the bidi overrides that make a line read differently.
LIVE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
PIECES = [
    *"abcXYZ []/",
    "[INST]",
    "[/INST]",
    "[bold]",
    "[/]",
    "s[i][j]",
    "\x1b",
    "\x1b[2J",
    "\x1b[31m",
    "\x1b]8;;http://evil.example\x07",
    "\x1b]0;title\x1b\\",
    "\x9b31m",
    "\x9d0;x\x9c",
    "\x07",
    "\x08",
    "\x7f",
    "\u202e",
    "\u2066",
    "\x01",
    "$s_{ij}$",
    "$\\frac{",
]
hostile = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@given(st.text())
def test_clean_leaves_nothing_a_terminal_acts_on(text):
    assert not LIVE.search(clean(text))
    single = one_line(text)
    assert not LIVE.search(single) and "\n" not in single and "\t" not in single


@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cs"),
            blacklist_characters="\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff",
        )
    )
)
def test_clean_keeps_text_without_controls_as_it_is(text):
    assert clean(text) == text


def test_clean_removes_whole_escape_sequences():
    assert clean("a\x1b[2Jb\x1b]8;;http://x\x07c\x1b]8;;\x07d\x9b31me\u202ef") == "abcdef"
    assert clean("x\r\ny\rz") == "x\ny\nz" and one_line("x\r\ny\tz") == "x y z"
    assert clean("unterminated \x1b]0;rest") == "unterminated 0;rest"


def _yaml_string(text: str) -> str:
    """A double-quoted YAML scalar holding any text (escapes for everything not plain ASCII)."""
    return (
        '"' + "".join(c if " " <= c < "\x7f" and c not in '"\\' else f"\\u{ord(c):04x}" for c in text) + '"'
    )


def _vault(root: Path, title: str, heading: str, question: str) -> None:
    root.mkdir()
    note = (
        f"---\ntitle: {_yaml_string(title)}\ntags: [{_yaml_string('t' + title)}]\n---\n"
        f"# H {heading}\n\n### Q: Q {question} end\n\nThe answer [[other]] {heading}.\n"
    )
    (root / "a.md").write_text(note, encoding="utf-8")
    (root / "other.md").write_text("# other\n\n[[a]]\n", encoding="utf-8")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=hostile, heading=hostile, question=hostile)
def test_hostile_note_text_is_shown_literally_by_every_command(cli, title, heading, question):
    env = {"COLUMNS": "400", "ATTNKB_NOW": "2026-03-01T12:00:00+00:00"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "v"
        _vault(root, "A" + title + "Z", heading, question)
        runs = {
            "list": (["list"], None),
            "list-json": (["list", "--json"], None),
            "show": (["show", "a.md"], None),
            "show-raw": (["show", "--raw", "a.md"], None),
            "links": (["links", "a.md"], None),
            "due": (["due"], None),
            "stats": (["stats"], None),
            "check": (["check"], None),
            "dot": (["graph", "--format", "dot"], None),
            "mermaid": (["graph", "--format", "mermaid"], None),
            "review": (["review"], "enter\n3\nenter\n3\n"),
            # no slashes: "nope/a" reaches a.md by its file name, as a link would
            "missing": (["show", "nope" + title.replace("/", "").replace("\\", "")], None),
            "run-example": (["run-example", "--all"], None),
        }
        results = {}
        for name, (args, keys) in runs.items():
            r = cli("--vault", root, *args, input=keys, env=env)
            assert r.exception is None or isinstance(r.exception, SystemExit), (name, r.exception)
            assert r.exit_code in (0, 1, 2), (name, r.output)
            assert not LIVE.search(r.stdout) and not LIVE.search(r.stderr), (name, r.output)
            results[name] = r
        assert results["missing"].exit_code == 2
        # what the note parser made of the text (Markdown unescapes \\[), as the JSON gives it
        stored_title = json.loads(results["list-json"].stdout)[0]["title"]
        due_json = json.loads(cli("--vault", root, "due", "--json", env=env).stdout)
        stored_question = next(g["card"] for group in due_json.values() for g in group if g["path"] == "a.md")
        for name in ("list", "links", "review"):
            assert one_line(stored_title) in results[name].stdout, name
        assert one_line(math_readable(stored_question)) in results["due"].stdout
        assert "t" + one_line(stored_title) in results["stats"].stdout


def test_markup_in_titles_is_text_not_style(make_vault, cli):
    root = make_vault(
        {
            "a.md": "---\ntitle: '[INST] hi [/INST]'\n---\n### Q: Score s[i][j]?\nyes [red]no[/red]\n",
            "b.md": "# [bold]Loud[/bold]\n\n[[a]]\n",
        }
    )
    env = {"COLUMNS": "200"}
    assert "[INST] hi [/INST]" in cli("--vault", root, "list", env=env).stdout
    assert "[bold]Loud[/bold]" in cli("--vault", root, "list", env=env).stdout
    assert "[INST] hi [/INST]" in cli("--vault", root, "show", "a.md", env=env).stdout
    assert "Score s[i][j]?" in cli("--vault", root, "due", env=env).stdout
    r = cli("--vault", root, "review", input="enter\n3\n", env=env)
    assert r.exit_code == 0, r.output
    assert "[INST] hi [/INST]" in r.stdout and "Score s[i][j]?" in r.stdout
    assert "yes [red]no[/red]" in r.stdout


def test_error_messages_quoting_names_carry_no_control_codes(make_vault, cli):
    root = make_vault({"a.md": "# a\n"})
    r = cli("--vault", root, "show", "evil\x1b]0;pwned\x07\x1b[2J")
    assert r.exit_code == 2 and not LIVE.search(r.stderr)
    assert r.stderr.startswith("attnkb: no note matches")
    r = cli("--vault", root / "no\x1b[2Jwhere", "list")
    assert r.exit_code == 2 and not LIVE.search(r.stderr) and "no[2Jwhere" not in r.stderr


def test_check_findings_quoting_links_are_clean(make_vault, cli):
    root = make_vault({"a.md": "# a\n\n[[miss\x07ing\u202e\x9b2J]]\n"})
    r = cli("--vault", root, "check")
    assert r.exit_code == 1 and "broken link" in r.stderr and not LIVE.search(r.stderr)


def test_show_drops_controls_that_markdown_entities_would_bring_back(make_vault, cli):
    root = make_vault({"a.md": "# a\n\nx &#x202e; y &#27;[2J z [t](http://e/\x1b[2J)\n"})
    r = cli("--vault", root, "show", "a.md")
    assert r.exit_code == 0 and not LIVE.search(r.stdout)


# ---------------------------------------------------------------------------------------------
# Formulas


def test_formulas_as_unicode():
    assert latex_to_unicode(r"\sqrt{d_k}") in ("√d_k", "√(d_k)")
    assert latex_to_unicode(r"QK^\top") == "QKᵀ"
    assert latex_to_unicode(r"\frac{a}{b}") == "a/b"
    assert latex_to_unicode(r"\mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V") == (
        "softmax(QKᵀ/√(d_k))V"
    )
    assert latex_to_unicode(r"\frac{q \cdot k}{\sqrt{d}}") == "(q · k)/√d"
    assert latex_to_unicode(r"W^{-1} x_i^2 e^{s_{ij}}") == "W⁻¹ x_i² e^(s_ij)"
    assert latex_to_unicode(r"\text{if } a \le b") == "if a ≤ b"
    assert latex_to_unicode(r"\mathbb{R}^{n \times d}") == "ℝ^(n × d)"


def test_math_readable_finds_formulas_and_leaves_code_and_prices():
    text = r"Score $\frac{QK^\top}{\sqrt{d_k}}$, costs $5 and $6, `$a^2$`, \(x^2\) and $$\sum_i x_i$$."
    assert math_readable(text) == "Score QKᵀ/√(d_k), costs $5 and $6, `$a^2$`, x² and ∑_i x_i."


@given(st.text(alphabet="\\{}[]^_$()&%#~ab12 \n", max_size=40))
def test_malformed_latex_never_crashes_and_falls_back_to_source(latex):
    out = latex_to_unicode(latex)
    assert isinstance(out, str)
    math_readable(f"${latex}$ and $${latex}$$")
    markdown_source(latex)


def test_malformed_latex_is_shown_as_written():
    for bad in (r"\frac{", r"\frac{a}", "}{", "{" * 700, r"\sqrt{"):
        assert latex_to_unicode(bad) == bad


def test_show_renders_formulas_readably_and_raw_keeps_source(make_vault, cli):
    root = make_vault(
        {"f.md": "# F\n\nScaled by $\\sqrt{d_k}$: $$\\frac{QK^\\top}{\\sqrt{d_k}}$$ and $a_1*b_2*c$.\n"}
    )
    env = {"COLUMNS": "200"}
    r = cli("--vault", root, "show", "f.md", env=env)
    assert r.exit_code == 0, r.output
    assert "Scaled by √(d_k):" in r.stdout and "QKᵀ/√(d_k)" in r.stdout and "a_1*b_2*c" in r.stdout
    assert "\\sqrt" not in r.stdout
    raw = cli("--vault", root, "show", "--raw", "f.md", env=env)
    assert "$\\sqrt{d_k}$" in raw.stdout and "$$\\frac{QK^\\top}{\\sqrt{d_k}}$$" in raw.stdout


def test_review_shows_formulas_readably(make_vault, cli):
    root = make_vault(
        {"f.md": "# F\n\n### Q: Why divide by $\\sqrt{d_k}$?\n\nSo that $QK^\\top$ keeps unit variance.\n"}
    )
    r = cli("--vault", root, "review", input="enter\n3\n", env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "Why divide by √(d_k)?" in r.stdout and "So that QKᵀ keeps unit variance." in r.stdout


def test_run_example_labels_and_new_names_are_text(make_vault, cli):
    block = (
        "```attention\nop: scaled_dot\nq: [[1, 0]]\nk: [[1, 0], [0, 1]]\nv: [[1, 2], [3, 4]]\n"
        'labels: {queries: ["[bold]q\\e[2J"], keys: ["[INST]", "k\\u202e"]}\n'
        "expect:\n  weights: [[0.9, 0.1]]\n```\n"
    )
    root = make_vault({"[red]n[/red].md": "# Example\n\n" + block})
    r = cli("--vault", root, "run-example", "[red]n[/red].md", env={"COLUMNS": "200"})
    assert r.exit_code == 1, r.output  # the claimed weights are wrong: a failed check
    assert not LIVE.search(r.stdout) and "[red]n[/red].md" in r.stdout
    assert "[bold]q[2J" not in r.stdout and "[bold]q" in r.stdout and "[INST]" in r.stdout
    r = cli("--vault", root, "new", "x\x1b]0;t\x07y", "--link", "l\x1bPk\x07\u202e")
    assert r.exit_code == 0, r.output
    assert not LIVE.search(r.stdout) and not LIVE.search(r.stderr) and "--link" in r.stderr


def test_indexing_progress_bar_draws_on_the_real_stderr_console(monkeypatch):
    """The bar appears once indexing has taken a second; rich needs the Console itself, not the
    stand-in that imports rich on first use."""
    from rich.console import Console

    from attnkb.cli import common

    monkeypatch.setattr(common.err, "_console", Console(file=io.StringIO(), force_terminal=True))
    bar = common.LazyProgress("Indexing notes")
    bar(1, 10)
    assert bar.bar is None  # under a second: nothing drawn
    bar.started -= 2
    bar(5, 10)
    bar(10, 10)
    bar.close()
    assert bar.bar is not None and bar.bar.console is common.err.console
    assert "Indexing notes" in common.err.console.file.getvalue()


def test_indexing_progress_bar_stays_off_a_pipe(monkeypatch):
    """`attnkb list 2>log` on a slow machine: stderr is no terminal, so no bar and no stray
    newline that rich's transient bar leaves behind."""
    from rich.console import Console

    from attnkb.cli import common

    monkeypatch.setattr(common.err, "_console", Console(file=io.StringIO(), force_terminal=False))
    bar = common.LazyProgress("Indexing notes")
    bar.started -= 2
    bar(5, 10)
    bar.close()
    assert bar.bar is None and common.err.console.file.getvalue() == ""
