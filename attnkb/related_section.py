"""The generated related-notes section at the end of a note, and its ``[related]`` settings.

The section is ours only from the marker line to the next heading of the same or a higher
level (or the end of the file): that block is regenerated, every other byte of the note is the
user's and stays as it was (BOM, CRLF, a missing final newline, what follows the block).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from attnkb.config import number, whole
from attnkb.findings import Finding

NONE_LINE = "暂无相关笔记"
_HEADING = re.compile(r"^(#{1,6})[ \t]+\S")
_FENCE = re.compile(r"^[ ]{0,3}(`{3,}|~{3,})")
_ANY_HEADING = re.compile(r"^[ ]{0,3}(#{1,6})(?:[ \t]|$)")  # what ends a section: `   ##`, `##` too
_SETEXT = re.compile(r"^[ ]{0,3}(=+|-+)[ \t]*$")  # under a line of text: a level 1 or 2 heading
_NOT_TEXT = re.compile(r"^[ ]{0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)|^[ ]{0,3}[<>]")  # list items, HTML, quotes


@dataclass
class SectionConfig:
    heading: str = "## 相关笔记"
    marker: str = "<!-- 自动生成 -->"
    limit: int = 5
    min: float = 10.0  # percent: notes less similar than this are left out

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


CHECKS = {
    "heading": _line("heading"),
    "marker": _line("marker"),
    "limit": whole(1),
    "min": number(0, 100, "a percentage"),
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


def link_line(source: str, entry: Entry) -> str:
    """``- [title](relative/path.md) - 相似度: 36% | 标签: a, b``; the path is relative to the
    note's folder so that our own link resolution (and any Markdown viewer) finds it."""
    href = posixpath.relpath(entry.path, posixpath.dirname(source) or ".")
    href = re.sub(r"[\s()<>%\[\]\\\x00-\x1f\x7f]", lambda m: quote(m[0], safe=""), href)
    title = re.sub(r"([\[\]\\])", r"\\\1", _one_line(entry.title))
    line = f"- [{title}]({href}) - 相似度: {entry.percent}%"
    if entry.tags:
        line += " | 标签: " + ", ".join(_one_line(t) for t in entry.tags)
    return line


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


class ForeignSection(Exception):
    """A note we must not write into: the heading without our marker under it (the section is
    the user's), or text ending inside an open code fence (a section appended would be code)."""


def find_block(text: str, config: SectionConfig) -> Block | None:
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    fence: str | None = None
    headings: list[tuple[int, int]] = []  # (line index, level) outside code fences
    text_above = False  # the line above is text a setext underline would make a heading
    for i, line in enumerate(lines):
        bare = line.rstrip("\r\n").lstrip("\ufeff")
        was_text_above, text_above = text_above, False
        m = _FENCE.match(bare)
        if fence is not None:
            if (
                m
                and m.group(1)[0] == fence[0]
                and len(m.group(1)) >= len(fence)
                and not bare.strip()[len(m.group(1)) :].strip()
            ):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        h = _ANY_HEADING.match(bare)
        if h:
            headings.append((i, len(h.group(1))))
        elif was_text_above and (u := _SETEXT.match(bare)):
            headings.append((i - 1, 1 if u.group(1)[0] == "=" else 2))  # the text line starts it
        else:
            text_above = bool(bare.strip()) and not _NOT_TEXT.match(bare)
    if fence is not None:
        raise ForeignSection("ends inside a code fence that is never closed; left unchanged")
    ours = [i for i, _ in headings if lines[i].rstrip("\r\n").lstrip("\ufeff").rstrip() == config.heading]
    if not ours:
        return None
    at = ours[-1]
    marker = next((j for j in range(at + 1, len(lines)) if lines[j].strip()), None)
    if marker is None or lines[marker].strip() != config.marker:
        raise ForeignSection(f"has {config.heading!r} without the marker {config.marker!r}; left unchanged")
    stop = next((i for i, level in headings if i > at and level <= config.level), len(lines))
    end = offsets[stop]
    while end > offsets[marker] and text[end - 1].isspace():
        end -= 1
    return Block(offsets[at], offsets[marker], end)


def newline_of(text: str) -> str:
    nl = text.find("\n")
    return "\r\n" if nl > 0 and text[nl - 1] == "\r" else "\n"


def without_block(text: str, config: SectionConfig) -> str:
    """The note as the user wrote it: our generated block cut out (similarity must not feed
    on its own output, or a second run would change the figures)."""
    try:
        block = find_block(text, config)
    except ForeignSection:
        return text
    return text if block is None else text[: block.heading] + text[block.end :]


def render(text: str, source: str, entries: list[Entry], config: SectionConfig) -> str:
    """The note with its section regenerated (or appended); raises ForeignSection."""
    nl = newline_of(text)
    lines = [link_line(source, e) for e in entries] or [NONE_LINE]
    core = config.marker + nl + nl + nl.join(lines)
    block = find_block(text, config)
    if block is not None:
        return text[: block.start] + core + text[block.end :]
    head = text
    if head and not head.endswith("\n"):
        head += nl
    if head.strip("\ufeff") and not head.endswith(nl + nl) and not head.endswith("\n\n"):
        head += nl
    return head + config.heading + nl + core + nl
