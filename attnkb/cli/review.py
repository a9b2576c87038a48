"""Spaced repetition commands: review, due, stats."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta

import typer

from attnkb.cli import app
from attnkb.cli.common import emit_json, load_notes, out, vault_root


def _deck(ctx: typer.Context):
    from attnkb import clock
    from attnkb.srs.config import load
    from attnkb.srs.deck import Deck
    from attnkb.vault import STATE_DIR

    root = vault_root(ctx)
    return Deck(root, load_notes(root), load(root / STATE_DIR), clock.now())


def _span(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes < 60:
        return f"{max(round(minutes), 1)}m"
    if minutes < 60 * 24:
        return f"{round(minutes / 60)}h"
    return f"{round(minutes / 1440)}d"


def _keys() -> Iterator[str]:
    """Single keys from a terminal; from a pipe, one key per line (an empty line is Enter)."""
    if sys.stdin.isatty():
        import termios
        import tty

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            while True:
                ch = sys.stdin.read(1)
                if not ch:
                    return
                yield "enter" if ch in "\r\n" else ch
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    else:
        for line in sys.stdin:
            yield line.rstrip("\r\n") or "enter"


@app.command()
def review(
    ctx: typer.Context,
    tag: list[str] = typer.Option(None, "--tag", "-t", help="Only cards of notes with this tag."),
    limit: int = typer.Option(None, "--limit", min=0, help="Review at most N cards."),
    new: int = typer.Option(None, "--new", min=0, help="Introduce at most N new cards today."),
    checklist: str = typer.Option(
        None, "--checklist", metavar="FILE", help="Record the ticked notes of a `due --markdown` checklist."
    ),
) -> None:
    """Review due cards: space/Enter shows the answer, 1-4 grade, u undo, s skip, q quit."""
    if checklist is not None:
        from attnkb.cli.interop import review_checklist

        review_checklist(_deck(ctx), checklist)
        return
    from rich.markdown import Markdown
    from rich.rule import Rule

    from attnkb import clock, frontmatter
    from attnkb.srs.cards import first_section
    from attnkb.srs.session import RATINGS, Session
    from attnkb.vault import read_text

    deck = _deck(ctx)
    session = Session(deck, deck.queue(tag, limit, new), clock.now)
    session.start()
    if session.finished:
        out.print("Nothing is due. [dim]attnkb due[/dim] shows what comes next.")
        return

    def show_prompt() -> None:
        item = session.current
        label = "new" if item.is_new else f"due {item.due:%Y-%m-%d}"
        out.print(Rule(f"{session.pos + 1}/{len(session.queue)} · {item.title} · {label}", style="dim"))
        out.print(f"[dim]{item.card.path}:{item.card.line}[/dim]")
        out.print(Markdown(item.card.question if item.card.kind != "note" else f"# {item.card.question}"))
        out.print("[dim]space/Enter: answer · s: skip · u: undo · q: quit[/dim]")

    def show_answer() -> None:
        item = session.current
        answer = item.card.answer
        if item.card.kind == "note":
            answer = first_section(frontmatter.split(read_text(deck.root, item.card.path)).body)
        out.print(Rule(style="dim"))
        out.print(Markdown(answer or "_(no answer text)_"))
        choices = deck.preview(item, clock.now())
        out.print("   ".join(f"[bold]{r}[/bold] {RATINGS[r]} ({_span(choices[r])})" for r in RATINGS))

    show_prompt()
    try:
        for key in _keys():
            event = session.key(key)
            if event == "reveal":
                show_answer()
            elif event == "undone":
                out.print("[yellow]Undid the last grade.[/yellow]")
            if session.finished:
                break
            if event in ("graded", "skipped", "undone"):
                show_prompt()
    except KeyboardInterrupt:
        pass
    stats = session.stats()
    retention = "–" if stats["retention"] is None else f"{stats['retention']:.0%}"
    nxt = stats["next_due"]
    out.print(Rule("Session over", style="dim"))
    out.print(
        f"Reviewed {stats['reviewed']}, skipped {stats['skipped']}, recalled {retention}."
        + (f" Next due: {nxt:%Y-%m-%d %H:%M}." if nxt else "")
    )


@app.command()
def due(
    ctx: typer.Context,
    tag: list[str] = typer.Option(None, "--tag", "-t", help="Only cards of notes with this tag."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    markdown: bool = typer.Option(
        False, "--markdown", help="Write a checklist to tick (see review --checklist)."
    ),
    output: str = typer.Option(
        None, "--output", "-o", metavar="FILE", help="With --markdown: write to FILE."
    ),
) -> None:
    """What is overdue, due today, and due in the next 7 days."""
    from attnkb.srs.deck import start_of_day

    deck = _deck(ctx)
    if markdown or output is not None:
        from attnkb.cli.interop import due_markdown

        due_markdown(deck, tag, output, markdown)
        return
    today = start_of_day(deck.now.date(), deck.now.tzinfo)
    groups: dict[str, list] = {"overdue": [], "today": [], "week": []}
    for item in sorted(deck.items.values(), key=lambda i: (i.due, i.card.path)):
        if tag and not deck.notes[item.card.path].has_tags(tag):
            continue
        if item.due < today:
            group = "overdue"
        elif item.due < today + timedelta(days=1):
            group = "today"
        elif item.due < today + timedelta(days=8):
            group = "week"
        else:
            continue
        groups[group].append(
            {
                "path": item.card.path,
                "title": item.title,
                "card": item.card.question,
                "due": item.due.isoformat(),
            }
        )
    if as_json:
        emit_json(groups)
        return
    for name, label in (("overdue", "Overdue"), ("today", "Today"), ("week", "Next 7 days")):
        out.print(f"[bold]{label}[/bold] ({len(groups[name])})")
        for g in groups[name][:50]:
            out.print(f"  {g['due'][:10]}  {g['title']} — {g['card']}  [dim]{g['path']}[/dim]")
        if len(groups[name]) > 50:
            out.print(f"  [dim]… and {len(groups[name]) - 50} more[/dim]")


@app.command()
def stats(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Reviews per day, true retention, 30-day forecast, mastery by tag, streak."""
    from datetime import date

    from attnkb.srs.stats import compute

    deck = _deck(ctx)
    data = compute(deck)
    if as_json:
        emit_json(data)
        return
    per_day = {date.fromisoformat(d): n for d, n in data["reviews_per_day"].items()}
    today = deck.now.date()
    start = today - timedelta(days=today.weekday() + 7 * 15)
    top = max(per_day.values(), default=1)
    shades = ["grey23", "green4", "green3", "green1", "bright_green"]
    out.print("[bold]Reviews, last 16 weeks[/bold]")
    for weekday, name in enumerate("MTWTFSS"):
        cells = []
        for week in range(16):
            d = start + timedelta(days=7 * week + weekday)
            n = per_day.get(d, 0)
            shade = shades[0] if n == 0 else shades[min(1 + 3 * n // (top + 1), 4)]
            cells.append(" " if d > today else f"[{shade}]■[/{shade}]")
        out.print(f"{name} " + " ".join(cells))
    retention = data["true_retention"]
    out.print(
        f"\nReviews: {data['reviews']} · true retention: {'–' if retention is None else f'{retention:.1%}'}"
        f" · streak: {data['streak_days']} days · cards: {data['cards']}"
    )
    forecast = " ".join(str(f["due"]) for f in data["forecast"][:14])
    out.print(f"Due, next 14 days: {forecast}")
    out.print("[bold]Mastery by tag[/bold]")
    for tag_name, m in list(data["mastery_by_tag"].items())[:30]:
        out.print(f"  {tag_name:<24} {'█' * int(m * 20):<20} {m:.2f}")
