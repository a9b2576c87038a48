"""Finding notes: search, related notes and the generated related section."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from typer.core import TyperCommand

from attnkb.cli import app
from attnkb.cli.common import LazyProgress, emit_json, load_graph, out, report, vault_root
from attnkb.cli.complete import note_names, tag_names
from attnkb.cli.render import clean
from attnkb.mathtext import math_readable
from attnkb.plural import counted


def _ask(root, question):
    """``question`` answered by the vault's full-text index, brought up to date."""
    from attnkb.vault import Index

    index = Index(root)
    progress = LazyProgress()
    try:
        answer = index.ask(question, progress)
    finally:
        progress.close()
    report(index.findings)
    return answer


def _clean(text: str) -> str:
    """Note text for the terminal, as render.clean makes it, keeping SQLite's hit markers."""
    from attnkb.search import HL_END, HL_START

    return HL_START.join(
        HL_END.join(clean(piece, multiline=False) for piece in part.split(HL_END))
        for part in text.split(HL_START)
    )


def _highlighted(snippet: str, color: bool):
    from rich.text import Text

    from attnkb.search import HL_END, HL_START, one_line

    text = Text()
    import re

    # as `show` renders the line: a heading without its marks, formulas as Unicode
    shown = re.sub(r"^#{1,6}[ \t]+", "", one_line(_clean(snippet)))
    shown = math_readable(shown, (HL_START, HL_END))
    for i, part in enumerate(shown.split(HL_START)):
        hit, _, rest = part.partition(HL_END) if i else ("", "", part)
        if hit:
            text.append(hit, style="bold yellow" if color else None)
        text.append(rest)
    return text


class _ExcludeWords(TyperCommand):
    """Lets ``-word`` through as a query word: any argument with a leading dash that is not one of
    the command's options is moved behind ``--`` (exclusions do not depend on their position)."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        known = {o for p in self.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}
        known |= set(ctx.help_option_names)
        head, sep, tail = (
            (args[: args.index("--")], ["--"], args[args.index("--") + 1 :])
            if "--" in args
            else (args, [], [])
        )
        kept: list[str] = []
        moved: list[str] = []
        for arg in head:
            is_option = arg in known or (arg.startswith("--") and arg.split("=", 1)[0] in known)
            (moved if arg.startswith("-") and len(arg) > 1 and not is_option else kept).append(arg)
        return super().parse_args(ctx, kept + (["--", *moved, *tail] if moved or sep else []))


def _print_hits(hits) -> None:
    from rich.text import Text

    color = out.is_terminal
    for h in hits:
        head = Text()
        head.append(_clean(h.path), style="cyan" if color else None)
        head.append(f":{h.line}  ")
        head.append(_clean(h.title), style="bold" if color else None)
        out.print(head)
        out.print(Text("  ").append(_highlighted(h.snippet, color)))


def print_mentions(root, graph, path: str, as_json: bool) -> None:
    """``links NOTE --mentions``: unlinked mentions, from the search index."""
    from attnkb.search import mentions, names_of

    linking = {e.source for e in graph.backlinks.get(path, [])} | {path}
    note = graph.notes[path]
    names = names_of(note.title, note.path, note.aliases)
    hits = _ask(root, lambda db: mentions(db, names, linking))
    if as_json:
        emit_json({"path": path, "mentions": [h.to_dict() for h in hits]})
        return
    _print_hits(hits)
    typer.echo(f"{counted(len(hits), 'note')} mention it without a link", err=True)


@app.command(cls=_ExcludeWords)
def search(
    ctx: typer.Context,
    query: list[str] = typer.Argument(..., help='Words (all must match), "a phrase", -excluded, a OR b.'),
    tag: list[str] = typer.Option(
        None, "--tag", help="Only notes with this tag (repeat for all).", autocompletion=tag_names
    ),
    limit: int = typer.Option(20, "--limit", min=1, help="At most this many notes."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the text of every note.

    Chinese matches by character, so any substring is found; other words match by prefix.
    """
    from attnkb.search import search as run

    text = " ".join(query)
    hits = _ask(vault_root(ctx), lambda db: run(db, text, limit=limit, tags=tag))
    if as_json:
        emit_json([h.to_dict() for h in hits])
        return
    _print_hits(hits)
    if not hits:
        typer.echo("no notes match", err=True)


