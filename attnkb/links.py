"""Link resolution: which note a written link means.

Order: path relative to the note, then vault-relative path, then a unique file-name match
(case-insensitive, exact case preferred), then front matter ``aliases``, then titles. Several
equal candidates resolve to none: guessing would hide a real ambiguity from the user.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from attnkb.errors import AmbiguousNote, NoteNotFound


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


class Named(Protocol):
    """What resolving a link needs of a note: a whole ``Note`` or the deck's ``DeckNote``."""

    @property
    def path(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def aliases(self) -> list[str]: ...
    @property
    def stem(self) -> str: ...


class Resolver:
    def __init__(self, notes: Sequence[Named]):
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
        # resolutions are memoised: a vault's links repeat targets, and the relative step depends
        # only on the linking note's folder (Resolutions are shared: never change one)
        self._relative: dict[tuple[str, str], Resolution | None] = {}
        self._anywhere: dict[str, Resolution] = {}
        self._names: list[tuple[str, str]] | None = None
        self._closest: dict[tuple[str, int], list[str]] = {}  # a vault's broken links repeat their targets

    def closest(self, target: str, limit: int = 3) -> list[str]:
        """Titles of the notes whose title, file name or an alias is closest to ``target`` (a
        NOTE or link that reached nothing), best first."""
        from attnkb.suggest import closest

        if self._names is None:
            self._names = [
                (name, n.title) for n in self.notes.values() for name in {n.title, n.stem, *n.aliases}
            ]
        name = posixpath.basename(target.replace("\\", "/").rstrip("/")) or target
        name = name[:-3] if name.lower().endswith(".md") else name
        if (name, limit) not in self._closest:
            self._closest[name, limit] = closest(name, self._names, limit)
        return self._closest[name, limit]

    def _by_path(self, path: str | None) -> Resolution | None:
        if path is None:
            return None
        lower = path.lower()
        if lower not in self._lower_path and lower + ".md" not in self._lower_path:
            return None  # no note there, whatever the case
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
        folder = posixpath.dirname(source) if source is not None else ""
        if folder:  # from the vault's top folder the relative path is the vault path
            key = (target, folder)
            if key not in self._relative:
                self._relative[key] = self._by_path(_norm(posixpath.join(folder, target)))
            hit = self._relative[key]
            if hit:
                return hit
        if target not in self._anywhere:
            self._anywhere[target] = self._resolve_anywhere(target)
        return self._anywhere[target]

    def _resolve_anywhere(self, target: str) -> Resolution:
        """What ``target`` reaches from any folder: vault path, file name, alias, title."""
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
    from attnkb.suggest import did_you_mean

    raise NoteNotFound(f"no note matches {spec!r}" + did_you_mean(resolver.closest(spec)))
