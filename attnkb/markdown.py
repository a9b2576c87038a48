"""One configured markdown-it parser, and everything we read off its token stream.

Links inside code spans and fenced blocks never become tokens of ours, so they are not links;
that is why we parse instead of grepping. mdit-py-plugins has no wikilink rule, so ours is here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token


@dataclass
class RawLink:
    """A link as written: ``target`` is a note reference, ``anchor`` what followed ``#``."""

    target: str
    kind: str  # "wiki-link" | "markdown" | "front-matter"
    line: int
    href: str
    text: str = ""
    anchor: str = ""
    embed: bool = False


@dataclass
class Heading:
    level: int
    text: str
    line: int


@dataclass
class ExampleSource:
    line: int  # the line of the opening fence
    text: str  # the block's content


@dataclass
class Extracted:
    headings: list[Heading] = field(default_factory=list)
    links: list[RawLink] = field(default_factory=list)
    examples: list[ExampleSource] = field(default_factory=list)


def _wikilink(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    embed = src.startswith("![[", pos)
    start = pos + (3 if embed else 2)
    if not (embed or src.startswith("[[", pos)):
        return False
    end = _next(state, "]]", start)
    if (
        end < 0
        or _next(state, "[", start) in range(start, end)
        or _next(state, "\n", start) in range(start, end)
    ):
        return False
    inner = src[start:end]
    if not inner.strip():
        return False
    if not silent:
        target, _, shown = inner.replace("\\|", "|").partition("|")
        token = state.push("wikilink", "", 0)
        token.meta = {"target": target.strip(), "text": shown.strip(), "embed": embed}
        token.content = src[pos : end + 2]
    state.pos = end + 2
    return True


_find = str.find  # the one scan of the rule: tests count what it reads


def _next(state: StateInline, needle: str, start: int) -> int:
    """``src.find(needle, start)``, remembering the last answer per inline source: a run of
    ``[[`` asks again from every position, and finding the same far ``]]`` (or none) each time
    made 160 KB of ``[`` take 27 s. The answer found from ``a`` holds for any ``start`` between
    ``a`` and it, so each character is read about once."""
    memo = state.env.setdefault("attnkb_next", {})
    hit = memo.get(needle)
    if hit is not None and hit[0] is state.src and hit[1] <= start and (hit[2] < 0 or start <= hit[2]):
        return hit[2]
    found = _find(state.src, needle, start)
    memo[needle] = (state.src, start, found)
    return found


def _inline_where_read(state: StateCore) -> None:
    """markdown-it's inline pass over only the inline text we read children of: headings (their
    plain text) and text with a ``[`` (every link, wikilink and image starts with one). The
    rest, most of a note, keeps its content and gets no children; this halves inline parsing."""
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "inline":
            continue
        token.children = []
        if "[" in token.content or (i and tokens[i - 1].type == "heading_open"):
            state.md.inline.parse(token.content, state.md, state.env, token.children)


# Each block rule and what a text must hold for the rule ever to match. A parser without the
# rules whose marks a note lacks makes the same tokens, and a sixth faster: most notes have no
# table, quote, HTML or indented code, yet every rule is tried at the start of every block.
_BLOCK_MARKS = {
    "table": ("|",),
    "code": ("    ", "\t"),
    "fence": ("```", "~~~"),
    "blockquote": (">",),
    "hr": ("*", "-", "_"),
    "reference": ("[",),
    "html_block": ("<",),
    "heading": ("#",),
    "lheading": ("=", "-"),
}


# The same for the core rule that rewrites ``\r\n``, ``\r`` and NUL: on a text without them
# it only copies the text (by a regex substitution on every line end), a tenth of the parse.
_CORE_MARKS = {"normalize": ("\r", "\0")}
_MARKS = {**_BLOCK_MARKS, **_CORE_MARKS}


def parse(body: str) -> list[Token]:
    """markdown-it's tokens of ``body`` (inline children only where we read them)."""
    absent = frozenset(rule for rule, marks in _MARKS.items() if not any(m in body for m in marks))
    return _parser(absent).parse(body)


@cache  # at most one per subset of _MARKS; ~0.1 ms to build one
def _parser(absent: frozenset[str]) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.inline.ruler.before("link", "wikilink", _wikilink)
    md.core.ruler.at("inline", _inline_where_read)
    for ruler, names in ((md.core.ruler, _CORE_MARKS.keys()), (md.block.ruler, _BLOCK_MARKS.keys())):
        if absent & names:
            ruler.disable(sorted(absent & names))
    return md


URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


NEWLINE = re.compile(r"\r\n?|\n")  # the line breaks of Markdown: no others


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of a text as markdown-it numbers them (its token maps index these): broken at
    ``\n``, ``\r\n`` and a lone ``\r`` only. ``str.splitlines()`` also breaks at U+2028, NEL,
    form feed and more, so its line numbers drift from the token maps: every line count over
    note text goes through here."""
    if not keepends:
        return text.split("\n") if "\r" not in text else NEWLINE.split(text)
    out, pos = [], 0
    for m in NEWLINE.finditer(text):
        out.append(text[pos : m.end()])
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def heading_spans(body: str) -> list[tuple[int, int, int]]:
    """(level, first line, line after it) of each heading, 0-based, from the token stream, so a
    ``# comment`` in a fenced block is no heading and a setext heading spans both its lines."""
    return [
        (int(tok.tag[1:]), tok.map[0], tok.map[1])
        for tok in parse(body)
        if tok.type == "heading_open" and tok.map
    ]


def split_target(raw: str) -> tuple[str, str]:
    """``Note#anchor|shown`` as (note, anchor): what a wikilink or ``related`` entry names."""
    target, _, anchor = raw.split("|", 1)[0].partition("#")
    return target.strip(), anchor.strip()


def extract(body: str, first_line: int = 1, tokens: list[Token] | None = None) -> Extracted:
    """Headings, links and ``attention`` blocks of a note body (its cards: :mod:`attnkb.cards`).

    ``first_line`` is the file line of the body's first line, so that every line we report
    points into the file, front matter included. ``tokens``: :func:`parse` of ``body``, when
    the caller has them.
    """
    if tokens is None:
        tokens = parse(body)
    out = Extracted()
    offset = first_line
    heading_level = 0
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            heading_level = int(tok.tag[1:])
            continue
        if tok.type == "fence" and tok.map:
            info = tok.info.strip().split(maxsplit=1)
            if info and info[0] == "attention":
                out.examples.append(ExampleSource(tok.map[0] + offset, tok.content))
            continue
        if tok.type != "inline" or tok.map is None:
            continue
        line0 = tok.map[0] + offset
        if i and tokens[i - 1].type == "heading_open":
            out.headings.append(Heading(heading_level, plain(tok), line0))
        _collect_links(tok, line0, out.links)
    return out


def plain(tok: Token) -> str:
    """The text of an inline token as a reader sees it (a wikilink as its shown text)."""
    parts = []
    for child in tok.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "wikilink":
            parts.append(child.meta["text"] or child.meta["target"])
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def _collect_links(tok, line0: int, links: list[RawLink]) -> None:
    line = line0
    shown: list[str] | None = None  # the text of the Markdown link being read (zk's title)
    reading = RawLink("", "markdown", line, "")
    for child in tok.children or []:
        if shown is not None:
            if child.type == "link_close":
                reading.text = "".join(shown)
                shown = None
            elif child.type in ("text", "code_inline", "image"):
                shown.append(child.content)
        if child.type in ("softbreak", "hardbreak"):
            line += 1
            if shown is not None:
                shown.append(" ")
        elif child.type == "wikilink":
            target, anchor = split_target(child.meta["target"])
            links.append(
                RawLink(
                    target,
                    "wiki-link",
                    line,
                    child.content,
                    child.meta["text"],
                    anchor,
                    child.meta["embed"],
                )
            )
        elif child.type in ("link_open", "image"):
            href = str(child.attrs.get("href") or child.attrs.get("src") or "")
            found = markdown_target(href)
            if found is not None:
                t, anchor = found
                written = unquote(href)  # markdown-it percent-encodes; report what the user wrote
                image = child.type == "image"
                reading = RawLink(t, "markdown", line, written, child.content if image else "", anchor, image)
                links.append(reading)
                if not image:
                    shown = []
        elif child.type == "text":
            line += child.content.count("\n")


def markdown_target(href: str) -> tuple[str, str] | None:
    """The note a Markdown link points to, or None for URLs, anchors and non-note files."""
    if not href or href.startswith(("#", "//")) or URL_SCHEME.match(href):
        return None
    path, _, anchor = href.partition("#")
    path = unquote(path.split("?", 1)[0])
    if not path.lower().endswith(".md"):
        return None
    return path, unquote(anchor)
