"""``attnkb new``: a note from a template, named safely, never over an existing one."""

from __future__ import annotations

import os
import shlex
import subprocess

import typer

from attnkb.cli import app
from attnkb.cli.common import load_notes, vault_root, warn
from attnkb.cli.complete import note_names, tag_names
from attnkb.cli.render import one_line
from attnkb.errors import NoteExists, UsageError


@app.command()
def new(
    ctx: typer.Context,
    title: str = typer.Argument(..., help="Title of the note; its file name is made from it."),
    template: str = typer.Option(
        "concept", "--template", "-T", help="concept, interview, lecture, or one in .attnkb/templates/."
    ),
    tag: list[str] = typer.Option(
        None, "--tag", "-t", help="A tag (repeat for more).", autocompletion=tag_names
    ),
    link: list[str] = typer.Option(
        None, "--link", "-l", help="A related note (repeat for more).", autocompletion=note_names
    ),
    subdir: str = typer.Option(None, "--dir", help="Folder inside the vault to put the note in."),
    edit: bool = typer.Option(False, "--edit", "-e", help="Open the note in $VISUAL or $EDITOR."),
) -> None:
    """Create a note from a template and print its path.

    An existing note is never overwritten.
    """
    from attnkb import clock
    from attnkb.templates import Values, check_link, clean_title, create_note, find_template, target_folder

    root = vault_root(ctx, need_notes=False)
    values = Values(
        title=clean_title(title),
        day=clock.today(),
        tags=[t.strip().lstrip("#") for t in tag or [] if t.strip().lstrip("#")],
        related=[check_link(target) for target in link or []],
    )
    folder = target_folder(root, subdir)
    chosen = find_template(root, template)
    if values.related:
        from attnkb.links import Resolver

        resolver = Resolver(load_notes(root))  # no need to resolve every link of the vault
        for target in values.related:
            hit = resolver.resolve(target)
            if hit.ambiguous:
                warn(f"--link {target!r} could be: {', '.join(hit.candidates)}")
            elif hit.path is None:
                warn(f"--link {target!r} matches no note (yet)")
    try:
        path = create_note(root, folder, chosen, values)
    except NoteExists as exc:
        if exc.path is not None:  # the note that is there, for scripts and editors
            typer.echo(one_line(root / exc.path))
        raise
    typer.echo(one_line(path))
    _warn_if_excluded(root, path)
    if edit:
        _open_editor(str(path))


def _warn_if_excluded(root, path) -> None:
    """A note written where ``[vault] exclude`` looks away would vanish from every command."""
    from attnkb.config import vault
    from attnkb.vault import STATE_DIR

    exclude = vault(root / STATE_DIR).exclude
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    if exclude is not None and exclude.matches(rel):
        warn(f"{rel} is left out by [vault] exclude: no command will see it until the pattern lets it in")


def _open_editor(path: str) -> None:
    """As git does: $VISUAL, then $EDITOR, then vi; the command may carry its own arguments."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(editor), path], check=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot start the editor {editor!r} ({exc}); set $EDITOR", path) from exc
    if done.returncode != 0:
        warn(f"the editor {editor!r} exited with status {done.returncode}")
