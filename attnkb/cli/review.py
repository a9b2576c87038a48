"""Spaced repetition commands: review, due, stats."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta

import typer

from attnkb.cli import app
from attnkb.cli.common import emit_json, load_index, out, report, vault_root, warn
from attnkb.cli.complete import tag_names
from attnkb.cli.render import line, markdown, plain
from attnkb.mathtext import math_readable
from attnkb.plural import counted


def _deck(ctx: typer.Context, writes: bool = False, git: bool = True, tags: list[str] | None = None):
    from attnkb import clock
    from attnkb.srs.config import load
    from attnkb.srs.deck import Deck
    from attnkb.vault import STATE_DIR, Index

    root = vault_root(ctx)
    config = load(root / STATE_DIR)
    report(config.warnings)  # unknown keys, as the index reports unknown tables
    if git:
        from attnkb.git import ignored_logs

        report(ignored_logs(root))
    index = Index(root, create=writes)
    notes = load_index(root, "deck", index=index)[0]
    deck = Deck(root, notes, config, clock.now(), index)
    _warn(deck)
    if tags:
        from attnkb.notefields import require_tags

        require_tags((n.tags for n in deck.notes.values()), tags)
    return deck


def _warn(deck) -> None:
    """Warnings the core collected (unreadable log lines, notes it could not update)."""
    for notice in deck.notices:
        warn(str(notice))
    deck.notices.clear()


def _interval(memory, when) -> str:
    """What a grade button shows: minutes in the learning steps, else whole days."""
    return _span(memory.due - when) if memory.learning else f"{memory.interval}d"


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
    tag: list[str] = typer.Option(
        None, "--tag", "-t", help="Only cards of notes with this tag.", autocompletion=tag_names
    ),
    limit: int = typer.Option(None, "--limit", min=0, help="Review at most N cards."),
    new: int = typer.Option(None, "--new", min=0, help="Introduce at most N new cards today."),
    checklist: str = typer.Option(
        None, "--checklist", metavar="FILE", help="Record the ticked notes of a `due --markdown` checklist."
    ),
) -> None:
    """Review the cards that are due.

    Space or Enter shows the answer; 1-4 grade it; u undoes, s skips, q quits.
    """
    if checklist is not None:
        from attnkb.cli.interop import review_checklist

        review_checklist(_deck(ctx), checklist)
        return
    from rich.rule import Rule

    from attnkb.srs.session import RATINGS, Session, SessionClock

    deck = _deck(ctx, writes=True, tags=tag)
    session = Session(deck, deck.queue(tag, limit, new), SessionClock.from_env())
    session.start()
    if session.finished:
        out.print("Nothing to review now.")
        if _still_due(deck, tag):
            out.print(
                f"Today's limits are reached ({counted(deck.config.reviews_per_day, 'review')},"
                f" {deck.config.new_per_day} new a day): `attnkb review --new N` takes more new cards."
            )
        return

    def show_prompt() -> None:
        item = session.current
        if item.is_new:
            label = "new"
        elif item.memory is not None and item.memory.learning:
            label = f"learning, due {item.due:%H:%M}"
        else:
            label = f"due {deck.study_day(item.due):%Y-%m-%d}"
        out.print(
            Rule(
                line(f"{session.shown}/{session.shown + session.remaining - 1} · {item.title} · {label}"),
                style="dim",
            )
        )
        out.print(plain(f"{item.card.path}:{item.card.line}", "dim"))
        out.print(markdown(item.card.question if item.card.kind != "note" else f"# {item.card.question}"))
        out.print("[dim]space/Enter: answer · s: skip · u: undo · q: quit[/dim]")

    def show_answer() -> None:
        answer = deck.answer(session.current)
        _warn(deck)
        out.print(Rule(style="dim"))
        out.print(markdown(answer) if answer else plain("(no answer text)", "italic"))
        now = session.clock.now()
        out.print(
            "   ".join(
                f"[bold]{r}[/bold] {RATINGS[r]} ({_interval(session.choices[r], now)})" for r in RATINGS
            )
        )

    show_prompt()
    try:
        for key in _keys():
            event = session.key(key)
            _warn(deck)
            if event == "reveal":
                show_answer()
            elif event == "undone" and session.undone is not None:
                item, entry = session.undone
                out.print(
                    line(
                        (f"Undid {RATINGS.get(entry.rating, entry.rating)} on ", "yellow"),
                        (math_readable(item.card.question), "yellow bold"),
                        (": grade it again.", "yellow"),
                    )
                )
            if session.finished:
                break
            if event in ("graded", "skipped", "undone"):
                show_prompt()
    except KeyboardInterrupt:
        pass
    stats = session.stats()
    retention = "–" if stats["retention"] is None else f"{stats['retention']:.0%}"
    back = stats["coming_back"]
    out.print(Rule("Session over", style="dim"))
    out.print(
        f"Reviewed {counted(stats['reviewed'], 'card')}, skipped {stats['skipped']}, recalled {retention}."
    )
    if back:
        if len(back) == 1:
            out.print(f"1 card is in its learning steps and comes back at {back[0]:%H:%M}.")
        else:
            out.print(
                f"{counted(len(back), 'card')} are in their learning steps; the first comes back at {back[0]:%H:%M}."
            )
    _still_due(deck, tag)


def _still_due(deck, tags: list[str] | None) -> bool:
    """What is left, counted as ``attnkb due`` counts it then, and the first day after today
    that has cards due: never a time already past. Whether anything is left today."""
    groups = deck.groups(tags)
    left = [
        f"{counted(len(groups[name]), 'card')} {label}"
        for name, label in (("overdue", "overdue"), ("today", "due today"))
        if groups[name]
    ]
    if groups["new"]:
        left.append(f"{len(groups['new'])} new ({deck.config.new_per_day} a day)")
    if left:
        out.print(line("Left: " + ", ".join(left) + "; ", ("attnkb due", "dim"), " lists them."))
    upcoming = deck.next_day_due(tags)
    if upcoming:
        day, count = upcoming
        out.print(f"Next due after today: {day:%Y-%m-%d} ({day:%a}), {counted(count, 'card')}.")
    elif not left:
        out.print("Nothing is scheduled yet.")
    return bool(left)


@app.command()
def due(
    ctx: typer.Context,
    tag: list[str] = typer.Option(
        None, "--tag", "-t", help="Only cards of notes with this tag.", autocompletion=tag_names
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    markdown: bool = typer.Option(
        False, "--markdown", help="Write a checklist to tick (see review --checklist)."
    ),
    output: str = typer.Option(
        None, "--output", "-o", metavar="FILE", help="With --markdown: write to FILE."
    ),
    limit: int = typer.Option(
        None,
        "--limit",
        min=1,
        help="At most N cards a group (default 50); with --markdown, N notes a section"
        " (default: [checklist] limit, else all).",
    ),
    force: bool = typer.Option(
        False, "--force", help="With --output: replace FILE even if it is not a checklist attnkb wrote."
    ),
) -> None:
    """Show new cards, and what is overdue, due today and due soon.

    "Soon" is the next 7 days.
    """
    deck = _deck(ctx, tags=tag)
    if markdown or output is not None:
        from attnkb.cli.interop import due_markdown

        due_markdown(deck, tag, output, markdown, limit, force)
        return
    groups = {
        name: [
            {
                "path": item.card.path,
                "title": item.title,
                "card": item.card.question,
                "due": None if item.is_new else item.due.isoformat(),
                "stability": item.memory.stability if item.memory else None,
                "difficulty": item.memory.difficulty if item.memory else None,
            }
            for item in items
        ]
        for name, items in deck.groups(tag).items()
    }
    if as_json:
        emit_json(groups)
        return
    cap = limit or 50
    out.print(line(_review_order(deck, tag)))

    def scheduled(name: str, label: str) -> None:
        out.print(f"[bold]{label}[/bold] ({len(groups[name])})")
        for g in groups[name][:cap]:
            out.print(
                line(f"  {g['due'][:10]}  {g['title']} — {math_readable(g['card'])}  ", (g["path"], "dim"))
            )
        if len(groups[name]) > cap:
            out.print(f"  [dim]… and {len(groups[name]) - cap} more[/dim]")

    # what did I let slip, then what is due today, then what is new (as Anki's queues)
    scheduled("overdue", "Overdue")
    scheduled("today", "Today")
    fresh = groups["new"]
    out.print(f"[bold]New[/bold] ({len(fresh)}), {deck.config.new_per_day} a day")
    for g in fresh[: min(deck.config.new_per_day, cap)]:
        out.print(line(f"  {g['title']} — {math_readable(g['card'])}  ", (g["path"], "dim")))
    if len(fresh) > min(deck.config.new_per_day, cap):
        out.print(f"  [dim]… and {len(fresh) - min(deck.config.new_per_day, cap)} more[/dim]")
    scheduled("week", "Next 7 days")


def _review_order(deck, tags: list[str] | None) -> str:
    """The header of ``due``: what ``attnkb review`` would show now, in its order."""
    today = deck.day_start(deck.today())
    parts: dict[str, int] = {}
    for item in deck.queue(tags, None, None):
        kind = "new" if item.is_new else "overdue" if item.due < today else "due today"
        parts[kind] = parts.get(kind, 0) + 1
    if not parts:
        return "attnkb review has nothing to show now."
    order = ", then ".join(f"{n} {kind}" for kind, n in parts.items())
    return f"attnkb review shows {order}."


@app.command()
def stats(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show review statistics.

    Reviews per day, true retention, a 30-day forecast, mastery by tag and the streak.
    """
    from datetime import date

    from attnkb.srs.stats import compute

    deck = _deck(ctx, git=False)
    data = compute(deck)
    if as_json:
        emit_json(data)
        return
    per_day = {date.fromisoformat(d): n for d, n in data["reviews_per_day"].items()}
    today = deck.today()
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
    out.print(
        f"\n{counted(data['reviews'], 'review')} · streak: {counted(data['streak_days'], 'day')}"
        f" · {counted(data['cards'], 'card')}, {data['new']} new"
    )
    out.print(_retention_table(data["true_retention_by_period"]))
    out.print(_forecast_table(data["forecast"][:14]))
    out.print("[bold]Mastery by tag[/bold]")
    out.print(_mastery_table(list(data["mastery_by_tag"].items())[:30]))


