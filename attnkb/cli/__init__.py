"""The command line: parses arguments, calls the core, renders with rich.

Heavy modules (numpy, yaml, markdown-it, fsrs) are imported inside the commands that need
them so that ``attnkb --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click
import typer
import typer.core
from typer.core import TyperGroup

from attnkb import __version__
from attnkb.errors import AttnkbError


class _Group(TyperGroup):
    """Maps our domain errors to ``attnkb: path:line: message`` and an exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AttnkbError as exc:
            _fail(str(exc), exc.exit_code)
        except BrokenPipeError:
            _reader_gone()
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}", 2)


def _reader_gone() -> NoReturn:
    """Output piped into a command that stopped reading (``attnkb list | head``): not a failure,
    so exit 0 (rich and click would exit 1). As Python's documentation recommends, stdout is
    pointed at /dev/null first, so that the flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _say(message: str) -> None:
    """``attnkb: message`` on stderr; the message often quotes a file name or a title."""
    from attnkb.cli.render import one_line

    typer.echo(one_line(f"attnkb: {message}"), err=True)


def _fail(message: str, code: int) -> None:
    _say(message)
    raise typer.Exit(code)


# Typer escapes the ``[required]`` / ``[default: …]`` of every parameter for rich markup whenever
# rich is installed, even with rich help turned off: click's plain help then shows
# ``\\[required]``. Our help is click's plain help throughout, so the escaping is turned off.
typer.core.HAS_RICH = False

app = typer.Typer(
    cls=_Group,
    name="attnkb",
    help="A spaced-repetition knowledge base for Markdown study notes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: typer's rich help imports ~80 ms of modules
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"attnkb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    vault: str = typer.Option(
        None,
        "--vault",
        metavar="PATH",
        help="Vault folder (default: $ATTNKB_VAULT, the nearest"
        " folder holding .attnkb/, ./notes, or the working directory).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = {"vault": vault}


from attnkb.cli import browse, examples, find, interop, new, optimize, review  # noqa: E402,F401  (registers commands)


def main() -> None:
    import gc

    # A command builds tens of thousands of small objects (notes, cards, review entries) that
    # live until it ends; at the collector's default pace (every 700 allocations) it rescans
    # them over and over, ~7% of `due` on a large vault. As mypy does: what is loaded so far
    # is frozen out of collection, and collections run far less often.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        _reader_gone()
    except Exception as exc:  # the last guard: a traceback must never reach the user
        _say(f"internal error: {type(exc).__name__}: {exc}")
        sys.exit(2)
