"""``attnkb check``: everything that can be wrong with a vault, as one list of findings."""

from __future__ import annotations

from attnkb.graph import Finding, Graph


def check_vault(graph: Graph) -> list[Finding]:
    """Front matter problems, broken and ambiguous links, orphans, and failing examples."""
    from attnkb.examples.runner import run_note_examples

    findings = graph.findings()
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
