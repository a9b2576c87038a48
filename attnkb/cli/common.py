"""What every command shares: the vault, loading notes with a progress bar, output helpers."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import typer

from attnkb.cli.render import json_escaped, one_line
from attnkb.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from attnkb.findings import Finding
    from attnkb.note import Note
    from attnkb.srs.cards import DeckNote
    from attnkb.vault import Index


class _LazyConsole:
    """A rich ``Console`` made on first use: importing rich takes ~25 ms that ``attnkb --help``
    and commands printing JSON need not pay."""

    def __init__(self, **settings: Any):
        self._settings = settings
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        """The Console itself, for rich objects that take one (a progress bar)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._settings)
            self._console.on_broken_pipe = _reader_gone  # type: ignore[method-assign]  # rich's hook, on this instance
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


def _reader_gone() -> None:
    """Output piped into a command that stopped reading (``attnkb list | head``) is handled in
    one place (attnkb.cli), as for every other write; rich alone would exit with 1."""
    raise BrokenPipeError


out = _LazyConsole(highlight=False, soft_wrap=True)
err = _LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """``attnkb: warning: ...`` on stderr, cleaned of control codes (it often quotes a name)."""
    typer.echo(one_line(f"attnkb: warning: {message}"), err=True)


def vault_root(ctx: typer.Context, *, need_notes: bool = True) -> Path:
    """The vault this command works on. A folder with no notes that is not a vault either is
    almost always the wrong place (a fresh terminal, a typo): say where we looked and how to make
    one, instead of printing an empty list; an initialised but empty vault gets a hint. A vault
    only guessed (./notes, or the working directory: no .attnkb/ anywhere up) is named once on
    stderr, since it may not be the folder the user meant."""
    from attnkb.config import vault as vault_settings
    from attnkb.vault import STATE_DIR, locate, walk

    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    chosen = obj.get("vault")
    root, how = locate(chosen)
    exclude = vault_settings(root / STATE_DIR).exclude
    if not need_notes or next(walk(root, exclude=exclude), None) is not None:
        _announce(obj, root, how)
        return root
    if (root / STATE_DIR).is_dir():
        warn(
            f"no notes in {root} yet: `attnkb new TITLE` writes one, `attnkb init --starter` copies in the starter notes"
        )
        return root
    if chosen or os.environ.get("ATTNKB_VAULT"):
        where = shlex.quote(str(root))
        raise UsageError(
            f"no notes in {root} (from {'--vault' if chosen else '$ATTNKB_VAULT'}) and it is not a vault:"
            f" run `attnkb init {where} --starter` for the starter notes or `attnkb init {where}` for an empty vault"
        )
    raise UsageError(
        f"no vault found: no {STATE_DIR}/ in {root} or any folder above it, no {root / 'notes'}/, no notes"
        f" in {root}; run `attnkb init --starter` to make this folder a vault with the starter notes,"
        " `attnkb init` for an empty one, or pass --vault PATH"
    )


def _announce(obj: dict, root: Path, how: str) -> None:
    """Once a run: a command may look for the vault more than once."""
    from attnkb.vault import STATE_DIR

    if how not in ("notes", "cwd") or obj.get("announced"):
        return
    obj["announced"] = True
    where = "./notes" if how == "notes" else "the working directory"
    typer.echo(one_line(f"attnkb: using the vault {root} ({where}: no {STATE_DIR}/ here or above)"), err=True)


class LazyProgress:
    """A progress bar on stderr that appears only once indexing has taken over a second, and
    only on a terminal."""

    def __init__(self, label: str = "indexing {total} notes"):
        self.label = label
        self.started = time.monotonic()
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            # piped, a bar draws nothing useful but still ends with a line break on stderr
            if time.monotonic() - self.started < 1.0 or not err.is_terminal:
                return
            from rich.progress import Progress

            self.bar = Progress(console=err.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label.format(total=total), total=total)
        if self.task is not None:
            self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@overload
