"""The link graph of a vault: edges, backlinks, problems, and exports (JSON, DOT, Mermaid)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from attnkb.findings import Finding
from attnkb.links import Resolution, Resolver
from attnkb.markdown import RawLink
from attnkb.note import Note


@dataclass
class Edge:
    source: str
    link: RawLink
    resolution: Resolution

    @property
    def target(self) -> str | None:
        return self.resolution.path


def _dot_id(text: str) -> str:
    """A DOT quoted string. DOT is UTF-8: the characters are written as they are (a JSON
    ``\\u4e0e`` escape is drawn as those six characters); only ``"`` and ``\\`` are escaped,
    and line breaks become spaces."""
    text = " ".join(text.replace("\\", "\\\\").replace('"', '\\"').splitlines())
    return f'"{text}"'


def _written_target(link: RawLink) -> str:
    """zk's ``href``: the target as written (``Note#anchor``), without brackets or alias."""
    if link.kind == "markdown":
        return link.href
    return link.target + (f"#{link.anchor}" if link.anchor else "")


class Graph:
    def __init__(self, notes: list[Note]):
        self.notes = {n.path: n for n in notes}
        self.resolver = Resolver(notes)
        self.edges: list[Edge] = []
        self.backlinks: dict[str, list[Edge]] = defaultdict(list)
        for note in notes:
            for link in note.links:
                edge = Edge(note.path, link, self.resolver.resolve(link.target, note.path))
                self.edges.append(edge)
                if edge.target is not None and edge.target != note.path:
                    self.backlinks[edge.target].append(edge)

    def outgoing(self, path: str) -> list[Edge]:
        return [e for e in self.edges if e.source == path]

    def orphans(self) -> list[str]:
        """Notes with no link in or out (as Obsidian's graph counts them)."""
        linked = {e.source for e in self.edges if e.target not in (None, e.source)}
        linked |= set(self.backlinks)
        return sorted(p for p in self.notes if p not in linked)

    def findings(self) -> list[Finding]:
        from attnkb.suggest import did_you_mean

        out: list[Finding] = []
        for note in self.notes.values():
            for p in note.problems:
                out.append(Finding(note.path, p.line, "front-matter", p.message, p.severity))
        for e in self.edges:
            if e.resolution.ambiguous:
                listed = ", ".join(e.resolution.candidates)
                out.append(
                    Finding(
                        e.source,
                        e.link.line,
                        "ambiguous-link",
                        f"ambiguous link {e.link.href!r}: could be {listed}",
                    )
                )
            elif e.target is None:
                out.append(
                    Finding(
                        e.source,
                        e.link.line,
                        "broken-link",
                        f"broken link {e.link.href!r}: no note {e.link.target!r}"
                        + did_you_mean(self.resolver.closest(e.link.target)),
                    )
                )
        for path in self.orphans():
            out.append(Finding(path, 1, "orphan", "orphan: no links to or from this note", "warning"))
        out.sort(key=lambda f: (f.path, f.line, f.kind))
        return out

    def hubs(self, limit: int = 5) -> list[tuple[str, int, int]]:
        """The notes most linked, as (path, links in, links out) counting each other note once,
        most links first."""
        ins: dict[str, int] = defaultdict(int)
        outs: dict[str, int] = defaultdict(int)
        for s, t in self._resolved_pairs():
            outs[s] += 1
            ins[t] += 1
        ranked = sorted(self.notes, key=lambda p: (-(ins[p] + outs[p]), p))
        return [(p, ins[p], outs[p]) for p in ranked[:limit] if ins[p] + outs[p]]

    # --- exports ---------------------------------------------------------------------------

    def to_json(self) -> dict:
        notes = [n.summary() for n in sorted(self.notes.values(), key=lambda n: n.path)]
        links = [
            {
                "sourcePath": e.source,
                "targetPath": e.target,
                "href": _written_target(e.link),
                "type": e.link.kind,
                "title": e.link.text or _written_target(e.link),
                "anchor": e.link.anchor,
                "line": e.link.line,
                "isExternal": False,
                "ambiguous": e.resolution.ambiguous,
                "candidates": e.resolution.candidates if e.resolution.ambiguous else [],
            }
            for e in self.edges
        ]
        return {"notes": notes, "links": links}

    def _resolved_pairs(self) -> list[tuple[str, str]]:
        seen: dict[tuple[str, str], None] = {}
        for e in self.edges:
            if e.target is not None and e.target != e.source:
                seen[(e.source, e.target)] = None
        return list(seen)

    def to_dot(self) -> str:
        lines = ["digraph attnkb {", "  node [shape=box];"]
        for path in sorted(self.notes):
            lines.append(f"  {_dot_id(path)} [label={_dot_id(self.notes[path].title)}];")
        for s, t in self._resolved_pairs():
            lines.append(f"  {_dot_id(s)} -> {_dot_id(t)};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self) -> str:
        ids = {path: f"n{i}" for i, path in enumerate(sorted(self.notes))}
        lines = ["graph LR"]
        for path, nid in ids.items():
            label = self.notes[path].title.replace('"', "#quot;")
            lines.append(f'  {nid}["{label}"]')
        for s, t in self._resolved_pairs():
            lines.append(f"  {ids[s]} --> {ids[t]}")
        return "\n".join(lines) + "\n"
