"""The terminal heatmap of a block's weights: a golden screen, every starter block, the digits
fallback, masks, heads side by side."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from attnkb.cli.heatmap import VALUE_CELL, panel_lines
from attnkb.examples.picture import colour, weight_panels
from attnkb.examples.runner import run_block

GOLDEN = Path(__file__).parent / "data" / "golden"
STARTER = Path(__file__).resolve().parents[1] / "notes"
MASKED_4X4 = """op: scaled_dot
q: [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]]
k: [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]]
mask: causal
labels: {queries: [我, 爱, 学, 习], keys: [我, 爱, 学, 习]}
"""
ESC = re.compile(r"\x1b\[[0-9;]*m")


def screen(block: str, width: int, system: str) -> str:
    """What the heatmap of ``block`` writes to a terminal of that width and colour system, in a
    process of its own: rich keeps the escape codes of a style (and of styles combined) for
    the first colour system it met, so one process draws in one colour system only."""
    import subprocess
    import sys

    code = (
        "import io, sys\n"
        "from rich.console import Console\n"
        "from attnkb.cli.heatmap import heatmaps\n"
        "from attnkb.examples.runner import run_block\n"
        "block, width, system = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
        "c = Console(file=io.StringIO(), width=width, color_system=system, force_terminal=True,"
        " highlight=False, soft_wrap=True)\n"
        "c.print(heatmaps(run_block('n.md', 1, block), width))\n"
        "sys.stdout.write(c.file.getvalue())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", code, block, str(width), system], capture_output=True, env=env, check=True
    )
    return done.stdout.decode("utf-8")


def starter_blocks():
    out = []
    for path in sorted(STARTER.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^```attention\n(.*?)^```", text, re.M | re.S):
            line = text[: m.start()].count("\n") + 1
            out.append((path.name, line, m.group(1)))
    return out


@pytest.mark.parametrize("system", ["truecolor", "256"])
def test_a_masked_4x4_block_matches_its_golden_screen(system):
    got = screen(MASKED_4X4, 80, system)
    golden = GOLDEN / f"heatmap_4x4_{system}.ansi"
    if os.environ.get("ATTNKB_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert got == golden.read_text(encoding="utf-8")
    text = ESC.sub("", got).splitlines()
    assert text[0].startswith("weights (rows: queries, columns: keys)")
    assert text[1].split() == ["我", "爱", "学", "习"]  # columns: the keys' own labels
    assert text[2].split() == ["我", "1.00", "×", "×", "×"]  # masked, not 0.00
    assert text[5].split() == ["习", "0.27", "0.06", "0.13", "0.54"]
    assert "masked (may not attend)" in text[-1]


def test_colours_are_one_scale_truecolor_or_the_nearest_of_256():
    true = screen(MASKED_4X4, 80, "truecolor")
    r, g, b = colour(1.0)
    assert f"48;2;{r};{g};{b}m 1.00 " in true  # the weight 1 on the scale's top colour
    eight_bit = screen(MASKED_4X4, 80, "256")
    assert "48;2;" not in eight_bit and re.search(r"48;5;\d+m 1\.00 ", eight_bit)


def test_every_starter_block_renders_one_cell_per_weight():
    blocks = starter_blocks()
    assert len(blocks) >= 25
    for name, line, text in blocks:
        result = run_block(name, line, text)
        assert result.status == "pass", (name, result.message)
        panels = weight_panels(result)
        assert panels, name
        for panel in panels:
            lines = panel_lines(panel, 80)
            body = lines[2:]
            rows, cols = panel.values.shape
            if "first" in lines[0].plain:  # the variance demo's 64×64: its corner, and says so
                assert rows * 2 + 10 > 80 and f"of {rows} rows" in lines[0].plain
                rows, cols = len(body), len(body[0].spans)
            assert len(body) == rows, name
            for i, row in enumerate(body):
                cells = [s for s in row.spans if "on " in str(s.style)]
                assert len(cells) == cols, (name, i)
                masked = sum("grey23" in str(s.style) for s in cells)
                assert masked == (0 if panel.allowed is None else int((~panel.allowed[i]).sum()))
            assert max(t.cell_len for t in lines) <= 80


def test_heads_side_by_side_where_they_fit_else_one_below_the_other():
    block = "op: multihead\nheads: 2\nx: {random: [3, 4], seed: 1}\n"
    result = run_block("n.md", 1, block)
    assert result.live is not None and result.live.heads is not None
    np.testing.assert_allclose(result.live.heads.mean(axis=0), result.live.weights)
    wide = ESC.sub("", screen(block, 100, "truecolor")).splitlines()
    assert "head 1/2" in wide[0] and "head 2/2" in wide[0]
    narrow = ESC.sub("", screen(block, 30, "truecolor")).splitlines()
    assert "head 2/2" not in narrow[0] and any("head 2/2" in t for t in narrow)


def test_a_large_matrix_is_shaded_squares_then_its_corner():
    result = run_block("n.md", 1, "op: scaled_dot\nq: {random: [40, 4]}\nk: {random: [60, 4]}\n")
    (panel,) = weight_panels(result)
    lines = panel_lines(panel, 80)
    assert "first 32 of 40 rows" in lines[0].plain and "of 60 columns" in lines[0].plain
    assert all(t.cell_len <= 80 for t in lines) and "0.1" not in lines[3].plain  # no digits: squares
    small = run_block("n.md", 1, "op: softmax\nscores: [1, 2, 3]\n")
    row = panel_lines(weight_panels(small)[0], 80)[2]
    assert len(row.spans) == 3 and row.spans[-1].end == 2 + 3 * VALUE_CELL


def test_piped_or_no_color_show_the_digits_with_masked_cells_as_dashes(make_vault, cli):
    note = f"# M\n\n```attention\n{MASKED_4X4}```\n\nAfter.\n"
    root = make_vault({"m.md": note})
    for env in ({}, {"NO_COLOR": "1"}):
        r = cli("--vault", root, "run-example", "m.md", "--show", env=env)
        assert r.exit_code == 0 and "\x1b" not in r.stdout
        assert re.search(r"我\s+1\.000\s+-\s+-\s+-", r.stdout), r.stdout
        shown = cli("--vault", root, "show", "m.md", "--no-pager", env=env).stdout
        assert "\x1b" not in shown
        assert shown.index("mask: causal") < shown.index("1.000") < shown.index("After.")
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env |= {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "FORCE_COLOR": "1"}
    run = [sys.executable, "-m", "attnkb", "--vault", str(root), "run-example", "m.md", "--show"]
    colour_on = subprocess.run(run, capture_output=True, text=True, env=env).stdout
    assert "\x1b[" in colour_on and "masked (may not attend)" in colour_on


def test_show_says_why_a_block_does_not_run(make_vault, cli):
    root = make_vault({"b.md": "# B\n\n```attention\nop: teleport\n```\n"})
    r = cli("--vault", root, "show", "b.md", "--no-pager")
    assert r.exit_code == 0 and "this block does not run: unknown or missing op 'teleport'" in r.stdout