def _retention_table(periods: dict[str, dict]):
    """Anki's True Retention table: reviews of cards past their learning steps, per period."""
    from rich.table import Table

    names = {"today": "today", "yesterday": "yesterday", "week": "7 days", "month": "30 days"}
    names |= {"year": "365 days", "all": "all"}
    table = Table(
        box=None,
        title="True retention: passed / (passed + failed), reviews of graduated cards",
        title_justify="left",
        title_style="bold",
        padding=(0, 1),
    )
    table.add_column("")
    for key in periods:
        table.add_column(names[key], justify="right")
    table.add_row("passed", *(str(p["passed"]) for p in periods.values()))
    table.add_row("failed", *(str(p["failed"]) for p in periods.values()))
    table.add_row(
        "retention", *("–" if p["retention"] is None else f"{p['retention']:.1%}" for p in periods.values())
    )
    return table


def _forecast_table(days: list[dict]):
    """The forecast under its label, each count under its weekday and date."""
    from datetime import date

    from rich.table import Table

    dates = [date.fromisoformat(d["date"]) for d in days]
    title = (
        f"Cards due, next {counted(len(days), 'day')} (from {dates[0]:%Y-%m-%d}), by weekday and day of month"
    )
    table = Table(box=None, title=title, title_justify="left", title_style="bold", padding=(0, 1))
    table.add_column("\nday")
    for d in dates:
        table.add_column(f"{d:%a}\n{d.day}", justify="right", min_width=3)
    table.add_row("due", *(str(d["due"]) for d in days))
    return table


def _mastery_table(rows: list[tuple[str, float]]):
    """Tags padded by terminal cells, not characters: a CJK character takes two."""
    from rich.table import Table

    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column(overflow="fold")
    table.add_column(width=20, no_wrap=True)
    table.add_column(justify="right")
    for tag_name, m in rows:
        table.add_row(plain(tag_name), "█" * int(m * 20), f"{m:.2f}")
    return table
