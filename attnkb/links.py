"""Link resolution: which note a written link means.

Order: path relative to the note, then vault-relative path, then a unique file-name match
(case-insensitive, exact case preferred), then front matter ``aliases``, then titles. Several
equal candidates resolve to none: guessing would hide a real ambiguity from the user.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from attnkb.errors import AmbiguousNote, NoteNotFound
from attnkb.note import Note


@dataclass
class Resolution:
    path: str | None
    candidates: list[str] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        return self.path is None and len(self.candidates) > 1


def _norm(path: str) -> str | None:
    path = posixpath.normpath(path.replace("\\", "/"))
    if path.startswith("../") or path == "..":
        return None
    return path.lstrip("/")


class Resolver:
    def __init__(self, notes: list[Note]):
        self.notes = {n.path: n for n in notes}
        self._lower_path: dict[str, list[str]] = defaultdict(list)
        self._stem: dict[str, list[str]] = defaultdict(list)
        self._alias: dict[str, list[str]] = defaultdict(list)
        self._title: dict[str, list[str]] = defaultdict(list)
        for n in notes:
            self._lower_path[n.path.lower()].append(n.path)
            self._stem[n.stem.lower()].append(n.path)
            for alias in n.aliases:
                self._alias[alias.lower()].append(n.path)
            self._title[n.title.lower()].append(n.path)

    def _by_path(self, path: str | None) -> Resolution | None:
        if path is None:
            return None
        for candidate in (path, path + ".md") if not path.lower().endswith(".md") else (path,):
            if candidate in self.notes:
                return Resolution(candidate, [candidate])
            loose = self._lower_path.get(candidate.lower(), [])
            if len(loose) == 1:
                return Resolution(loose[0], loose)
        return None

    @staticmethod
    def _pick(key: str, table: dict[str, list[str]], exact) -> Resolution | None:
        found = sorted(set(table.get(key.lower(), [])))
        if not found:
            return None
        if len(found) > 1:
            exact_case = [p for p in found if exact(p)]
            if len(exact_case) == 1:
                return Resolution(exact_case[0], found)
            return Resolution(None, found)
        return Resolution(found[0], found)

    def resolve(self, target: str, source: str | None = None) -> Resolution:
        target = target.strip()
        if not target:
            return Resolution(source, [source] if source else [])
        if source is not None:
            hit = self._by_path(_norm(posixpath.join(posixpath.dirname(source), target)))
            if hit:
                return hit
        hit = self._by_path(_norm(target))
        if hit:
            return hit
        name = posixpath.basename(target.replace("\\", "/"))
        stem = name[:-3] if name.lower().endswith(".md") else name
        hit = self._pick(stem, self._stem, lambda p: posixpath.basename(p)[:-3] == stem)
        if hit and hit.path is None and "/" in target:
            suffix = "/" + target.lower().removesuffix(".md") + ".md"
            narrowed = [p for p in hit.candidates if ("/" + p.lower()).endswith(suffix)]
            if len(narrowed) == 1:
                return Resolution(narrowed[0], hit.candidates)
        if hit:
            return hit
        notes = self.notes
        hit = self._pick(target, self._alias, lambda p: target in notes[p].aliases)
        if hit:
            return hit
        hit = self._pick(target, self._title, lambda p: notes[p].title == target)
        return hit or Resolution(None, [])


def find_note(resolver: Resolver, root: Path, spec: str, cwd: Path | None = None) -> str:
    """NOTE as a user types it: a path (from the working directory or the vault), else what a
    link with that text would reach: file name, alias or title."""
    as_path = Path(spec).expanduser()
    real_root = root.resolve()
    for candidate in ((cwd or Path.cwd()) / as_path, root / as_path):
        try:
            rel = candidate.resolve().relative_to(real_root).as_posix()
        except (ValueError, OSError, RuntimeError):  # outside the vault, or a symlink loop
            continue
        if rel in resolver.notes:
            return rel
    hit = resolver.resolve(spec)
    if hit.path is not None:
        return hit.path
    if hit.ambiguous:
        raise AmbiguousNote(f"{spec!r} could be: " + ", ".join(hit.candidates))
    raise NoteNotFound(f"no note matches {spec!r}")
