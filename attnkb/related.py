"""Related notes: text similarity between notes, with tags as a further signal.

Chinese has no word boundaries, so a note's text becomes CJK character bigrams (within each run
of CJK characters) plus Latin words. Terms are weighted by BM25 (saturating term frequency,
length-normalised, rare terms count more), each note is a unit vector and similarity is the
cosine. Terms from the title and aliases count extra: they say what a note is about. Notes that
share tags get a bonus, so that two notes filed together rank above a chance overlap of words.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from attnkb.related_section import Entry, Links, SectionConfig
from attnkb.search import CJK_CLASS

if TYPE_CHECKING:
    from attnkb.graph import Graph
    from attnkb.note import Note

_RUN = re.compile(rf"[{CJK_CLASS}]+|[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
_CODE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"!?\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]|!?\[([^\]]*)\]\([^)]*\)")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.DOTALL)
# words that say nothing about a topic in notes on machine learning written in English and Chinese
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "with",
        "which",
        "not",
        "but",
        "if",
        "then",
        "than",
        "so",
        "such",
        "these",
        "those",
        "into",
        "each",
        "also",
        "more",
        "most",
        "other",
    ]
)

K1, B = 1.2, 0.75
TITLE_BOOST = 3.0  # a title term counts as this many occurrences in the body
TAG_WEIGHT = 0.1  # share of the score that comes from shared tags
MENTION_WEIGHT = 0.2  # share that comes from naming the other note (its title, file name, alias)


@dataclass
class Doc:
    path: str
    title: str
    tags: list[str]
    text: str  # body text, without front matter and without our generated section
    aliases: list[str] = field(default_factory=list)


def terms(text: str) -> Counter:
    """CJK character bigrams within each run (a lone character stands for itself) and Latin words."""
    out: Counter = Counter()
    for run in _RUN.findall(text):
        if run[0].isascii():
            word = run.lower()
            if len(word) > 1 and word not in STOPWORDS:
                out[word] += 1
        elif len(run) == 1:
            out[run] += 1
        else:
            out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def readable(body: str, keep_link_text: bool = True) -> str:
    """What a reader sees of a body: no code, no math, links as their shown text (or, for
    measuring similarity without links, nothing at all)."""
    body = _CODE.sub(" ", body)
    body = _MATH.sub(" ", body)
    if keep_link_text:
        return _LINK.sub(lambda m: m[2] or m[1] or m[3] or "", body)
    return _LINK.sub(" ", body)


def _wordy(c: str) -> bool:
    return c.isascii() and c.isalnum()


def names(text: str, name: str) -> bool:
    """Whether ``name`` occurs in ``text`` as a whole: ``note-4`` is not in ``note-42``, while
    Chinese, which has no word boundaries, matches anywhere."""
    start = text.find(name)
    while start >= 0:
        end = start + len(name)
        before_ok = not (_wordy(name[0]) and start > 0 and _wordy(text[start - 1]))
        after_ok = not (_wordy(name[-1]) and end < len(text) and _wordy(text[end]))
        if before_ok and after_ok:
            return True
        start = text.find(name, start + 1)
    return False


class Model:
    """BM25-weighted unit vectors of every note, for cosine similarity."""

    def __init__(
        self,
        docs: list[Doc],
        tag_weight: float = TAG_WEIGHT,
        title_boost: float = TITLE_BOOST,
        mention_weight: float = MENTION_WEIGHT,
    ):
        from attnkb.search import names_of

        self.docs = {d.path: d for d in docs}
        self.tag_weight = tag_weight
        self.mention_weight = mention_weight
        self.lowered = {d.path: d.text.lower() for d in docs}
        self.names = {d.path: [n.lower() for n in names_of(d.title, d.path, d.aliases)] for d in docs}
        counts: dict[str, defaultdict[str, float]] = {}
        for d in docs:
            c = defaultdict(float, terms(d.text))  # title terms add fractional counts
            for name in (d.title, *d.aliases):
                for term, n in terms(name).items():
                    c[term] += n * title_boost
            counts[d.path] = c
        n = len(docs)
        df: Counter = Counter()
        for c in counts.values():
            df.update(c.keys())
        avg = sum(sum(c.values()) for c in counts.values()) / n if n else 1.0
        self.vectors: dict[str, dict[str, float]] = {}
        for path, c in counts.items():
            length = sum(c.values())
            norm = K1 * (1 - B + B * length / (avg or 1.0))
            vec = {
                t: (tf * (K1 + 1) / (tf + norm)) * math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                for t, tf in c.items()
                if df[t] < n or n == 1
            }
            size = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            self.vectors[path] = {t: v / size for t, v in vec.items()}

    def cosine(self, a: str, b: str) -> float:
        va, vb = self.vectors[a], self.vectors[b]
        if len(va) > len(vb):
            va, vb = vb, va
        return sum(w * vb.get(t, 0.0) for t, w in va.items())

    def mentions(self, a: str, b: str) -> bool:
        """Whether the text of ``a`` names ``b``: the strongest sign that one builds on the other."""
        text = self.lowered[a]
        return any(name in text and names(text, name) for name in self.names[b])

    def score(self, a: str, b: str) -> float:
        """Text similarity blended with tag overlap (Jaccard) and whether ``a`` names ``b``,
        from 0 to 1."""
        ta = {t.lower() for t in self.docs[a].tags}
        tb = {t.lower() for t in self.docs[b].tags}
        shared = len(ta & tb) / len(ta | tb) if ta or tb else 0.0
        text = 1 - self.tag_weight - self.mention_weight
        return text * self.cosine(a, b) + self.tag_weight * shared + self.mention_weight * self.mentions(a, b)

    def similar(self, path: str, limit: int | None = None) -> list[tuple[str, float]]:
        """Other notes, most similar first (ties by path, so output is stable)."""
        scored = [(other, self.score(path, other)) for other in self.docs if other != path]
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:limit] if limit else scored


# --- the vault's notes as documents, rows for the CLI, and writing the section ------------------


def documents(
    root: Path, notes: list[Note], config: SectionConfig, styles: Counter[str] | None = None
) -> list[Doc]:
    """Each note's text as similarity reads it (our generated block left out); ``styles``, when
    given, counts the link style of each generated block found on the way (see block_style)."""
    from attnkb import frontmatter
    from attnkb.related_section import block_style, without_block
    from attnkb.vault import read_text

    paths = {n.path for n in notes}
    docs = []
    for n in notes:
        try:
            text = read_text(root, n.path)
        except OSError:
            text = ""
        mine, block = without_block(text, config)
        if styles is not None and block is not None and (style := block_style(text, block, n.path, paths)):
            styles[style] += 1
        body = frontmatter.split(mine).body
        docs.append(Doc(n.path, n.title, n.tags, readable(body), n.aliases))
    return docs


def linked_pairs(graph: Graph) -> set[frozenset[str]]:
    return {frozenset((e.source, e.target)) for e in graph.edges if e.target and e.target != e.source}


def rows(
    graph: Graph, model: Model, path: str, limit: int | None, unlinked: bool = False, minimum: float = 0.0
) -> list[Entry]:
    """The notes most similar to ``path``, each saying whether the two are already linked."""
    pairs = linked_pairs(graph)
    out = []
    for other, score in model.similar(path):
        percent = round(score * 100)
        if percent < minimum or percent <= 0:
            break
        linked = frozenset((path, other)) in pairs
        if unlinked and linked:
            continue
        note = graph.notes[other]
        out.append(Entry(other, note.title, percent, note.tags, linked))
        if limit and len(out) >= limit:
            break
    return out


@dataclass
class Outcome:
    path: str
    status: str  # "updated", "unchanged", "skipped"
    message: str = ""
    diff: str = ""


def write_section(
    root: Path,
    path: str,
    entries: list[Entry],
    config: SectionConfig,
    dry_run: bool = False,
    links: Links | None = None,
) -> Outcome:
    """Regenerate one note's section. The file is read again right before the atomic write and
    the edit redone if it changed meanwhile, so a concurrent edit is never overwritten."""
    from attnkb.errors import WriteRefused
    from attnkb.files import atomic_write
    from attnkb.related_section import ForeignSection, render

    file = root / path
    for _ in range(3):
        try:
            data = file.read_bytes()
            text = data.decode("utf-8")
        except OSError as exc:
            return Outcome(path, "skipped", f"cannot read: {exc.strerror}")
        except UnicodeDecodeError:
            return Outcome(path, "skipped", "not valid UTF-8; left unchanged")
        try:
            new = render(text, path, entries, config, links)
        except ForeignSection as exc:
            return Outcome(path, "skipped", str(exc))
        if new == text:
            return Outcome(path, "unchanged")
        if dry_run:
            return Outcome(path, "updated", diff=_diff(path, text, new))
        try:
            if file.read_bytes() != data:
                continue  # edited meanwhile: start again from what is there now
            atomic_write(file, new, root)
        except OSError as exc:
            return Outcome(path, "skipped", f"cannot write: {exc.strerror}")
        except WriteRefused as exc:
            return Outcome(path, "skipped", exc.message)
        return Outcome(path, "updated", diff=_diff(path, text, new))
    return Outcome(path, "skipped", "kept changing while being updated; left unchanged")


def _diff(path: str, old: str, new: str) -> str:
    import difflib

    from attnkb.markdown import split_lines

    def lines(text: str) -> list[str]:  # Markdown's lines: a form feed or U+2028 breaks none
        return (
            [line + "\n" for line in split_lines(text.removesuffix("\n").removesuffix("\r"))] if text else []
        )

    a, b = lines(old), lines(new)
    return "".join(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}"))
