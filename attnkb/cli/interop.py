"""Doors to other tools: ``import obsidian-sr``, ``import anki``, ``export anki``."""

from __future__ import annotations

from pathlib import Path

import typer

from attnkb.cli import app
from attnkb.cli.common import load_notes, out, vault_root, warn
from attnkb.cli.render import plain
from attnkb.plural import counted

import_app = typer.Typer(help="Bring cards and review history in from another tool.", no_args_is_help=True)
export_app = typer.Typer(help="Hand cards to another tool.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


def _report(report, dry_run: bool, what: str) -> None:
    verb = "Would take" if dry_run else "Took"
    reviews = f", {counted(report.reviews, 'review')}" if report.reviews else ""
    out.print(plain(f"{verb} {counted(report.cards, 'card')} from {report.notes} {what}{reviews}."))
    if not dry_run:
        kept = len(report.entries) - report.written
        out.print(
            plain(f"Wrote {report.written} log entries" + (f" ({kept} were already there)." if kept else "."))
        )
    if report.skipped:
        out.print(plain(f"Skipped {len(report.skipped)}:"))
        for s in report.skipped:
            warn(str(s))


@import_app.command("obsidian-sr")
def import_obsidian_sr(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be taken; write nothing."),
) -> None:
    """Import obsidian-sr schedules into the review log.

    The schedules of obsidian-spaced-repetition (SR comments, sr-due front matter) become
    memories in the log. Notes are never edited."""
    from attnkb.interop.obsidian_sr import plan_import
    from attnkb.interop.records import append_new
    from attnkb.srs.config import load
    from attnkb.vault import STATE_DIR

    root = vault_root(ctx)
    state = root / STATE_DIR
    report = plan_import(load_notes(root), load(state))
    if not dry_run and report.entries:
        report.written = append_new(root, report.entries)
    _report(report, dry_run, "notes")


def _existing(path: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        from attnkb.errors import UsageError

        raise UsageError("no such file", path=path)
    return p


@import_app.command("anki")
def import_anki(
    ctx: typer.Context,
    package: str = typer.Argument(..., metavar="FILE.apkg|FILE.colpkg", help="An Anki package."),
    into: str = typer.Option(
        None, "--into", metavar="DIR", help="Folder inside the vault for the notes (default: anki/)."
    ),
    deck: str = typer.Option(None, "--deck", metavar="NAME", help="Only this deck and its subdecks."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be taken; write nothing."),
) -> None:
    """Import an Anki deck as notes and review history.

    Anki notes become Markdown notes (one `### Q:` per card, media beside them) and their
    review history goes into the log. Existing notes are never edited; re-running adds nothing."""
    from attnkb.interop.anki import plan_import, write_import
    from attnkb.templates import target_folder

    root = vault_root(ctx, need_notes=False).resolve()  # an empty vault is where imports begin
    given = Path(into).expanduser() if into else Path("anki")
    if given.is_absolute() and given.resolve().is_relative_to(root):  # a full path into the vault
        given = given.resolve().relative_to(root)
    folder = target_folder(root, given.as_posix())  # from the vault, as `new --dir` is
    source = _existing(package)
    report, plans, collection = plan_import(source, root, folder, deck)
    if not dry_run:
        write_import(source, root, plans, collection, report)
    _report(report, dry_run, "Anki notes")
    new = sum(1 for p in plans if p.text is not None)
    out.print(
        plain(
            f"{'Would write' if dry_run else 'Wrote'} {counted(new, 'new note')} into {folder.relative_to(root).as_posix()}/."
        )
    )


@export_app.command("anki")
def export_anki(
    ctx: typer.Context,
    out_file: str = typer.Argument(..., metavar="OUT.apkg", help="The package to write."),
    tag: list[str] = typer.Option(None, "--tag", "-t", help="Only notes with this tag."),
    deck: str = typer.Option("attnkb", "--deck", metavar="NAME", help="Anki deck name."),
) -> None:
    """Export cards as an Anki deck (.apkg).

    One Anki note per card: question and answer as HTML, formulas as MathJax, the note path and
    tags as Anki tags, with each card's schedule and review history (import it in Anki with
    "Import any learning progress"). Re-exporting updates the same notes in Anki instead of
    adding new ones."""
    from attnkb import clock
    from attnkb.errors import UsageError
    from attnkb.interop.anki_export import export
    from attnkb.notefields import require_tags
    from attnkb.srs.config import load
    from attnkb.srs.deck import Deck
    from attnkb.vault import STATE_DIR

    root = vault_root(ctx)
    target = Path(out_file).expanduser()
    if target.suffix.lower() != ".apkg":
        raise UsageError("the package name must end in .apkg", path=out_file)
    if not target.parent.is_dir():
        raise UsageError("no such folder", path=str(target.parent))
    notes = load_notes(root)
    require_tags((n.tags for n in notes), tag)
    schedule = Deck(root, notes, load(root / STATE_DIR), clock.now())
    for notice in schedule.notices:
        warn(notice)
    cards, written = export(root, notes, schedule, target, deck, tag)
    out.print(
        plain(f"Wrote {counted(cards, 'card')} from {counted(written, 'note')} to {target} (deck {deck!r}).")
    )


def due_markdown(
    deck, tags: list[str] | None, output: str | None, markdown: bool, limit: int | None, force: bool = False
) -> None:
    """``due --markdown [-o FILE]``: the checklist on stdout or in FILE (links from its folder),
    at most ``limit`` (else ``[checklist] limit``) notes a section. FILE is replaced only when it
    is a checklist attnkb wrote, or with ``--force``."""
    import sys

    from attnkb.cli.common import report
    from attnkb.errors import UsageError
    from attnkb.files import atomic_write, output_root, write_target
    from attnkb.interop.checklist import load_config, render
    from attnkb.vault import STAMP_WITHIN, STATE_DIR, is_checklist

    if not markdown:
        raise UsageError("--output needs --markdown")
    config, warnings = load_config(deck.root / STATE_DIR)
    report(warnings)
    limit = limit if limit is not None else config.limit
    if output is None:
        sys.stdout.write(render(deck, Path.cwd(), tags, limit, config.language))
        return
    target = Path(output).expanduser()
    if not target.parent.is_dir():
        raise UsageError("no such folder", path=str(target.parent))
    vault = output_root(target, deck.root)
    real = write_target(target, vault)  # a link out of the vault, or a read-only file: refused
    if not force and real.exists() and not is_checklist(_head(real, STAMP_WITHIN)):
        raise UsageError(
            "is not a checklist attnkb wrote (a note?); not replacing it (--force replaces it)", path=output
        )
    atomic_write(target, render(deck, target.parent.resolve(), tags, limit, config.language), vault)
    out.print(plain(f"Wrote {target}."))


def _head(path: Path, size: int) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""  # unreadable: not known to be a checklist, so not replaced without --force


def review_checklist(deck, file: str) -> None:
    """``review --checklist FILE``: grade the ticked notes, untick their boxes."""
    from attnkb.interop.checklist import record

    path = _existing(file)
    result = record(deck, path)
    if result.untick_error is None:
        done = f"unticked {counted(result.unticked, 'box')} in {file}"
    else:
        done = f"the boxes in {file} could not be unticked"
    out.print(
        plain(f"Recorded {counted(result.reviews, 'review')} for {counted(result.notes, 'note')}; {done}.")
    )
    for s in result.skipped:
        warn(f"{file}: {s}")
    for notice in deck.notices:
        warn(str(notice))
    if result.untick_error is not None:
        warn(f"{file}: {result.untick_error}; the grades were recorded, but its boxes are still ticked")
        raise typer.Exit(1)
