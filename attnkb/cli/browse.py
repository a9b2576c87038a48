"""Commands that read the vault: init, list, show, links, graph, check."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from attnkb.cli import app
from attnkb.cli.common import emit_json, load_graph, load_index, load_summaries, out, paged, vault_root, warn
from attnkb.cli.complete import note_names, tag_names
from attnkb.cli.render import clean, line, markdown, one_line, plain
from attnkb.errors import UsageError
from attnkb.plural import counted


@app.command()
def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(
        None, help="Folder to make a vault (default: --vault, else the working directory)."
    ),
    starter: bool = typer.Option(
        False, "--starter", help="Also copy in the bundled starter notes on attention."
    ),
) -> None:
    """Make a folder a vault (safe to run again).

    Creates its .attnkb/ folder, where the review log, settings and index cache live.
    """
    from attnkb.vault import init as init_vault

    # as `git init`: the folder named, else the working directory (never ./notes or a vault above)
    chosen = directory or (ctx.obj or {}).get("vault")
    root = Path(chosen).expanduser().resolve() if chosen else Path.cwd()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder: {exc.strerror}", str(root)) from exc
    state = init_vault(root)
    if starter:
        from attnkb.templates import copy_starter

        copied, kept, refused = copy_starter(root)
        out.print(line(f"Copied {len(copied)} starter notes into {root}"))
        if kept:
            warn(f"kept {len(kept)} existing files as they were: {', '.join(kept)}")
        for refusal in refused:
            warn(str(refusal))
    out.print(line(f"Vault ready: {root} ({state.name}/)"))


@app.command("list")
def list_notes(
    ctx: typer.Context,
    tag: list[str] = typer.Option(
        None, "--tag", "-t", help="Only notes with this tag (repeat for all).", autocompletion=tag_names
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the notes of the vault."""
    notes = sorted(load_summaries(vault_root(ctx)), key=lambda n: n["path"])
    if tag:
        from attnkb.notefields import require_tags, tags_match

        require_tags((n["tags"] for n in notes), tag)
        notes = [n for n in notes if tags_match(n["tags"], tag)]
    if as_json:
        emit_json(notes)
        return
    from rich.table import Table

    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("path", style="cyan", overflow="fold")
    table.add_column("title", overflow="fold")
    table.add_column("tags", style="magenta", overflow="fold")
    for n in notes:
        table.add_row(plain(n["path"]), plain(n["title"]), plain(", ".join(n["tags"])))
    out.print(table)
    out.print(f"[dim]{counted(len(notes), 'note')}[/dim]")


@app.command()
def show(
    ctx: typer.Context,
    note: str = typer.Argument(..., help="Path, file name or title.", autocompletion=note_names),
    raw: bool = typer.Option(False, "--raw", help="Formulas as their LaTeX source, not as Unicode."),
    no_pager: bool = typer.Option(False, "--no-pager", help="Print straight to the terminal."),
) -> None:
    """Show a note: its metadata, then its text rendered.

    Formulas are shown as Unicode (QKᵀ/√(d_k)); --raw keeps their LaTeX source.
    """
    from rich.panel import Panel
    from rich.text import Text

    from attnkb import frontmatter
    from attnkb.links import find_note
    from attnkb.vault import read_text

    root = vault_root(ctx)
    graph = load_graph(root)
    path = find_note(graph.resolver, root, note)
    n = graph.notes[path]
    facts = [plain(n.title, "bold"), plain(path, "cyan")]
    if n.tags:
        facts.append(line("tags: " + ", ".join(n.tags)))
    for key in ("next_review", "review_count", "mastery_level"):
        if n.meta.get(key) is not None:
            facts.append(line(f"{key}: {n.meta[key]}"))
    facts.append(
        line(
            f"{counted(len(graph.outgoing(path)), 'link')} out, {counted(len(graph.backlinks.get(path, [])), 'backlink')},"
            f" {counted(len(n.cards), 'card')}, {counted(len(n.examples), 'example')}"
        )
    )
    parts = frontmatter.split(read_text(root, path))
    with paged(not no_pager):
        out.print(Panel(Text("\n").join(facts), expand=False))
        for text, example in _with_examples(parts.body, parts.body_line, n.examples):
            out.print(markdown(text, raw_math=raw))
            if example is not None:
                _print_example(path, example)


def _with_examples(body: str, body_line: int, examples: list) -> list[tuple[str, object]]:
    """The body cut after each ``attention`` block's closing fence, so that the block's
    heatmap can be drawn under it: (text, the block that text ends with, or None)."""
    from attnkb.markdown import split_lines

    lines = split_lines(body, keepends=True)
    pieces: list[tuple[str, object]] = []
    start = 0
    for ex in examples:
        end = ex.line - body_line + ex.text.count("\n") + 2  # past the closing fence
        if not start <= ex.line - body_line < len(lines):
            continue
        pieces.append(("".join(lines[start:end]), ex))
        start = end
    pieces.append(("".join(lines[start:]), None))
    return [(text, ex) for text, ex in pieces if text.strip() or ex is not None]


def _print_example(path: str, example) -> None:
    """Under an attention block: its weights as a heatmap (digits where colour is off), or
    why it does not run."""
    from attnkb.cli.heatmap import weights_view
    from attnkb.examples.runner import run_block

    result = run_block(path, example.line, example.text)
    if result.status == "error":
        out.print(line((f"(this block does not run: {result.message})", "dim")))
        return
    view = weights_view(result)
    if view is not None:
        out.print(view)
        out.print()


