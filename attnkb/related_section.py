"""The generated related-notes section at the end of a note, and its ``[related]`` settings.

The section is ours only from the marker line to the next heading of the same or a higher
level (or the end of the file): that block is regenerated, every other byte of the note is the
user's and stays as it was (BOM, CRLF, a missing final newline, what follows the block).
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

from attnkb.config import number, whole
from attnkb.findings import Finding

NONE_LINE = "暂无相关笔记"
_HEADING = re.compile(r"^(#{1,6})[ \t]+\S")
_FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})")


@dataclass
class SectionConfig:
    heading: str = "## 相关笔记"
    marker: str = "<!-- 自动生成 -->"
    limit: int = 5
    min: float = 10.0  # percent: notes less similar than this are left out
    links: str | None = None  # one of LINK_STYLES; None: the style the vault's sections use

    @property
    def level(self) -> int:
        return len(self.heading) - len(self.heading.lstrip("#"))


def _line(key: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str) or not value.strip() or "\n" in value or "\r" in value:
            raise ValueError("must be one line of text")
        value = value.strip()
        if key == "heading" and not _HEADING.match(value):
            raise ValueError(f"must be a Markdown heading such as '## 相关笔记', got {value!r}")
        if key == "marker" and (_HEADING.match(value) or _FENCE.match(value)):
            # a heading would end our block where it starts, a fence would make the rest code
            raise ValueError(f"must not be a Markdown heading or code fence, got {value!r}")
        return value

    return check


# Obsidian's three styles of a new link: from the vault's root ("Absolute path in vault"),
# from the note's folder, and the file name alone wherever it is unique ("Shortest path")
LINK_STYLES = ("vault", "relative", "shortest")
DEFAULT_STYLE = "relative"


def _style(value: object) -> str:
    if value not in LINK_STYLES:
        raise ValueError(f"must be one of {', '.join(map(repr, LINK_STYLES))}, not {value!r}")
    return str(value)


CHECKS = {
    "heading": _line("heading"),
    "marker": _line("marker"),
    "limit": whole(1),
    "min": number(0, 100, "a percentage"),
    "links": _style,
}


def load_config(state_dir: Path) -> tuple[SectionConfig, list[Finding]]:
    """``[related]`` of ``.attnkb/config.toml``: a wrong value is an error naming its key and
    line; unknown keys come back as warnings."""
    from attnkb import config

    values, warnings = config.load(state_dir).section("related", CHECKS)
    return SectionConfig(**values), warnings  # type: ignore[arg-type]


@dataclass
class Entry:
    """One related note: a row of ``attnkb related`` and a line of the section."""

    path: str  # vault-relative
    title: str
    percent: int
    tags: list[str]
    linked: bool = False

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "title": self.title,
            "similarity": self.percent,
            "tags": self.tags,
            "linked": self.linked,
        }


@dataclass
class Links:
    """How the section writes a link: ``style`` (one of LINK_STYLES) and, for ``shortest``,
    how many notes of the vault have each file name (case-insensitive, as links resolve)."""

    style: str = DEFAULT_STYLE
    names: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, style: str, paths: Iterable[str]) -> Links:
        return cls(style, Counter(posixpath.basename(p).lower() for p in paths))

    def href(self, source: str, target: str) -> str:
        if self.style == "vault":
            return target
        name = posixpath.basename(target)
        if self.style == "shortest":
            return name if self.names.get(name.lower(), 0) == 1 else target
        return posixpath.relpath(target, posixpath.dirname(source) or ".")


def link_line(source: str, entry: Entry, links: Links | None = None) -> str:
    """``- [title](path.md) - 相似度: 36% | 标签: a, b``; the path in the vault's style (see
    Links), each of which our own link resolution (and Obsidian) finds."""
    href = (links or Links()).href(source, entry.path)
    href = re.sub(r"[\s()<>%\[\]\\\x00-\x1f\x7f]", lambda m: quote(m[0], safe=""), href)
    title = re.sub(r"([\[\]\\])", r"\\\1", _one_line(entry.title))
    line = f"- [{title}]({href}) - 相似度: {entry.percent}%"
    if entry.tags:
        line += " | 标签: " + ", ".join(_one_line(t) for t in entry.tags)
    return line


_HREF = re.compile(r"^[ \t]*[-*+][ \t]+\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)\)", re.MULTILINE)


def block_style(text: str, block: Block, source: str, notes: Container[str]) -> str | None:
    """The link style a generated block was written in (most of its links; None when they
    cannot tell, as in a note at the vault's top, where every style writes the same path).
    A link is read by what it reaches where the target exists, else by its shape: a vault
    may hold only part of the notes its sections link to."""
    folder = posixpath.dirname(source)
    votes: Counter[str] = Counter()
    for m in _HREF.finditer(text, block.start, block.end):
        href = unquote(m.group(1))
        style = _href_style(href, folder, notes)
        if style:
            votes[style] += 1
    if not votes:
        return None
    ranked = [*votes.most_common(2), ("", 0)]
    return ranked[0][0] if ranked[0][1] > ranked[1][1] else None


def _href_style(href: str, folder: str, notes: Container[str]) -> str | None:
    if not folder:
        return None  # from the top folder the three styles write the same path
    here = posixpath.normpath(posixpath.join(folder, href))
    if href.startswith("../"):
        return "relative"
    if "/" not in href:
        return None if here in notes else "shortest"  # a note beside it: relative or shortest
    if here in notes and href not in notes:
        return "relative"
    if href in notes and here not in notes:
        return "vault"
    if here in notes or href in notes:
        return None
    # neither exists (a vault holding part of the notes its sections name): a path that starts
    # where the note's own path starts is written from the vault's top
    return "vault" if href.split("/", 1)[0] == folder.split("/", 1)[0] else "relative"


def vault_style(votes: Counter[str]) -> str:
    """The style most of the vault's generated sections use, else the default."""
    return votes.most_common(1)[0][0] if votes else DEFAULT_STYLE


def _one_line(text: str) -> str:
    """A title or tag written across lines would break its line and could even write a
    heading into the section."""
    return " ".join(text.split())


@dataclass
class Block:
    """Where our block sits in a note: ``start`` is the marker line, ``end`` the last
    non-blank character before the next heading (or the end of the file); ``heading`` the
    start of the section's heading line."""

    heading: int
    start: int
    end: int
    apart: bool = False  # the next heading is setext, with no blank line above it: add one


class ForeignSection(Exception):
    """A note we must not write into: the heading without our marker under it (the section is
    the user's), or text ending inside an open code fence or HTML block (a section appended
    would be code, or hidden)."""


def _body(text: str) -> tuple[int, str]:
    """Where the Markdown starts (after the BOM and front matter) and the Markdown itself: a
    ``---`` fence line under a YAML key would otherwise read as a setext heading, a fence in a
    YAML string as the start of code."""
    from attnkb.frontmatter import split

    parts = split(text)
    return len(text) - len(parts.body), parts.body


def _headings(body: str) -> list[tuple[int, int, bool]]:
    """(first line, level, whether setext) of each heading of the note, from markdown-it's tokens: the one
    Markdown line model, so inline code that starts with backticks is no fence, a setext
    heading starts at its text, and a line ends only where markdown-it ends one (not at a form
    feed or U+2028). A heading in a list or quote ends a section too: ``   ## x`` under our
    list reads as part of its last item, and is still the user's."""
    from attnkb.markdown import parse

    return [
        (tok.map[0], int(tok.tag[1:]), tok.markup[:1] != "#")
        for tok in parse(body)
        if tok.type == "heading_open" and tok.map
    ]


def find_block(text: str, config: SectionConfig) -> Block | None:
    from attnkb.markdown import split_lines

    start, body = _body(text)
    lines = split_lines(body, keepends=True)
    offsets = [start]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    headings = _headings(body)
    ours = [i for i, _, _ in headings if lines[i].rstrip("\r\n").rstrip() == config.heading]
    if not ours:
        return None
    at = ours[-1]
    marker = next((j for j in range(at + 1, len(lines)) if lines[j].strip()), None)
    if marker is None or lines[marker].strip() != config.marker:
        raise ForeignSection(f"has {config.heading!r} without the marker {config.marker!r}; left unchanged")
    stop, setext = next(
        ((i, setext) for i, level, setext in headings if i > at and level <= config.level),
        (len(lines), False),
    )
    end = offsets[stop]
    while end > offsets[marker] and text[end - 1].isspace():
        end -= 1
    # a setext heading right under our list would read as part of its last item
    apart = setext and len(split_lines(text[end : offsets[stop]])) < 3
    return Block(offsets[at], offsets[marker], end, apart)


def newline_of(text: str) -> str:
    """The note's own line ending, from its first line break: LF, CRLF or a lone CR."""
    from attnkb.markdown import NEWLINE

    m = NEWLINE.search(text)
    return m.group() if m else "\n"


def without_block(text: str, config: SectionConfig) -> tuple[str, Block | None]:
    """The note as the user wrote it: our generated block cut out (similarity must not feed
    on its own output, or a second run would change the figures), and the block."""
    try:
        block = find_block(text, config)
    except ForeignSection:
        return text, None
    return (text, None) if block is None else (text[: block.heading] + text[block.end :], block)


def render(
    text: str, source: str, entries: list[Entry], config: SectionConfig, links: Links | None = None
) -> str:
    """The note with its section regenerated (or appended); raises ForeignSection."""
    nl = newline_of(text)
    lines = [link_line(source, e, links) for e in entries] or [NONE_LINE]
    core = config.marker + nl + nl + nl.join(lines)
    block = find_block(text, config)
    if block is not None:
        return text[: block.start] + core + (nl if block.apart else "") + text[block.end :]
    head = text
    if head and not head.endswith(("\n", "\r")):
        head += nl
    if head.strip("\ufeff") and not head.endswith(nl + nl) and not head.endswith(("\n\n", "\r\r")):
        head += nl
    new = head + config.heading + nl + core + nl
    appended = find_block(new, config)
    if appended is None or appended.heading != len(head):  # it would be code, or hidden
        raise ForeignSection("ends inside a code fence or HTML block that is never closed; left unchanged")
    return new
