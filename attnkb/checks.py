"""``attnkb check``: everything that can be wrong with a vault, as one list of findings."""

from __future__ import annotations

from attnkb.findings import Finding
from attnkb.graph import Graph


def check_vault(graph: Graph, skipped: list[Finding] | None = None) -> list[Finding]:
    """Front matter problems, broken and ambiguous links, orphans, failing examples, and the
    files the index left out (``skipped``: unreadable names, binary or oversized files)."""
    from attnkb.examples.runner import run_note_examples

    findings = graph.findings() + list(skipped or [])
    for note in graph.notes.values():
        for result in run_note_examples(note):
            if result.status != "pass":
                findings.append(
                    Finding(
                        note.path,
                        result.line,
                        f"example-{result.status}",
                        f"attention example: {result.message}",
                    )
                )
    findings.sort(key=lambda f: (f.path, f.line, f.kind))
    return findings
