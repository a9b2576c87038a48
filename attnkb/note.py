"""The ``Note`` record, and reading one from bytes however messy they are.

Parsing never raises for bad content: a note with broken YAML, wrong types or undecodable
bytes is still a note, carrying ``problems`` that ``attnkb check`` reports by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from attnkb import frontmatter
from attnkb.cards import DEFAULT_SETTINGS, CardSettings, CardSource, find_cards
from attnkb.clock import day_of
from attnkb.findings import Problem
from attnkb.markdown import ExampleSource, Heading, RawLink, extract, parse, split_target
from attnkb.notefields import NoteFields, tags_match  # noqa: F401  (tags_match: for importers)

DATE_KEYS = ("date", "created", "last_reviewed", "next_review")
LINK_KEYS = ("related", "related_outlines")


@dataclass
class Note(NoteFields):
    path: str  # vault-relative, with "/"
    title: str
    tags: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # front matter, JSON-safe
    links: list[RawLink] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    cards: list[CardSource] = field(default_factory=list)
    examples: list[ExampleSource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The JSON shape of a note in ``list --json`` and ``graph --format json``; the index
        stores it on its own so that listing never decodes whole notes."""
        return {
            "path": self.path,
            "title": self.title,
            "tags": self.tags,
            "aliases": self.aliases,
            "metadata": self.meta,
            "cards": len(self.cards),
            "examples": len(self.examples),
            "problems": len(self.problems),
        }

    def to_dict(self) -> dict[str, Any]:
        """The note as JSON-ready data, the inverse of :meth:`from_dict`. Written out because
        ``dataclasses.asdict`` deep-copies every value, a twentieth of indexing a vault; the
        records are copied one level, so callers may edit the dicts they get."""
        return {
            "path": self.path,
            "title": self.title,
            "tags": self.tags,
            "aliases": self.aliases,
            "meta": self.meta,
            **{
                name: [dict(vars(item)) for item in getattr(self, name)]
                for name in ("links", "headings", "cards", "examples", "problems")
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Note:
        return cls(
            path=d["path"],
            title=d["title"],
            tags=d["tags"],
            aliases=d["aliases"],
            meta=d["meta"],
            links=[RawLink(**x) for x in d["links"]],
            headings=[Heading(**x) for x in d["headings"]],
            cards=[CardSource(**x) for x in d["cards"]],
            examples=[ExampleSource(**x) for x in d["examples"]],
            problems=[Problem(**x) for x in d["problems"]],
        )


def nul_line(data: bytes) -> int:
    """The line of the first NUL byte (0 if none): a file holding one is binary, not a note."""
    at = data.find(b"\x00")
    return 0 if at < 0 else data.count(b"\n", 0, at) + 1


def decode(data: bytes) -> tuple[str, list[Problem]]:
    """Text of a note; undecodable bytes become U+FFFD and a problem naming the line."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        text = data.decode("utf-8", errors="replace")
        return text, [Problem(line, f"not valid UTF-8 (byte 0x{bad}); shown with replacements")]


def parse_note(path: str, data: bytes, settings: CardSettings = DEFAULT_SETTINGS) -> Note:
    text, problems = decode(data)
    return parse_text(path, text, problems, settings)


def parse_text(
    path: str, text: str, problems: list[Problem] | None = None, settings: CardSettings = DEFAULT_SETTINGS
) -> Note:
    problems = list(problems or [])
    parts = frontmatter.split(text)
    meta: dict[str, Any] = {}
    fm_text = parts.fm_text
    if parts.unclosed:
        problems.append(Problem(1, "front matter opened with '---' is never closed"))
    if fm_text is not None:
        fm = frontmatter.parse(fm_text, first_line=2)
        problems.extend(fm.problems)
        meta = fm.data
    tokens = parse(parts.body)
    extracted = extract(parts.body, parts.body_line, tokens)
    note = Note(
        path=path,
        title="",
        meta={},
        links=extracted.links,
        headings=extracted.headings,
        cards=find_cards(parts.body, tokens, parts.body_line, settings),
        examples=extracted.examples,
        problems=problems,
    )
    _normalise(note, meta, fm_text or "")
    return note


def _normalise(note: Note, meta: dict[str, Any], fm_text: str) -> None:
    def line_of(key: str) -> int:
        n = frontmatter.key_line(fm_text, key)
        return n + 1 if n else 1

    def problem(key: str, message: str) -> None:
        note.problems.append(Problem(line_of(key), f"{key}: {message}"))

    title = meta.get("title")
    if title is not None and not isinstance(title, str | int | float):
        problem("title", f"expected text, got {type(title).__name__}")
        title = None
    first_h1 = next((h.text for h in note.headings if h.level == 1 and h.text), None)
    note.title = str(title).strip() if title not in (None, "") else first_h1 or note.stem

    note.tags = _string_list(meta.get("tags"), lambda m: problem("tags", m))
    note.tags = [t.lstrip("#") for t in note.tags if t.lstrip("#")]
    note.aliases = _string_list(meta.get("aliases"), lambda m: problem("aliases", m))

    for key in DATE_KEYS:
        value = meta.get(key)
        if value is None or isinstance(value, date):
            continue
        if (day := day_of(value)) is not None:
            meta[key] = day
            continue
        problem(key, f"expected a date (YYYY-MM-DD), got {value!r}")
        meta[key] = None

    count = meta.get("review_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        problem("review_count", f"expected a whole number >= 0, got {count!r}")
        meta["review_count"] = None
    mastery = meta.get("mastery_level")
    if mastery is not None and (
        isinstance(mastery, bool) or not isinstance(mastery, int | float) or not 0 <= mastery <= 1
    ):
        problem("mastery_level", f"expected a number from 0 to 1, got {mastery!r}")
        meta["mastery_level"] = None

    for key in LINK_KEYS:
        if key in meta:
            for target in _link_targets(meta[key], lambda m, k=key: problem(k, m)):
                t, anchor = split_target(target)
                note.links.append(RawLink(t, "front-matter", line_of(key), target, "", anchor))
    note.meta = frontmatter.to_json_safe(meta)


def _string_list(value: Any, report) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict | list):
                report(f"ignored a nested value {item!r}")
            elif item is not None and str(item).strip():
                out.append(str(item).strip())
        return out
    if isinstance(value, int | float):
        return [str(value)]
    report(f"expected a list of text, got {type(value).__name__}")
    return []


_WIKI = re.compile(r"^!?\[\[(.+?)\]\]$")


def _link_targets(value: Any, report) -> list[str]:
    """``related`` as users write it: ``[["X"]]`` (YAML nested lists), ``"[[X]]"``, plain X."""
    out: list[str] = []
    if value is None:
        return out
    if isinstance(value, str):
        m = _WIKI.match(value.strip())
        text = m.group(1) if m else value.strip()
        if text:
            out.append(text)
    elif isinstance(value, list):
        for item in value:
            out.extend(_link_targets(item, report))
    else:
        report(f"expected note names, got {value!r}")
    return out