@app.command()
def links(
    ctx: typer.Context,
    note: str = typer.Argument(..., help="Path, file name or title.", autocompletion=note_names),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    mentions: bool = typer.Option(
        False, "--mentions", help="Instead: notes that name its title or an alias without linking to it."
    ),
    no_pager: bool = typer.Option(False, "--no-pager", help="Print straight to the terminal."),
) -> None:
    """Show a note's outgoing links and its backlinks."""
    from attnkb.links import find_note

    root = vault_root(ctx)
    graph = load_graph(root)
    path = find_note(graph.resolver, root, note)
    if mentions:
        from attnkb.cli.find import print_mentions

        with paged(not (no_pager or as_json)):
            print_mentions(root, graph, path, as_json)
        return
    outgoing = [
        {
            "href": e.link.href,
            "type": e.link.kind,
            "line": e.link.line,
            "targetPath": e.target,
            "ambiguous": e.resolution.ambiguous,
            "candidates": e.resolution.candidates if e.resolution.ambiguous else [],
        }
        for e in graph.outgoing(path)
    ]
    backlinks = [
        {"sourcePath": e.source, "line": e.link.line, "href": e.link.href, "type": e.link.kind}
        for e in graph.backlinks.get(path, [])
    ]
    if as_json:
        emit_json({"path": path, "outgoing": outgoing, "backlinks": backlinks})
        return
    with paged(not no_pager):
        _print_links(graph, path, outgoing, backlinks)


def _print_links(graph, path: str, outgoing: list[dict], backlinks: list[dict]) -> None:
    out.print(line((graph.notes[path].title, "bold"), " ", (path, "cyan")))
    out.print()
    out.print(plain(f"Outgoing ({len(outgoing)})", "bold"))
    for o in outgoing:
        if o["ambiguous"]:
            status = ("ambiguous: " + ", ".join(o["candidates"]), "yellow")
        elif o["targetPath"] is None:
            status = ("broken", "red")
        else:
            status = (o["targetPath"], "cyan")
        out.print(line(f"  {o['line']:>4}  ", o["href"], "  → ", status))
    out.print()
    out.print(plain(f"Backlinks ({len(backlinks)})", "bold"))
    for b in backlinks:
        out.print(line("  ", (b["sourcePath"], "cyan"), f":{b['line']}  ", b["href"]))


class GraphFormat(StrEnum):
    json = "json"
    dot = "dot"
    mermaid = "mermaid"


@app.command()
def graph(
    ctx: typer.Context,
    fmt: GraphFormat = typer.Option(
        None, "--format", "-f", help="Output format (default: json; on a terminal, a summary)."
    ),
    output: str = typer.Option(None, "--output", "-o", metavar="FILE", help="Write the graph to FILE."),
) -> None:
    """Export the link graph as JSON, Graphviz DOT or Mermaid.

    The JSON has the shape of zk's graph export (notes and links). On a terminal, without
    --format or --output, a summary: notes, links, broken links, orphans, the hubs.
    """
    import sys

    g = load_graph(vault_root(ctx))
    if fmt is None and output is None and sys.stdout.isatty():
        _graph_summary(g)
        return
    if fmt is GraphFormat.dot:
        text = clean(g.to_dot())
    elif fmt is GraphFormat.mermaid:
        text = clean(g.to_mermaid())
    elif output is None:
        emit_json(g.to_json())
        return
    else:
        from attnkb.cli.common import json_text

        text = json_text(g.to_json())
    if output is None:
        typer.echo(text, nl=False)
        return
    from attnkb.files import atomic_write

    target = Path(output).expanduser()
    if not target.parent.is_dir():
        raise UsageError("no such folder", path=str(target.parent))
    atomic_write(target, text)
    out.print(line(f"Wrote the graph of {counted(len(g.notes), 'note')} to {target}"))


def _graph_summary(g) -> None:
    """What a person at a terminal asks of the graph; the data itself is for programs."""

    broken = sum(1 for e in g.edges if e.target is None and not e.resolution.ambiguous)
    ambiguous = sum(1 for e in g.edges if e.resolution.ambiguous)
    resolved = sum(1 for e in g.edges if e.target is not None)
    out.print(
        line(
            f"{counted(len(g.notes), 'note')}, {counted(resolved, 'link')}"
            f" ({broken} broken, {ambiguous} ambiguous), {counted(len(g.orphans()), 'orphan')}"
        )
    )
    hubs = g.hubs(5)
    if hubs:
        out.print(plain("Most linked (links in + out):", "bold"))
        for path, ins, outs in hubs:
            out.print(line(f"  {ins:>3} + {outs:<3} ", g.notes[path].title, "  ", (path, "cyan")))
    out.print(
        line(
            "The data: ",
            ("attnkb graph -f json|dot|mermaid [-o FILE]", "bold"),
            " (JSON when piped: attnkb graph | jq .)",
        )
    )


@app.command()
def check(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Report what is wrong in the vault (exit 1 when anything is).

    Invalid front matter, broken and ambiguous links, failing examples and formulas, and
    orphans.
    """
    from attnkb.checks import check_vault
    from attnkb.git import ignored_logs
    from attnkb.graph import Graph
    from attnkb.vault import Index

    root = vault_root(ctx)
    index = Index(root)
    notes, skipped = load_index(root, "data", quiet=True, answers=False, index=index)
    g = Graph(notes)
    findings = check_vault(g, root, [*skipped, *ignored_logs(root)], index)
    errors = [f for f in findings if f.severity == "error"]
    if as_json:
        emit_json(
            {
                "notes": len(g.notes),
                "errors": len(errors),
                "warnings": len(findings) - len(errors),
                "problems": [f.to_dict() for f in findings],
            }
        )
    else:
        for f in findings:
            typer.echo(one_line(f"attnkb: {f}"), err=True)
        summary = f"{counted(len(g.notes), 'note')}, {counted(len(errors), 'error')}, {counted(len(findings) - len(errors), 'warning')}"
        out.print(summary)
    if errors:
        raise typer.Exit(1)
