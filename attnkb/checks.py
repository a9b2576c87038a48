"""``attnkb check``: everything that can be wrong with a vault, as one list of findings."""

from __future__ import annotations

from pathlib import Path

from attnkb.graph import Finding, Graph


def check_vault(root: Path, graph: Graph) -> list[Finding]:
    findings = graph.findings()
    findings.sort(key=lambda f: (f.path, f.line, f.kind))
    return findings
