"""The small things a daily user meets (issue 26): messages, order, pager, help, progress."""

from __future__ import annotations

import re

import pytest
import typer


def _commands():
    from attnkb.cli import app

    def walk(command, path):
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "attnkb")
def test_help_reads_clean_at_80_columns(cli, path):
    result = cli(*path, "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "\\" not in result.output, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80, result.output


NOTE = "---\ntitle: {title}\ntags: [{tags}]\n---\n# {title}\n\n### Q: What is {title}?\n\nIt is {title}.\n"


@pytest.fixture
def vault(make_vault):
    return make_vault(
        {
            "自注意力.md": NOTE.format(title="自注意力", tags="attention, 面试")
            + "\n[[多头注意力]] [[Multi Haed]]\n",
            "多头注意力.md": NOTE.format(title="多头注意力", tags="attention/multi") + "\n[[自注意力]]\n",
            "Softmax.md": NOTE.format(title="Softmax", tags="math") + "\n[[自注意力]]\n",
        }
    )


@pytest.mark.parametrize(
    "command",
    [["list"], ["due"], ["review"], ["search", "attention"], ["export", "anki", "out.apkg"]],
    ids=lambda c: c[0],
)
def test_a_tag_no_note_has_is_an_error_naming_the_closest(vault, cli, command):
    result = cli("--vault", vault, *command, "--tag", "atention")
    assert result.exit_code == 1, result.output
    assert "no note has tag 'atention' (did you mean 'attention'?); tags: attention," in result.output
    assert "面试" in result.output and "attention/multi" in result.output
    assert "Nothing is due" not in result.output


@pytest.mark.parametrize("command", [["list"], ["due"], ["search", "attention"]], ids=lambda c: c[0])
def test_a_parent_tag_and_a_hash_are_tags_the_vault_has(vault, cli, command):
    result = cli("--vault", vault, *command, "--tag", "#Attention")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["show", "links", "related", "run-example"])
def test_a_note_that_matches_nothing_names_the_closest_titles(vault, cli, command):
    result = cli("--vault", vault, command, "多头注意")
    assert result.exit_code == 2
    assert "no note matches '多头注意'; did you mean '多头注意力'" in result.output
    result = cli("--vault", vault, command, "softmx")
    assert "did you mean 'Softmax'?" in result.output


def test_check_names_the_closest_title_for_a_broken_link(vault, cli):
    result = cli("--vault", vault, "check")
    vault.joinpath("Softmax.md").write_text(
        NOTE.format(title="Softmax", tags="math") + "\n[[softmx]] [[自注意力]]\n"
    )
    result = cli("--vault", vault, "check")
    assert "broken link '[[softmx]]': no note 'softmx'; did you mean 'Softmax'?" in result.output
    assert "broken link '[[Multi Haed]]': no note 'Multi Haed'\n" in result.output  # nothing close


def on_terminal(*args: str, env: dict | None = None, cwd=None, timeout: float = 60) -> str:
    """What ``attnkb ARGS`` shows on a terminal of 80×24: run in a pseudo-terminal."""
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    from fcntl import ioctl
    from pathlib import Path
    from termios import TIOCSWINSZ

    primary, secondary = pty.openpty()
    ioctl(secondary, TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    full_env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "TERM": "xterm-256color",
        "COLUMNS": "80",
        "LINES": "24",
        **(env or {}),
    }
    for var in ("NO_COLOR", "FORCE_COLOR", "PAGER"):
        if var not in (env or {}):
            full_env.pop(var, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "attnkb", *map(str, args)],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=full_env,
        cwd=cwd,
        close_fds=True,
    )
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([primary], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError("no output for a minute: " + b"".join(chunks).decode(errors="replace"))
        try:
            data = os.read(primary, 65536)
        except OSError:  # the other side closed
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout)
    os.close(primary)
    return b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")


