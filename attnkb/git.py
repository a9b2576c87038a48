"""What git would do with the vault's files: the review log must never be left behind.

A vault's ``.gitignore`` often has ``*.log``; the logs are then never committed and the
reviews of every device but this one are lost, with no error anywhere. ``git check-ignore``
says which rule ignores a path. Without git, or outside a repository, there is nothing to say.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from attnkb.findings import Finding


@dataclass(frozen=True)
class Ignored:
    """A path git ignores, and the rule that does: ``source:line: pattern``."""

    path: str  # as given: relative to the folder asked about
    source: str
    line: int
    pattern: str

    def rule(self) -> str:
        return f"{self.pattern!r} in {self.source}:{self.line}"


def ignored(folder: Path, paths: list[str]) -> list[Ignored]:
    """Which of ``paths`` (relative to ``folder``) git ignores, and by which rule. Tracked files
    are never ignored (git keeps committing their changes). One ``git`` process for all."""
    if not paths:
        return []
    try:
        proc = subprocess.run(
            ["git", "-C", str(folder), "check-ignore", "-v", "-z", "--stdin"],
            input="\0".join(paths).encode("utf-8", "surrogateescape") + b"\0",
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):  # no git, or one that hangs
        return []
    if proc.returncode != 0:  # 1: nothing ignored; 128: not a repository (or git failed)
        return []
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    out = []
    for i in range(0, len(fields) - 3, 4):
        source, line, pattern, path = fields[i : i + 4]
        if pattern.startswith("!"):  # -v also lists the paths a negation keeps
            continue
        out.append(Ignored(path, source, int(line) if line.isdigit() else 0, pattern))
    return out


def ignored_logs(root: Path) -> list[Finding]:
    """A warning for each review log of the vault git ignores, naming the rule and the fix
    (``review``, ``due`` and ``check`` report them). Nothing before the vault has a state folder."""
    from attnkb.srs.log import KEEP_VERSIONED, ReviewLog, git_paths
    from attnkb.vault import STATE_DIR

    state = root / STATE_DIR
    if not state.is_dir():
        return []
    hits = ignored(root, [p.relative_to(root).as_posix() for p in git_paths(ReviewLog(state))])
    if not hits:
        return []
    try:
        ours = (state / ".gitignore").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        ours = []
    if all(p in ours for p in KEEP_VERSIONED.splitlines()[1:]):
        fix = "change that rule: it leaves out a folder the log is in"
    else:
        fix = "`attnkb init` keeps the logs versioned whatever a .gitignore above says"
    return [
        Finding(
            hit.path,
            0,
            "git-ignored",
            f"git ignores this review log (rule {hit.rule()}): its reviews would never be committed; {fix}",
            "warning",
        )
        for hit in hits
    ]
