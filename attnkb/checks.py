"""``attnkb check``: everything that can be wrong with a vault, as one list of findings."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from attnkb.findings import Finding
from attnkb.graph import Graph

if TYPE_CHECKING:
    from attnkb.note import Note
    from attnkb.vault import Index

RESULTS = "check"  # the name of the per-note findings kept in the index
# what a note's example and formula findings depend on besides its bytes: this code, the
# kernel's, the libraries that run them, and the vault's config
_CODE = ("checks.py", "findings.py", "yamlsafe.py", "note.py")
_CODE_DIRS = ("examples", "formulas", "kernel")
_LIBRARIES = ("numpy", "lark", "markdown_it", "mdit_py_plugins", "yaml")


def check_vault(
    graph: Graph, root: Path | None = None, skipped: list[Finding] | None = None, index: Index | None = None
) -> list[Finding]:
    """Front matter problems, broken and ambiguous links, orphans, failing examples, the files
    the index left out (``skipped``: unreadable names, binary or oversized files) and, given
    the vault ``root`` to read bodies from, formulas that disagree with the kernel.

    Given the ``index`` the notes came from, a note's example and formula findings are kept
    there, keyed by the SHA-1 of its bytes and the version of the code that found them, and
    reused while both stay the same: running every example and parsing every note for its
    formulas is most of the time of a check."""
    findings = graph.findings() + list(skipped or [])
    store = index if root is not None else None  # findings are kept only for a vault's files
    version = _version(root) if root is not None and store is not None else ""
    kept = store.results(RESULTS, version) if store is not None else {}
    fresh: list[tuple[str, str, str]] = []
    for note in graph.notes.values():
        raw = kept.get(note.path)
        if raw is not None:
            findings.extend(Finding(**f) for f in json.loads(raw))
            continue
        found = _note_findings(root, note)
        findings.extend(found)
        digest = store.digests.get(note.path) if store is not None else None
        if root is not None and digest and digest == _digest(root / note.path):  # unchanged while we looked
            fresh.append((note.path, digest, json.dumps([f.to_dict() for f in found])))
    if store is not None:
        store.keep_results(RESULTS, version, fresh)
    findings.sort(key=lambda f: (f.path, f.line, f.kind))
    return findings


def _note_findings(root: Path | None, note: Note) -> list[Finding]:
    from attnkb.examples.runner import run_note_examples

    found = []
    results = run_note_examples(note)
    for result in results:
        if result.status != "pass":
            found.append(
                Finding(
                    note.path, result.line, f"example-{result.status}", f"attention example: {result.message}"
                )
            )
    if root is not None:
        found.extend(_formula_findings(root, note, results))
    return found


def _formula_findings(root: Path, note, results) -> list[Finding]:
    from attnkb.formulas import check_note

    return [
        Finding(note.path, f.line, "formula-fail", f"formula {f.formula}: {f.message}")
        for f in check_note(root, note, results)
        if f.status == "fail"
    ]


def _digest(path: Path) -> str | None:
    import hashlib

    try:
        return hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _version(root: Path) -> str:
    """Our code, each library's installed files (an upgrade rewrites them: stamped by size and
    mtime, found without importing them) and the vault's config."""
    import hashlib
    import importlib.util

    from attnkb.config import CONFIG_FILE
    from attnkb.vault import STATE_DIR, code_version

    here = Path(__file__).parent
    names = [
        *_CODE,
        *sorted(p.relative_to(here).as_posix() for d in _CODE_DIRS for p in (here / d).glob("*.py")),
    ]
    digest = hashlib.sha1(code_version(*names).encode())
    for name in _LIBRARIES:
        spec = importlib.util.find_spec(name)
        try:
            st = os.stat(spec.origin) if spec and spec.origin else None
        except OSError:
            st = None
        digest.update(f"{name} {spec and spec.origin} {st and (st.st_size, st.st_mtime_ns)}\n".encode())
    with contextlib.suppress(OSError):  # no config: the defaults
        digest.update((root / STATE_DIR / CONFIG_FILE).read_bytes())
    return digest.hexdigest()[:16]