def test_graph_on_a_terminal_is_a_summary_and_piped_is_json(vault, cli):
    shown = on_terminal("--vault", vault, "graph")
    assert "3 notes, 3 links (1 broken, 0 ambiguous), 0 orphans" in shown, shown
    assert "Most linked" in shown and "自注意力" in shown
    assert "attnkb graph -f json|dot|mermaid [-o FILE]" in shown
    assert '"notes"' not in shown
    piped = cli("--vault", vault, "graph")
    assert piped.exit_code == 0 and piped.output.startswith('{\n  "notes": [')
    assert on_terminal("--vault", vault, "graph", "-f", "json").lstrip().startswith('{\n  "notes": [')


def test_graph_writes_a_file_with_output(vault, cli, tmp_path):
    import json

    result = cli("--vault", vault, "graph", "-o", tmp_path / "g.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "g.json").read_text())["notes"][0]["path"] == "Softmax.md"
    cli("--vault", vault, "graph", "-f", "dot", "-o", tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph attnkb {")


def test_dot_is_utf8_with_only_quote_and_backslash_escaped(make_vault, cli):
    root = make_vault(
        {
            "注意力与记忆.md": '---\ntitle: 注意力与记忆 "QKV" a\\b\n---\n[[Softmax]]\n',
            "Softmax.md": "# Softmax\n",
        }
    )
    dot = cli("--vault", root, "graph", "-f", "dot").output
    assert '"注意力与记忆.md" [label="注意力与记忆 \\"QKV\\" a\\\\b"];' in dot, dot
    assert "\\u" not in dot


def test_graphviz_draws_the_chinese_title(make_vault, cli):
    import shutil
    import subprocess

    root = make_vault(
        {
            "注意力与记忆.md": '---\ntitle: 注意力与记忆 "QKV" a\\b\n---\n[[Softmax]]\n',
            "Softmax.md": "# Softmax\n",
        }
    )
    dot = cli("--vault", root, "graph", "-f", "dot").output
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install graphviz)")
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True
    ).stdout.decode()
    assert "注意力与记忆 &quot;QKV&quot; a\\b" in svg, svg


ONE_CARD = "# {t}\n\n### Q: question {t}?\nanswer {t}\n"


def test_undo_names_the_card_and_grade_and_the_count_goes_down(make_vault, cli):
    root = make_vault({f"n{i}.md": ONE_CARD.format(t=i) for i in range(4)})
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "t"}
    r = cli("--vault", root, "review", input="\n4\n\n2\nu\nq\n", env=env)
    assert r.exit_code == 0, r.output
    assert "Undid Hard on question 1?: grade it again." in r.stdout
    counts = re.findall(r"(\d+)/\d+ · ", r.stdout)
    assert counts == ["1", "2", "3", "2"], counts  # after the undo, card 2 again, not card 4
    assert "Reviewed 1 card," in r.stdout


def test_the_closing_lines_agree_with_due_afterwards(make_vault, cli):
    import json

    files = {f"n{i}.md": ONE_CARD.format(t=i) for i in range(6)}
    files["old.md"] = "---\nreview_count: 1\nnext_review: 2026-11-19\n---\n" + ONE_CARD.format(t="old")
    root = make_vault(files)
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "t"}
    r = cli("--vault", root, "review", "--limit", "3", input="\n4\ns\n\n1\n", env=env)
    assert r.exit_code == 0, r.output
    due = json.loads(cli("--vault", root, "due", "--json", env=env).stdout)
    assert (len(due["overdue"]), len(due["today"]), len(due["new"])) == (0, 1, 5)
    assert "Left: 1 card due today, 5 new (20 a day); attnkb due lists them." in r.stdout, r.stdout
    assert "4 Easy (10d)" in r.stdout  # old.md, graded Easy: due on 2026-12-01, nothing before
    assert "Next due after today: 2026-12-01 (Tue), 1 card." in r.stdout


@pytest.mark.parametrize("n", [0, 1, 2])
def test_counts_read_as_english(n):
    from attnkb.plural import counted

    assert counted(n, "day") == {0: "0 days", 1: "1 day", 2: "2 days"}[n]
    assert counted(n, "entry") == {0: "0 entries", 1: "1 entry", 2: "2 entries"}[n]


