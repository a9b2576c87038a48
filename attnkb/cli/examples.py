"""``attnkb run-example``: compute a note's attention examples and check its numbers."""

from __future__ import annotations

from pathlib import Path

import typer

from attnkb.cli import app
from attnkb.cli.common import emit_json, load_graph, out, vault_root
from attnkb.cli.complete import note_names
from attnkb.cli.render import line, one_line, plain
from attnkb.examples import DEFAULT_MAX_ELEMENTS
from attnkb.plural import counted

MAX_ROWS = 16  # a block's matrices are drawn up to this many rows, and as many columns as fit


def _corner(arr, title: str, cell_width: int):
    """The top-left part of a matrix that fits the terminal, and a title saying so."""
    rows = arr if arr.ndim == 2 else arr.reshape(1, -1)
    fit = max(1, min(MAX_ROWS, (out.width - 12) // cell_width))
    shown = rows[:MAX_ROWS, :fit]
    if shown.shape != rows.shape:
        title += f" [dim](first {shown.shape[0]} of {counted(rows.shape[0], 'row')}, {shown.shape[1]} of {counted(rows.shape[1], 'column')})[/dim]"
    return shown, title  # title: our own markup, no note text


def _matrix(arr, title: str):
    from rich.table import Table

    rows, title = _corner(arr, title, 9)
    table = Table(title=title, box=None, show_header=False, title_justify="left")
    for _ in range(rows.shape[1]):
        table.add_column(justify="right")
    for row in rows:
        table.add_row(*(f"{float(x):.4f}" for x in row))
    return table


def _render(result, quiet: bool, picture: bool = False) -> None:
    from rich.table import Table

    from attnkb.cli.heatmap import weights_view
    from attnkb.examples.runner import score_variance

    colour = {"pass": "green", "fail": "red", "error": "red"}[result.status]
    head = line((result.status.upper(), colour), f" {result.path}:{result.line}")
    if result.op:
        head.append_text(line(" ", (result.op, "bold")))
    if quiet or result.status == "error" or result.live is None:
        out.print(head + line("  ", result.message) if result.status != "pass" else head)
        return
    live, block = result.live, result.block
    shapes = ", ".join(f"{k} {'×'.join(map(str, s))}" for k, s in sorted(live.inputs.items()))
    out.print()
    out.print(head + line("  ", (shapes, "dim")))
    weights = weights_view(result, picture)
    if weights is not None:
        out.print(weights)
    if live.output is not None:
        out.print(_matrix(live.output, "output"))
    expect = block.data.get("expect") or {}
    if live.scores is not None and "scores" in expect:
        out.print(_matrix(live.scores, "scores (before softmax)"))
    if live.scores is not None and "score_var" in expect:
        out.print(f"score variance: {score_variance(live):.4f}")
    if result.mismatches:
        table = Table(title="expected vs live", title_justify="left")
        for col in ("what", "where", "expected", "live"):
            table.add_column(col)
        for m in result.mismatches:
            where = "" if m.get("index") is None else str(m["index"])
            table.add_row(*(plain(x) for x in (m["key"], where, m["expected"], m.get("actual"))))
        out.print(table)
    out.print(head + line("  ", result.message))


@app.command("run-example")
def run_example(
    ctx: typer.Context,
    notes: list[str] = typer.Argument(
        None, help="Notes whose attention blocks to run.", autocompletion=note_names
    ),
    run_all: bool = typer.Option(False, "--all", help="Run every attention block in the vault."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON, one object per block."),
    update: bool = typer.Option(False, "--update", help="Rewrite expect values from live output."),
    add: list[str] = typer.Option(
        None, "--add", help="With --update: also add this expect key (weights, output, scores)."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Only what failed, one line each, and the summary."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Every block and formula, passed or not (the default for named notes)."
    ),
    max_elements: int = typer.Option(
        DEFAULT_MAX_ELEMENTS, "--max-elements", help="Refuse blocks needing more elements."
    ),
    no_formulas: bool = typer.Option(
        False, "--no-formulas", help="Run the blocks only; do not check the notes' formulas."
    ),
    show: bool = typer.Option(
        False, "--show", help="Draw each block's weights as a heatmap (digits when piped or NO_COLOR)."
    ),
    plot: Path = typer.Option(
        None,
        "--plot",
        metavar="FILE.svg|FILE.png",
        help="Write the weights and scores as a picture (several blocks: FILE-1, FILE-2, ...). Needs the 'plot' extra.",
    ),
    attach: bool = typer.Option(
        False,
        "--attach",
        help="With --update: draw each block as attachments/NOTE-N.svg beside the note and link it under the block.",
    ),
) -> None:
    """Check the examples and formulas of notes against the kernel.

    Runs the `attention` example blocks and compares what they claim with the kernel's result.
    With --all, only what failed is shown in full, then one line per note with something to
    say and the summary (--verbose: everything).

    The formulas the notes state (LaTeX, and plain text in bare fences) are checked too: each
    against the nearest block of its section, or seeded random inputs.
    """
    from attnkb.errors import UsageError
    from attnkb.examples.runner import run_note_examples
    from attnkb.examples.spec import MATRIX_KEYS
    from attnkb.links import find_note

    if bool(notes) == run_all:
        raise UsageError("name one or more notes, or use --all")
    if quiet and verbose:
        raise UsageError("--quiet and --verbose do not go together")
    add_keys = set(add or [])
    if add_keys - set(MATRIX_KEYS):
        raise UsageError("--add takes " + ", ".join(MATRIX_KEYS))
    if add_keys and not update:
        raise UsageError("--add goes with --update")
    if attach and not update:
        raise UsageError("--attach goes with --update")
    if plot is not None or attach:
        from attnkb.examples.plot import picture_format, plot_available

        if plot is not None:
            picture_format(plot)
        plot_available()
    root = vault_root(ctx)
    graph = load_graph(root)
    paths = sorted(graph.notes) if run_all else [find_note(graph.resolver, root, n) for n in notes]
    results, refused = [], False
    formulas = []
    for path in paths:
        note = graph.notes[path]
        note_results = run_note_examples(note, max_elements)
        if update and note_results:
            from attnkb.errors import ExampleError, WriteRefused
            from attnkb.examples.update import update_note

            try:
                changed = update_note(root, note_results, add_keys)
            except (
                ExampleError,
                WriteRefused,
            ) as exc:  # this note stays as it is; the others are still updated
                typer.echo(one_line(f"attnkb: {exc}"), err=True)
                changed, refused = False, True
            if changed:
                note = load_graph(root).notes[path]
                note_results = run_note_examples(note, max_elements)
                if not as_json:
                    out.print(line(("updated", "cyan"), " ", path))
        if attach and note_results:
            from attnkb.errors import ExampleError, WriteRefused
            from attnkb.examples.plot import attach_pictures

            try:
                pictures = attach_pictures(root, note_results)
            except (ExampleError, WriteRefused) as exc:
                typer.echo(one_line(f"attnkb: {exc}"), err=True)
                pictures, refused = [], True
            if pictures and not as_json:
                shown = ", ".join(str(p.relative_to(root)) for p in pictures)
                out.print(line(("pictures", "cyan"), " ", shown))
        results.extend(note_results)
        if not no_formulas:
            from attnkb.formulas import check_note

            formulas.extend(check_note(root, note, note_results))
    if plot is not None:
        from attnkb.examples.plot import write_pictures

        for written in write_pictures(results, plot.expanduser()):
            if not as_json:
                out.print(line(("wrote", "cyan"), " ", str(written)))
    if as_json:
        emit_json([{"kind": "block", **r.to_dict()} for r in results] + [f.to_dict() for f in formulas])
    else:
        brief = run_all and not verbose  # a whole vault: what needs attention, not 449 PASS lines
        for r in results:
            if not brief or show or r.status != "pass":
                _render(r, quiet, picture=show)
        for f in formulas:
            if not brief or f.status == "fail":
                _render_formula(f, quiet)
        if brief and not quiet:
            _per_note(results, formulas)
        counts = {s: sum(r.status == s for r in results) for s in ("pass", "fail", "error")}
        out.print(
            f"{counted(len(results), 'block')}: {counts['pass']} passed, {counts['fail']} failed, {counts['error']} invalid"
        )
        if not no_formulas:
            out.print(_formula_summary(formulas))
    if refused or any(r.status == "error" for r in results):
        raise typer.Exit(2)
    if any(r.status == "fail" for r in results) or any(f.status == "fail" for f in formulas):
        raise typer.Exit(1)


def _per_note(results, formulas) -> None:
    """One line for each note with something to say: a block or formula that failed or could
    not be checked. Notes where everything agrees say nothing."""
    from collections import Counter

    said: dict[str, Counter] = {}
    for r in results:
        if r.status != "pass":
            said.setdefault(r.path, Counter())[f"block {r.status}"] += 1
    for f in formulas:
        if f.status in ("fail", "unsupported"):
            said.setdefault(f.path, Counter())[f"formula {f.status}"] += 1
    words = {
        "block fail": ("block", "failed"),
        "block error": ("block", "invalid"),
        "formula fail": ("formula", "disagrees", "disagree"),
        "formula unsupported": ("formula", "unsupported"),
    }
    for path in sorted(said):
        parts = []
        for key, n in sorted(said[path].items()):
            noun, *verb = words[key]
            parts.append(f"{counted(n, noun)} {verb[-1] if n != 1 else verb[0]}")
        out.print(line((path, "cyan"), ": " + ", ".join(parts)))


def _render_formula(f, quiet: bool) -> None:
    """One formula verdict. The formula is note text: printed through render, never as markup."""
    if f.status == "context" or (quiet and f.status != "fail"):
        return
    style = {"pass": "green", "fail": "red", "unsupported": "yellow"}[f.status]
    head = line(
        (f.status.upper(), style),
        f" {f.path}:{f.line} formula ",
        (f.formula, "bold" if f.status == "fail" else ""),
    )
    if f.status != "fail":
        out.print(head + line((f"  {f.message}", "dim")))
        return
    out.print(head)
    used = f"block at line {f.block_line}" if f.block_line else "seeded random inputs"
    detail = line(f"  compared: {f.target or 'value'} with the {used}" + (f", op {f.op}" if f.op else ""))
    out.print(detail)
    if f.first_diff:
        d = f.first_diff
        where = ", ".join(
            f"{a.lstrip('·') or 'query'}={i}" for a, i in zip(d["axes"], d["index"], strict=False)
        )
        inner = d["index"][len(d["axes"]) :]
        where = ", ".join(x for x in (where, f"entry {inner}" if inner else "") if x)
        out.print(
            line(
                f"  first difference at {where or 'the value'}: kernel {d['kernel']:.6g}, formula {d['formula']:.6g}"
            )
        )
    out.print(line(f"  {f.message}"))


def _formula_summary(formulas) -> str:
    count = {s: sum(f.status == s for f in formulas) for s in ("pass", "fail", "unsupported", "context")}
    checked = count["pass"] + count["fail"]
    return (
        f"formulas: {checked} checked, {count['pass']} agree, {count['fail']} disagree,"
        f" {count['unsupported']} unsupported, {count['context']} context"
    )
