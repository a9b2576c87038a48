"""Finding notes: search, related notes and the generated related section."""

from __future__ import annotations

import typer
from typer.core import TyperCommand

from attnkb.cli import app
from attnkb.cli.common import LazyProgress, emit_json, out, vault_root


def _search_db(root):
    from attnkb.vault import Index

    progress = LazyProgress()
    try:
        return Index(root).search_db(progress)
    finally:
        progress.close()


def _clean(text: str) -> str:
    """Note text for the terminal: no control characters (our highlight markers aside)."""
    from attnkb.search import HL_END, HL_START

    keep = {HL_START, HL_END}
    return "".join(c if c in keep or c.isprintable() else " " for c in text)


def _highlighted(snippet: str, color: bool):
    from rich.text import Text

    from attnkb.search import HL_END, HL_START, one_line

    text = Text()
    for i, part in enumerate(one_line(_clean(snippet)).split(HL_START)):
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
        kept, moved = [], []
        for arg in head:
            is_option = arg in known or (arg.startswith("--") and arg.split("=", 1)[0] in known)
            (moved if arg.startswith("-") and len(arg) > 1 and not is_option else kept).append(arg)
        return super().parse_args(ctx, kept + (["--", *moved, *tail] if moved or sep else []))


@app.command(cls=_ExcludeWords)
def search(
    ctx: typer.Context,
    query: list[str] = typer.Argument(..., help='Words (all must match), "a phrase", -excluded, a OR b.'),
    tag: list[str] = typer.Option(None, "--tag", help="Only notes with this tag (repeat for all)."),
    limit: int = typer.Option(20, "--limit", min=1, help="At most this many notes."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the text of every note (Chinese by character, other words by prefix)."""
    from rich.text import Text

    from attnkb.search import search as run

    db = _search_db(vault_root(ctx))
    try:
        hits = run(db, " ".join(query), limit=limit, tags=tag)
    finally:
        db.close()
    if as_json:
        emit_json([h.to_dict() for h in hits])
        return
    color = out.is_terminal
    for h in hits:
        head = Text()
        head.append(_clean(h.path), style="cyan" if color else None)
        head.append(f":{h.line}  ")
        head.append(_clean(h.title), style="bold" if color else None)
        out.print(head)
        out.print(Text("  ").append(_highlighted(h.snippet, color)))
    if not hits:
        typer.echo("no notes match", err=True)