def test_due_shows_overdue_then_today_then_new_and_says_what_review_shows_first(make_vault, cli):
    files = {f"n{i}.md": ONE_CARD.format(t=i) for i in range(2)}
    files["old.md"] = "---\nreview_count: 1\nnext_review: 2026-11-19\n---\n" + ONE_CARD.format(t="old")
    files["now.md"] = "---\nreview_count: 1\nnext_review: 2026-11-21\n---\n" + ONE_CARD.format(t="now")
    root = make_vault(files)
    r = cli("--vault", root, "due", env={"ATTNKB_NOW": "2026-11-21T10:00:00+00:00"})
    assert r.exit_code == 0, r.output
    heads = [ln.split(" (")[0] for ln in r.stdout.splitlines() if not ln.startswith(" ")]
    assert heads == [
        "attnkb review shows 1 overdue, then 1 due today, then 2 new.",
        "Overdue",
        "Today",
        "New",
        "Next 7 days",
    ]


def test_true_retention_counts_review_cards_as_anki_does_per_period(make_vault, cli):
    import json

    root = make_vault({"n.md": ONE_CARD.format(t="x")})
    for when, keys in (("2026-01-01", "\n4\n"), ("2026-03-01", "\n1\n\n3\n"), ("2026-09-01", "\n3\n")):
        env = {"ATTNKB_NOW": f"{when}T10:00:00+00:00", "ATTNKB_DEVICE": "t"}
        assert "Reviewed" in cli("--vault", root, "review", input=keys, env=env).stdout
    env = {"ATTNKB_NOW": "2026-09-01T12:00:00+00:00"}
    data = json.loads(cli("--vault", root, "stats", "--json", env=env).stdout)
    # Easy on a new card and Good in the relearning step are no reviews of a review card;
    # the Again of March is a failure, September's Good a pass
    assert data["reviews"] == 4
    assert data["true_retention"] == 0.5
    periods = data["true_retention_by_period"]
    assert periods["today"] == {"passed": 1, "failed": 0, "retention": 1.0}
    assert periods["month"] == {"passed": 1, "failed": 0, "retention": 1.0}
    assert periods["year"] == periods["all"] == {"passed": 1, "failed": 1, "retention": 0.5}
    shown = cli("--vault", root, "stats", env={**env, "COLUMNS": "80"}).stdout
    assert "True retention: passed / (passed + failed), reviews of graduated cards" in shown
    assert re.search(r"retention +100\.0% +– +100\.0% +100\.0% +50\.0% +50\.0%", shown), shown
    assert "4 reviews · streak: 1 day · 1 card, 0 new" in shown
    assert "Cards due, next 14 days (from 2026-09-01)" in shown
    assert re.search(r"\n +Tue +Wed +Thu .*\n day +1 +2 +3 ", shown), shown


# words after a count that are verbs (``{name} needs``), not nouns to count
_VERBS = {"does", "needs", "takes", "runs", "holds", "appears", "refers", "matches", "exists", "contains"}
_VERBS |= {"computes", "supports", "leaves", "decompresses", "is", "has", "ambiguous"}
# counts that are never 1, each with why
_NEVER_ONE = {
    ("interop/anki.py", "len(infos)"): "only said when over MAX_MEMBERS",
    ("examples/spec.py", "needed"): "only said when over the element limit",
    ("examples/spec.py", "math.prod(shape)"): "only said when over the element limit",
    ("formulas/values.py", "entry[1]"): "the operation limit",
    ("cli/optimize.py", "which"): "a word: default or fitted",
}


