"""What every command shares: the vault, loading notes with a progress bar, output helpers."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def vault_root(ctx: typer.Context) -> Path:
    from attnkb.vault import find_root

    return find_root((ctx.obj or {}).get("vault"))


class LazyProgress:
    """A progress bar on stderr that appears only once indexing has taken over a second."""

    def __init__(self, label: str = "Indexing notes"):
        self.label = label
        self.started = time.monotonic()
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if time.monotonic() - self.started < 1.0:
                return
            from rich.progress import Progress

            self.bar = Progress(console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def load_index(root: Path, column: str, create: bool = False, quiet: bool = False) -> tuple[list, list]:
    """Notes (``"data"``) or summaries (``"summary"``) and the index's findings (files left
    out, a rebuilt cache), with the progress bar that appears only when it is slow. Unless
    ``quiet``, the findings are printed as warnings; ``check`` reports them itself."""
    from attnkb.vault import Index

    index = Index(root, create=create)
    progress = LazyProgress()
    try:
        items = index.notes(progress) if column == "data" else index.summaries(progress)
    finally:
        progress.close()
    if not quiet:
        report(index.findings)
    return items, index.findings


def report(findings: list) -> None:
    """The index's findings (files left out, a rebuilt cache) as warnings on stderr."""
    for finding in findings:
        typer.echo(f"attnkb: {finding.location()}warning: {finding.message}", err=True)


def load_notes(root: Path, create: bool = False):
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
    sys.stdout.write(_json_lines(data, 0) + "\n")


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
