"""``attnkb check``: everything that can be wrong with a vault, as one list of findings."""

from __future__ import annotations

from pathlib import Path

from attnkb.findings import Finding
from attnkb.graph import Graph


def check_vault(
    graph: Graph, root: Path | None = None, skipped: list[Finding] | None = None
) -> list[Finding]:
    """Front matter problems, broken and ambiguous links, orphans, failing examples, the files
    the index left out (``skipped``: unreadable names, binary or oversized files) and, given
    the vault ``root`` to read bodies from, formulas that disagree with the kernel."""
    from attnkb.examples.runner import run_note_examples

    findings = graph.findings() + list(skipped or [])
    for note in graph.notes.values():
        results = run_note_examples(note)
        for result in results:
            if result.status != "pass":
                findings.append(
                    Finding(
                        note.path,
                        result.line,
                        f"example-{result.status}",
                        f"attention example: {result.message}",
                    )
                )
        if root is not None:
            findings.extend(_formula_findings(root, note, results))
    findings.sort(key=lambda f: (f.path, f.line, f.kind))
    return findings


def _formula_findings(root: Path, note, results) -> list[Finding]:
    from attnkb.formulas import check_note

    return [
        Finding(note.path, f.line, "formula-fail", f"formula {f.formula}: {f.message}")
        for f in check_note(root, note, results)
        if f.status == "fail"
    ]