def _counts_before_plurals():
    """f-strings of attnkb that write ``{n} days`` by hand. The kernel is left out: it is pure
    NumPy and imports nothing of attnkb, and its messages go to programmers calling it."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "attnkb"
    found = []
    for path in sorted(package.rglob("*.py")):
        if "kernel" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.JoinedStr):
                continue
            for value, text in zip(node.values, node.values[1:], strict=False):
                if not (isinstance(value, ast.FormattedValue) and isinstance(text, ast.Constant)):
                    continue
                word = re.match(r" (?:new |more |other |open |old )?([a-z]+)\b", str(text.value))
                expr = ast.unparse(value.value)
                if not word or len(word[1]) < 2 or not word[1].endswith("s") or word[1] in _VERBS:
                    continue
                if re.match(r"[A-Z_][A-Z0-9_]*\b", expr):
                    continue  # a limit (MAX_BYTES), never one
                if (path.relative_to(package).as_posix(), expr) in _NEVER_ONE:
                    continue
                found.append(f"{path.relative_to(package)}:{node.lineno}: {{{expr}}} {word[1]}")
    return found


def test_every_message_with_a_count_says_1_day_not_1_days():
    assert _counts_before_plurals() == []


def test_run_example_all_prints_what_needs_attention_and_the_summary(tmp_path, cli):
    vault = tmp_path / "v"
    assert cli("init", vault, "--starter").exit_code == 0
    r = cli("--vault", vault, "run-example", "--all")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "PASS" not in r.stdout
    assert lines[-2:] == [
        "32 blocks: 32 passed, 0 failed, 0 invalid",
        "formulas: 63 checked, 63 agree, 0 disagree, 6 unsupported, 457 context",
    ]
    assert "Softmax与温度.md: 2 formulas unsupported" in lines
    assert "稀疏注意力.md: 1 formula unsupported" in lines
    assert len(lines) == 2 + 5, lines  # one line for each of the five notes with unsupported formulas
    verbose = cli("--vault", vault, "run-example", "--all", "--verbose").stdout
    assert len(re.findall(r"^PASS \S+ formula ", verbose, re.M)) == 63
    assert verbose.count("weights (rows: queries, columns: keys)") == 32
    quiet = cli("--vault", vault, "run-example", "--all", "--quiet").stdout.splitlines()
    assert quiet == lines[-2:]


@pytest.fixture
def fake_less(tmp_path):
    """A ``less`` that records its arguments and what it was given to page."""
    import os

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "less"
    script.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/pager-args\ncat > {tmp_path}/paged\n')
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, tmp_path


def test_show_and_links_page_through_less_on_a_terminal(vault, fake_less):
    env, where = fake_less
    shown = on_terminal("--vault", vault, "show", "自注意力", env=env)  # $PAGER unset: less -R -F -X
    assert "It is 自注意力" not in shown  # it went to the pager, in colour
    assert (where / "pager-args").read_text().split() == ["-R", "-F", "-X"]
    assert "It is 自注意力" in (where / "paged").read_text()
    assert "\x1b[" in (where / "paged").read_text()
    on_terminal("--vault", vault, "links", "自注意力", env={**env, "PAGER": "less -S"})
    assert "Backlinks (2)" in (where / "paged").read_text()
    assert (where / "pager-args").read_text().split() == ["-S"]


@pytest.mark.parametrize(
    "args",
    [
        ["show", "自注意力", "--no-pager"],
        ["links", "自注意力", "--json"],
        ["links", "自注意力", "--no-pager"],
    ],
)
def test_no_pager_with_no_pager_or_json(vault, fake_less, args):
    env, where = fake_less
    shown = on_terminal("--vault", vault, *args, env=env)
    assert "自注意力" in shown and not (where / "paged").exists()


def test_no_pager_when_piped(vault, fake_less, cli):
    env, where = fake_less
    assert "It is 自注意力" in cli("--vault", vault, "show", "自注意力", env={**env, "PAGER": "less"}).stdout
    assert not (where / "paged").exists()


def test_search_snippet_is_the_line_as_show_renders_it_with_the_hit_highlighted(make_vault):
    root = make_vault(
        {
            "缩放.md": "# 缩放点积注意力\n\n缩放后的分数 $S = QK^\\top / \\sqrt{d_k}$：除以它\n",
            "多头.md": "# 多头注意力\n\n### Q: 多头注意力的公式是什么？\n\nConcat\n",
        }
    )
    shown = on_terminal("--vault", root, "search", "sqrt")
    assert "\\sqrt" not in shown and "$" not in shown, shown
    assert "缩放后的分数 \x1b[1;33mS = QKᵀ/ √(d_k)\x1b[0m：除以它" in shown  # the formula with the hit, whole
    shown = on_terminal("--vault", root, "search", "多头")
    assert "\n  Q: " in shown and "# 多头注意力\n" not in shown and "###" not in shown, shown


def test_a_soft_break_between_chinese_characters_renders_as_nothing():
    from rich.console import Console

    from attnkb.cli.render import markdown

    console = Console(width=80, record=True, file=__import__("io").StringIO())
    console.print(markdown("注意力\n机制把查询，\n与键比较。\nSoft\nbreaks 与\nEnglish 保留空格。"))
    text = console.export_text()
    assert "注意力机制把查询，与键比较。 Soft breaks 与 English 保留空格。" in text, text


def test_the_pre_commit_hook_runs_check_on_the_vault(make_vault):
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    checkout = Path(__file__).resolve().parents[1]
    (hook,) = yaml.safe_load((checkout / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "attnkb-check" and hook["entry"] == "attnkb check"
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    assert "attnkb-check" in (checkout / "README.md").read_text()
    # pre-commit runs the entry at the top of the repository: the vault
    root = make_vault({".attnkb/config.toml": "", "a.md": "# A\n\n[[B]]\n", "b.md": "# B\n\n[[A]]\n"})
    env = {"PYTHONPATH": str(checkout), "PATH": __import__("os").environ["PATH"]}
    run = [sys.executable, "-m", "attnkb", *hook["entry"].split()[1:]]
    assert subprocess.run(run, cwd=root, env=env, capture_output=True).returncode == 0
    (root / "b.md").write_text("# B\n\n[[C]]\n")
    failed = subprocess.run(run, cwd=root, env=env, capture_output=True, text=True)
    assert failed.returncode == 1 and "broken link '[[C]]'" in failed.stderr


def _json_keys(value, depth: int = 0) -> set[str]:
    """Every key of a command's JSON but those whose keys are the user's (front matter, tags, days)."""
    if isinstance(value, list):
        return _json_keys(value[0], depth) if value else set()
    if not isinstance(value, dict) or depth >= 3:
        return set()
    keys = set()
    for k, v in value.items():
        if k not in ("metadata", "mastery_by_tag", "reviews_per_day"):
            keys |= {k} | _json_keys(v, depth + 1)
    return keys


def test_every_json_key_is_listed_in_readme(vault, cli):
    import json
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Output for programs and terminals", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(\w+)`", table))
    runs = [["list"], ["graph"], ["links", "自注意力"], ["check"], ["due"], ["stats"]]
    runs += [["search", "注意力"], ["related", "自注意力"]]
    for args in runs:
        data = json.loads(cli("--vault", vault, *args, *(["--json"] if args[0] != "graph" else [])).stdout)
        keys = _json_keys(data)
        assert keys <= listed, (args, keys - listed)


def test_no_color_and_force_color_and_columns(vault, cli):
    colour = re.compile(r"\x1b\[[0-9;]*3[0-7]m")  # a foreground colour (bold and dim are no colour)
    assert colour.search(on_terminal("--vault", vault, "list"))
    assert not colour.search(on_terminal("--vault", vault, "list", env={"NO_COLOR": "1"}))
    import os
    import subprocess
    import sys
    from pathlib import Path

    def piped(**env):
        full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        full |= {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), **env}
        run = [sys.executable, "-m", "attnkb", "--vault", str(vault), "list"]
        return subprocess.run(run, capture_output=True, text=True, env=full).stdout

    assert colour.search(piped(FORCE_COLOR="1")) and not colour.search(piped())
    from rich.cells import cell_len

    narrow = cli("--vault", vault, "list", env={"COLUMNS": "30"}).stdout
    assert max(cell_len(ln) for ln in narrow.splitlines()) <= 30, narrow