def load_index(
    root: Path,
    column: Literal["data"],
    create: bool = ...,
    quiet: bool = ...,
    answers: bool = ...,
    index: Index | None = ...,
) -> tuple[list[Note], list[Finding]]: ...
@overload
def load_index(
    root: Path,
    column: Literal["summary"],
    create: bool = ...,
    quiet: bool = ...,
    answers: bool = ...,
    index: Index | None = ...,
) -> tuple[list[dict], list[Finding]]: ...
@overload
def load_index(
    root: Path,
    column: Literal["deck"],
    create: bool = ...,
    quiet: bool = ...,
    answers: bool = ...,
    index: Index | None = ...,
) -> tuple[list[DeckNote], list[Finding]]: ...
def load_index(
    root: Path,
    column: Literal["data", "summary", "deck"],
    create: bool = False,
    quiet: bool = False,
    answers: bool = True,
    index: Index | None = None,
) -> tuple[list[Any], list[Finding]]:
    """Notes (``"data"``; ``answers=False`` leaves the cards' answers out), summaries
    (``"summary"``) or the deck's records (``"deck"``), and the index's findings (files left
    out, a rebuilt cache), with the progress bar that appears only when it is slow. Unless
    ``quiet``, the findings are printed as warnings; ``check`` reports them itself. A caller
    that keeps results in the index passes its own ``index``."""
    from attnkb.vault import Index

    index = index or Index(root, create=create)
    progress = LazyProgress()
    try:
        items: list[Any]  # the overloads pair each column with its type
        if column == "data":
            items = index.notes(progress, answers=answers)
        elif column == "deck":
            items = index.deck_notes(progress)
        else:
            items = index.summaries(progress)
    finally:
        progress.close()
    if not quiet:
        report(index.findings)
    return items, index.findings


def report(findings: list) -> None:
    """The index's findings (files left out, a rebuilt cache) as warnings on stderr."""
    for finding in findings:
        typer.echo(one_line(f"attnkb: {finding.location()}warning: {finding.message}"), err=True)


def load_notes(root: Path, create: bool = False) -> list[Note]:
    return load_index(root, "data", create)[0]


def load_summaries(root: Path) -> list[dict]:
    return load_index(root, "summary")[0]


def load_graph(root: Path):
    from attnkb.graph import Graph

    return Graph(load_notes(root))


def emit_json(data: Any) -> None:
    """Indented for reading, but each element of a top-level list (or of a list one level into
    a top-level object) on one line: ``indent=`` would force json's pure-Python encoder, which
    takes over a second for 10,000 notes; this way the C encoder does the work."""
    sys.stdout.write(json_text(data))


def json_text(data: Any) -> str:
    """The text ``emit_json`` prints, for a file."""
    return json_escaped(_json_lines(data, 0)) + "\n"


def _json_lines(data: Any, depth: int) -> str:
    pad = "  " * (depth + 1)
    if depth < 2 and isinstance(data, dict) and data:
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_json_lines(v, depth + 1)}" for k, v in data.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if depth < 2 and isinstance(data, list) and data:
        items = [pad + json.dumps(x, ensure_ascii=False) for x in data]
        return "[\n" + ",\n".join(items) + "\n" + "  " * depth + "]"
    return json.dumps(data, ensure_ascii=False)


DEFAULT_PAGER = "less -R -F -X"  # colours; quit at once when it fits one screen; leave it on screen


@contextlib.contextmanager
def paged(wanted: bool = True):
    """Output of the block through a pager, as git does: only when stdout is a terminal and
    ``wanted`` (not ``--no-pager``, not JSON); ``$PAGER`` if set (empty or ``cat``: none), else
    ``less -R -F -X``, so output that fits one screen stays on it as if printed. A pager that
    cannot be started leaves the output printed as it is."""
    if not wanted or not sys.stdout.isatty():
        yield
        return
    command = os.environ.get("PAGER", DEFAULT_PAGER).strip()
    if command in ("", "cat"):
        yield
        return
    with out.capture() as captured:
        yield
    text = captured.get()
    import subprocess

    try:
        done = subprocess.run(command, shell=True, input=text.encode("utf-8", "replace"), check=False)
    except OSError:
        done = None
    if done is None or done.returncode in (126, 127):  # the shell found no such pager
        sys.stdout.write(text)
