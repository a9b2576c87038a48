"""Commands that read the vault: init, list, show, links, graph, check."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import typer

from attnkb.cli import app
from attnkb.cli.common import emit_json, find_note, load_graph, load_summaries, out, vault_root
from attnkb.errors import UsageError


@app.command()
def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(None, help="Folder to make a vault (default: the vault)."),
    starter: bool = typer.Option(
        False, "--starter", help="Also copy in the bundled starter notes on attention."
    ),
) -> None:
    """Make a folder a vault by creating its .attnkb/ (safe to run again)."""
    from attnkb.vault import init as init_vault

    root = directory.resolve() if directory else vault_root(ctx)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder: {exc.strerror}", str(root)) from exc
    state = init_vault(root)
    if starter:
        from attnkb.templates import copy_starter

        copied, kept = copy_starter(root)
        out.print(f"Copied {len(copied)} starter notes into {root}", markup=False)
        if kept:
            typer.echo(
                f"attnkb: warning: kept {len(kept)} existing files as they were: {', '.join(kept)}", err=True
            )
    out.print(f"Vault ready: {root} ({state.name}/)", markup=False)


@app.command("list")
def list_notes(
    ctx: typer.Context,
    tag: list[str] = typer.Option(None, "--tag", "-t", help="Only notes with this tag (repeat for all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the notes of the vault."""
    notes = sorted(load_summaries(vault_root(ctx)), key=lambda n: n["path"])
    if tag:
        from attnkb.note import tags_match  # brings in the parsers, so only when filtering

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
        table.add_row(n["path"], n["title"], ", ".join(n["tags"]))
    out.print(table)
    out.print(f"[dim]{len(notes)} notes[/dim]")


@app.command()
def show(ctx: typer.Context, note: str = typer.Argument(..., help="Path, file name or title.")) -> None:
    """Show a note: its metadata and its text, rendered."""
    from rich.markdown import Markdown
    from rich.panel import Panel

    from attnkb import frontmatter
    from attnkb.vault import read_text

    root = vault_root(ctx)
    graph = load_graph(root)
    path = find_note(graph, root, note)
    n = graph.notes[path]
    facts = [f"[bold]{n.title}[/bold]", f"[cyan]{path}[/cyan]"]
    if n.tags:
        facts.append("tags: " + ", ".join(n.tags))
    for key in ("next_review", "review_count", "mastery_level"):
        if n.meta.get(key) is not None:
            facts.append(f"{key}: {n.meta[key]}")
    facts.append(
        f"{len(graph.outgoing(path))} links out, {len(graph.backlinks.get(path, []))} backlinks,"
        f" {len(n.cards)} cards, {len(n.examples)} examples"
    )
    out.print(Panel("\n".join(facts), expand=False))
    out.print(Markdown(_math_as_code(frontmatter.split(read_text(root, path)).body)))


# Fenced code and code spans are left alone; math becomes code so that Markdown rendering
# neither eats its backslashes (``\!``, ``\,``, ``\{``) nor reads ``*`` and ``_`` as emphasis.
_CODE_OR_MATH = re.compile(
    r"(?P<fence>^[ ]{0,3}(?P<mark>`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}(?P=mark)[ \t]*$|\Z))"
    r"|(?P<span>(?P<ticks>`+).+?(?P=ticks))"
    r"|(?P<display>\$\$(?P<dbody>.+?)\$\$)"
    r"|(?P<inline>(?<![\\$])\$(?P<ibody>[^\s$](?:[^$\n]*?[^\s$\\])?)\$(?!\$))",
    re.MULTILINE | re.DOTALL,
)


def _math_as_code(body: str) -> str:
    def swap(m: re.Match) -> str:
        if m["display"]:  # a paragraph of its own; a code block would crop long formulas
            return "\n\n" + _code_span("$$" + " ".join(m["dbody"].split()) + "$$") + "\n\n"
        if m["inline"]:
            return _code_span(m[0])
        return m[0]

    return _CODE_OR_MATH.sub(swap, body)


def _code_span(text: str) -> str:
    ticks = "``" if "`" in text else "`"
    return f"{ticks} {text} {ticks}" if ticks == "``" else f"`{text}`"


@app.command()
def links(
    ctx: typer.Context,
    note: str = typer.Argument(..., help="Path, file name or title."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    mentions: bool = typer.Option(
        False, "--mentions", help="Instead: notes that name its title or an alias without linking to it."
    ),
) -> None:
    """Show a note's outgoing links and its backlinks."""
    root = vault_root(ctx)
    graph = load_graph(root)
    path = find_note(graph, root, note)
    if mentions:
        from attnkb.cli.find import print_mentions

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
    out.print(f"[bold]{graph.notes[path].title}[/bold] [cyan]{path}[/cyan]")
    out.print(f"\n[bold]Outgoing ({len(outgoing)})[/bold]")
    for o in outgoing:
        if o["ambiguous"]:
            status = "[yellow]ambiguous: " + ", ".join(o["candidates"]) + "[/yellow]"
        elif o["targetPath"] is None:
            status = "[red]broken[/red]"
        else:
            status = f"[cyan]{o['targetPath']}[/cyan]"
        out.print(f"  {o['line']:>4}  {o['href']}  → {status}")
    out.print(f"\n[bold]Backlinks ({len(backlinks)})[/bold]")
    for b in backlinks:
        out.print(f"  [cyan]{b['sourcePath']}[/cyan]:{b['line']}  {b['href']}")


class GraphFormat(StrEnum):
    json = "json"
    dot = "dot"
    mermaid = "mermaid"


@app.command()
def graph(
    ctx: typer.Context,
    fmt: GraphFormat = typer.Option(GraphFormat.json, "--format", "-f", help="Output format."),
) -> None:
    """Export the link graph (zk-compatible JSON, Graphviz DOT or Mermaid)."""
    g = load_graph(vault_root(ctx))
    if fmt is GraphFormat.json:
        emit_json(g.to_json())
    elif fmt is GraphFormat.dot:
        typer.echo(g.to_dot(), nl=False)
    else:
        typer.echo(g.to_mermaid(), nl=False)


@app.command()
def check(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Report invalid front matter, broken and ambiguous links, failing examples, and orphans."""
    from attnkb.checks import check_vault

    root = vault_root(ctx)
    g = load_graph(root)
    findings = check_vault(g, root)
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
            label = "" if f.severity == "error" else f"{f.severity}: "
            typer.echo(f"attnkb: {f.path}:{f.line}: {label}{f.message}", err=True)
        summary = f"{len(g.notes)} notes, {len(errors)} errors, {len(findings) - len(errors)} warnings"
        out.print(summary)
    if errors:
        raise typer.Exit(1)
