"""``[vault] exclude``: which files under the vault are not notes.

Gitignore-style patterns, as zk's ``[note] ignore`` and Obsidian's "Excluded files": a vault
kept beside its owner's README, docs and scripts names them once and every command leaves them
out. ``pathspec`` implements git's matching rules.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_PATTERN = 1000  # characters; a path is at most a few hundred, and a huge pattern is a huge regex


class Exclude:
    """Patterns matched against vault-relative paths (``/`` separated, folders ending in ``/``).

    A folder is left unvisited when it matches, unless a ``!`` pattern could bring back a file
    inside it (``docs/**`` with ``!docs/keep.md``): then its files are matched one by one."""

    def __init__(self, patterns: Iterable[str]):
        import pathspec

        self.patterns = tuple(patterns)
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)
        self._negated = any(p.lstrip().startswith("!") for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exclude) and other.patterns == self.patterns

    def __hash__(self) -> int:
        return hash(self.patterns)

    def matches(self, rel: str) -> bool:
        return self._spec.match_file(rel)

    def prunes(self, folder: str) -> bool:
        return not self._negated and self._spec.match_file(folder)


def check_patterns(value: object) -> Exclude:
    """The ``exclude`` value: a list of pattern strings, each one line that pathspec accepts."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError('must be a list of patterns such as ["docs/**", "README.md"]')
    for pattern in value:
        if "\n" in pattern or "\r" in pattern:
            raise ValueError(f"must hold one pattern a line, not {pattern!r}")
        if len(pattern) > MAX_PATTERN:
            raise ValueError(f"has a pattern over {MAX_PATTERN} characters: {pattern[:40]!r}…")
        try:
            Exclude([pattern])
        except Exception as exc:  # pathspec raises its own error types for a bad pattern
            raise ValueError(f"has a pattern pathspec cannot read: {pattern!r}") from exc
    return Exclude(value)
