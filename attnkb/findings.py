"""What is wrong with a note or a vault, as plain records: one place for both shapes.

A ``Problem`` belongs to one note and is kept with it in the index; a ``Finding`` is what
``check`` reports for the vault, so it carries the path and a kind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    line: int
    message: str
    severity: str = "error"


@dataclass
class Finding:
    """Something ``check`` reports; ``severity`` is error (exit 1) or warning."""

    path: str
    line: int
    kind: str
    message: str
    severity: str = "error"

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
        }

    def location(self) -> str:
        return f"{self.path}:{self.line}: " if self.line else f"{self.path}: "

    def __str__(self) -> str:
        label = "" if self.severity == "error" else f"{self.severity}: "
        return self.location() + label + self.message