@app.command()
def related(
    ctx: typer.Context,
    notes: list[str] = typer.Argument(
        None, help="Path, file name or title (with --write: any number).", autocompletion=note_names
    ),
    limit: int = typer.Option(
        None, "--limit", min=1, help="At most this many notes (default 10; --write: config)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    unlinked: bool = typer.Option(
        False, "--unlinked", help="Only notes not yet linked either way: link suggestions."
    ),
    write: bool = typer.Option(False, "--write", help="Write the generated related section into the notes."),
    all_notes: bool = typer.Option(False, "--all", help="With --write: every note of the vault."),
    minimum: float = typer.Option(
        None, "--min", min=0, max=100, help="Leave out notes below this similarity (percent)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --write: print the diff, change nothing."),
) -> None:
    """Notes similar in text to NOTE, and link suggestions.

    Similarity is over Chinese character pairs and other words; shared tags count too.
    """
    from attnkb.errors import UsageError
    from attnkb.links import find_note
    from attnkb.related import Model, documents, rows
    from attnkb.related_section import Links, load_config, vault_style
    from attnkb.vault import STATE_DIR

    notes = notes or []
    if (all_notes or dry_run) and not write:
        raise UsageError("--all and --dry-run go with --write")
    if write and all_notes == bool(notes):
        raise UsageError("--write needs NOTE... or --all (not both)")
    if not write and len(notes) != 1:
        raise UsageError("give one NOTE (several only with --write)")
    if write and (unlinked or as_json):
        raise UsageError("--unlinked and --json do not go with --write")
    root = vault_root(ctx)
    config, warnings = load_config(root / STATE_DIR)
    report(warnings)
    graph = load_graph(root)
    styles: Counter[str] = Counter()
    model = Model(documents(root, list(graph.notes.values()), config, styles))
    paths = sorted(graph.notes) if all_notes else [find_note(graph.resolver, root, n) for n in notes]
    if not write:
        found = rows(graph, model, paths[0], limit or 10, unlinked, minimum or 0.0)
        if as_json:
            emit_json({"path": paths[0], "related": [r.to_dict() for r in found]})
            return
        _print_related(graph.notes[paths[0]].title, paths[0], found)
        return
    links = Links.of(config.links or vault_style(styles), graph.notes)
    _write(root, graph, model, paths, config, limit, minimum, dry_run, links)


def _print_related(title: str, path: str, found) -> None:
    from rich.table import Table
    from rich.text import Text

    out.print(Text.assemble((_clean(title), "bold"), "  ", (_clean(path), "cyan")))
    if not found:
        out.print("no similar notes")
        return
    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("similarity", justify="right")
    table.add_column("linked")
    table.add_column("title", overflow="fold")
    table.add_column("path", style="cyan", overflow="fold")
    for r in found:
        table.add_row(
            f"{r.percent}%", "linked" if r.linked else "-", Text(_clean(r.title)), Text(_clean(r.path))
        )
    out.print(table)


def _write(root, graph, model, paths, config, limit, minimum, dry_run, links) -> None:
    from attnkb.related import rows, write_section

    skipped = updated = 0
    with _progress(len(paths)) as advance:
        for path in paths:
            entries = rows(
                graph, model, path, limit or config.limit, minimum=config.min if minimum is None else minimum
            )
            outcome = write_section(root, path, entries, config, dry_run=dry_run, links=links)
            advance()
            if outcome.status == "skipped":
                skipped += 1
                typer.echo(clean(f"attnkb: {path}: {outcome.message}", multiline=False), err=True)
            elif outcome.status == "updated":
                updated += 1
                if dry_run:
                    typer.echo("\n".join(_clean(line) for line in outcome.diff.splitlines()))
    verb = "would update" if dry_run else "updated"
    typer.echo(
        f"{verb} {counted(updated, 'note')}, {len(paths) - updated - skipped} unchanged, {skipped} skipped",
        err=dry_run,
    )
    if skipped:
        raise typer.Exit(1)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr while the sections are written, on a terminal only (piped, the
    output is a diff or a count, and a bar would be noise in it)."""
    from attnkb.cli.common import err

    if not err.is_terminal or total < 2:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(console=err.console, transient=True) as bar:
        task = bar.add_task("Writing related sections", total=total)
        yield lambda: bar.advance(task)
