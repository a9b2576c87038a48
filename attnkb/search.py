"""Full-text search: the FTS5 table kept in the index, and queries over it.

FTS5's ``unicode61`` tokenizer keeps a run of Chinese as one token, so ``注意力`` inside a
sentence would never match; ``trigram`` cannot match queries of one or two characters. So every
CJK character is indexed as a token of its own (a separator byte on each side) and each CJK run
of a query becomes a phrase (``"注 意 力"``): exact substrings of any length, bm25 ranking and
``snippet()`` on every SQLite version. The separator is U+001F, a control character that
``unicode61`` treats as a space and that never belongs in note text (it is dropped on output).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from attnkb.errors import UsageError

if TYPE_CHECKING:
    from attnkb.note import Note

SEP = "\x1f"
_CJK_RANGES = (
    (0x2E80, 0x2FDF),  # radicals
    (0x3040, 0x30FF),  # kana
    (0x3100, 0x312F),  # bopomofo
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xAC00, 0xD7AF),  # hangul syllables
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x3134F),  # extensions B-G
)
CJK_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES)
# Patterns over CJK_CLASS take ~13 ms to compile: kept as strings, compiled (and cached by
# ``re``) on first use, so that commands which only open the index never pay for them.
_CJK = f"[{CJK_CLASS}]"
# what unicode61 keeps inside a token (letters, digits, marks), apart from the CJK we split
_WORD = rf"[{CJK_CLASS}]|[^\W_{CJK_CLASS}]+(?:[\u0300-\u036f]+[^\W_{CJK_CLASS}]*)*"

TABLE = "fts"
PATHS = "fts_paths"
# bm25 weights, one per column in order: path, tags, title, aliases, questions, body
_WEIGHTS = (0.0, 0.0, 10.0, 8.0, 5.0, 1.0)
SNIPPET_TOKENS = 24


_CJK_SPLIT = f"([{CJK_CLASS}])"


def spaced(text: str, *, vectorized: bool = False) -> str:
    """Text as indexed: each CJK character a token of its own. (Splitting on a captured
    character and joining is the fastest way in pure Python: twice ``str.translate``'s speed.)

    ``vectorized`` lays the text out with NumPy instead, 2.3 times as fast on a note of Chinese
    prose; it is for bulk indexing (worker processes), where NumPy's import (~0.07 s) is paid
    once for hundreds of notes, not for the few notes a warm run parses again."""
    if vectorized and text:
        return _spaced_numpy(text)
    return SEP.join(re.split(_CJK_SPLIT, text))


@lru_cache(maxsize=1)
def _cjk_table():
    """1 for each code point in _CJK_RANGES, 0 elsewhere (1.1 MB, built once)."""
    import numpy as np

    table = np.zeros(0x110000, dtype=np.uint8)
    for lo, hi in _CJK_RANGES:
        table[lo : hi + 1] = 1
    return table


def _spaced_numpy(text: str) -> str:
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cjk = _cjk_table()[codes].astype(np.intp)
    width = 1 + 2 * cjk  # a CJK character takes three places: SEP, itself, SEP
    end = np.cumsum(width)
    out = np.full(int(end[-1]), ord(SEP), dtype=np.uint32)
    out[end - width + cjk] = codes
    return out.tobytes().decode("utf-32-le", "surrogatepass")


def unspaced(text: str) -> str:
    return text.replace(SEP, "")


def document(note: Note, text: str, *, bulk: bool = False) -> tuple[bytes, ...]:
    """The row of a note in the FTS table (path excluded), in UTF-8 as the index sends and
    stores its rows (see :func:`attnkb.vault.to_json`). The body keeps the front matter's line
    count as blank lines, so a hit's line in the column is its line in the file. ``bulk``: one
    of many notes indexed in a worker process (see :func:`spaced`)."""
    from attnkb import frontmatter

    parts = frontmatter.split(text)
    body = "\n" * (parts.body_line - 1) + parts.body
    columns = (
        json.dumps(note.tags, ensure_ascii=False),
        spaced(note.title),
        spaced("\n".join(note.aliases)),
        spaced("\n".join(c.question for c in note.cards)),
        spaced(body, vectorized=bulk),
    )
    # a lone surrogate (YAML's "\ud800") cannot be stored as text: it is indexed as "?"
    return tuple(c.encode("utf-8", "replace") for c in columns)


def create(db: sqlite3.Connection) -> None:
    db.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(path UNINDEXED, tags UNINDEXED,"
        " title, aliases, questions, body, tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute(f"CREATE TABLE IF NOT EXISTS {PATHS} (id INTEGER PRIMARY KEY, path TEXT UNIQUE)")
    # larger leaf pages than the default 1000 bytes: a third less time to index a large vault
    db.execute(f"INSERT INTO {TABLE} ({TABLE}, rank) VALUES ('pgsz', 4000)")


def drop(db: sqlite3.Connection) -> None:
    db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    db.execute(f"DROP TABLE IF EXISTS {PATHS}")


def sync(
    db: sqlite3.Connection,
    changed: dict[str, tuple[bytes, ...] | None],
    gone: Iterable[str],
    cold: bool = False,
) -> None:
    """Follow the index: rows of changed notes replaced (None: no longer a note), gone ones deleted.
    Runs inside the index's transaction; ``cold``: the table is empty, nothing to delete."""
    for path in [] if cold else [*changed, *gone]:
        row = db.execute(f"SELECT id FROM {PATHS} WHERE path = ?", (path,)).fetchone()
        if row is not None:
            db.execute(f"DELETE FROM {TABLE} WHERE rowid = ?", row)
            db.execute(f"DELETE FROM {PATHS} WHERE id = ?", row)
    rows = [(path, doc) for path, doc in changed.items() if doc is not None]
    if not rows:
        return
    (last,) = db.execute(f"SELECT coalesce(max(id), 0) FROM {PATHS}").fetchone()
    ids = range(last + 1, last + 1 + len(rows))  # as INTEGER PRIMARY KEY would number them
    db.executemany(
        f"INSERT INTO {PATHS} (id, path) VALUES (?, ?)",
        [(i, path) for i, (path, _) in zip(ids, rows, strict=True)],
    )
    db.executemany(
        f"INSERT INTO {TABLE} (rowid, path, {_COLS}) VALUES (?, ?, {_TEXTS})",
        ((rowid, path, *doc) for rowid, (path, doc) in zip(ids, rows, strict=True)),
    )


_COLS = "tags, title, aliases, questions, body"
_TEXTS = ", ".join(["CAST(? AS TEXT)"] * 5)  # the document's UTF-8 bytes, stored as text


# --- queries -----------------------------------------------------------------------------------


class QueryError(UsageError):
    """A query we cannot turn into a search (exit 2); never an SQLite message."""


@dataclass
class Term:
    tokens: list[str]
    prefix: bool  # the last token matches as a prefix (a typed word, not a quoted phrase)

    def fts(self) -> str:
        return '"' + " ".join(self.tokens) + '"' + ("*" if self.prefix else "")


def tokens(text: str) -> list[str]:
    """Tokens as the index sees them: CJK characters one by one, other words whole, lowercased."""
    return [m.lower() for m in re.findall(_WORD, text)]


_LEX = re.compile(r'\s*(?:(-?)"([^"]*)("?)|(\S+))')


@dataclass
class Query:
    expr: str  # the FTS5 expression
    terms: list[Term]  # the terms a hit must show (excluded ones left out), for snippets

    def pattern(self) -> re.Pattern:
        """The terms as a regex over indexed text, where tokens may be apart by separators."""
        parts = []
        for t in self.terms:
            body = r"[\W_]*".join(re.escape(tok) for tok in t.tokens)
            parts.append(r"(?<!\w)" + body + (r"\w*" if t.prefix else r"(?!\w)"))
        return re.compile("|".join(parts), re.IGNORECASE)


def compile_query(query: str) -> Query:
    """The user's query as an FTS5 expression built by us from quoted phrases only, so nothing
    the user types is ever read as FTS5 syntax: words AND-ed, ``"a phrase"``, ``-word``, ``OR``."""
    groups: list[list[Term]] = []  # AND of ORs
    excluded: list[Term] = []
    pending_or = False
    pos = 0
    query = query.strip()
    while pos < len(query):
        m = _LEX.match(query, pos)
        if m is None:
            break
        pos = m.end()
        neg, phrase, closed, word = m.group(1), m.group(2), m.group(3), m.group(4)
        if word in ("OR", "AND"):
            if word == "OR":
                if not groups or pending_or:
                    raise QueryError("OR needs a search word on each side")
                pending_or = True
            continue
        if phrase is not None:
            if not closed:
                raise QueryError('a quoted phrase is missing its closing "')
            term = Term(tokens(phrase), prefix=False)
        else:
            if word.startswith("-") and len(word) > 1:
                neg, word = "-", word[1:]
            found = tokens(word)
            last_is_word = bool(found) and not re.fullmatch(_CJK, found[-1]) and word[-1].isalnum()
            term = Term(found, prefix=last_is_word)
        if not term.tokens:
            continue
        if neg:
            if pending_or:
                raise QueryError("an excluded -word cannot be part of OR")
            excluded.append(term)
        elif pending_or:
            groups[-1].append(term)
            pending_or = False
        else:
            groups.append([term])
    if pending_or:
        raise QueryError("OR needs a search word on each side")
    if not groups:
        if excluded:
            raise QueryError("a query needs at least one word that is not excluded with -")
        raise QueryError("nothing to search for: give a word or a phrase")
    expr = " AND ".join("(" + " OR ".join(t.fts() for t in g) + ")" for g in groups)
    if excluded:
        expr = f"({expr}) NOT ({' OR '.join(t.fts() for t in excluded)})"
    return Query(expr, [t for g in groups for t in g])


@dataclass
class Hit:
    path: str
    title: str
    line: int
    snippet: str  # with the hit between HL_START and HL_END
    score: float
    tags: list[str]

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "title": self.title,
            "line": self.line,
            "snippet": one_line(plain(self.snippet)),
            "score": float(f"{self.score:.4g}"),  # bm25 of a word in most notes is tiny, not 0
        }


HL_START, HL_END = "\x02", "\x03"  # markers SQLite puts around hits; never in a note's text


def plain(snippet: str) -> str:
    return snippet.replace(HL_START, "").replace(HL_END, "")


def search(
    db: sqlite3.Connection,
    query: str,
    limit: int = 20,
    tags: list[str] | None = None,
    column: str | None = None,
) -> list[Hit]:
    """Best hits first. ``column`` restricts matching to one column (``body`` for mentions)."""
    compiled = compile_query(query)
    expr = compiled.expr
    if column:
        expr = f"{column} : ({expr})"
    weights = ", ".join(str(w) for w in _WEIGHTS)
    # without a tag filter SQLite keeps only the top rows while sorting: half the time
    rows = db.execute(
        f"SELECT rowid, path, tags, bm25({TABLE}, {weights}) AS score FROM {TABLE}"
        f" WHERE {TABLE} MATCH ? ORDER BY score LIMIT ?",
        (expr, -1 if tags else limit),
    )
    hits: list[Hit] = []
    pattern = compiled.pattern()
    for rowid, path, tags_json, score in rows:
        note_tags = json.loads(tags_json)
        if tags:
            from attnkb.notefields import tags_match

            if not tags_match(note_tags, tags):
                continue
        hits.append(_hit(db, expr, pattern, rowid, path, note_tags, -score))
        if len(hits) >= limit:
            break
    if tags and not hits:  # a tag no note has is a typo to name, not "no notes match"
        from attnkb.notefields import require_tags

        require_tags((json.loads(t) for (t,) in db.execute(f"SELECT tags FROM {TABLE}")), tags)
    return hits


def _hit(
    db: sqlite3.Connection,
    expr: str,
    pattern: re.Pattern,
    rowid: int,
    path: str,
    tags: list[str],
    score: float,
) -> Hit:
    """The line with the most distinct terms of the query, found in Python: SQLite's
    ``snippet()`` weighs every hit of a long note and costs ~10 ms a row. It stays the fallback
    for hits the regex cannot see (diacritics folded by the tokenizer)."""
    title, body = db.execute(f"SELECT title, body FROM {TABLE} WHERE rowid = ?", (rowid,)).fetchone()
    found = _best_line(body, pattern, title)
    if found is not None:
        line, snip = found
    else:
        (snip,) = db.execute(
            f"SELECT snippet({TABLE}, 5, ?, ?, '…', {SNIPPET_TOKENS}) FROM {TABLE} WHERE {TABLE} MATCH ? AND rowid = ?",
            (HL_START, HL_END, expr, rowid),
        ).fetchone()
        line = _line_of(body, snip) if HL_START in snip else 1
        if HL_START not in snip:  # the hit is in the title, aliases or a question
            snip = _first_text(body, title)
    return Hit(path, unspaced(title), line, unspaced(snip), score, tags)


SNIPPET_BEFORE, SNIPPET_AFTER = 40, 120  # characters of indexed text around the first hit


def _best_line(body: str, pattern: re.Pattern, title: str = "") -> tuple[int, str] | None:
    """The line with the most distinct terms, as a window around its first hit that cuts no
    formula in two; the heading that repeats the note's title (shown beside the hit) is no
    snippet."""
    best: tuple[int, int, str] | None = None  # (distinct terms, -line, text)
    for n, text in enumerate(body.split("\n"), start=1):
        if title and _is_title(text, title):
            continue
        hits = {m.group(0).lower() for m in pattern.finditer(text)}
        if hits and (best is None or len(hits) > best[0]):
            best = (len(hits), n, text)
    if best is None:
        return None
    _, line, text = best
    found = pattern.search(text)
    assert found is not None  # the line was chosen for its hits
    first = found.start()
    start = max(0, first - SNIPPET_BEFORE)
    end = min(len(text), first + SNIPPET_AFTER)
    if text.count("$", 0, start) % 2:  # inside a formula: start at its opening $
        start = text.rfind("$", 0, start)
    if text.count("$", 0, end) % 2:  # a formula left open: end after its closing $
        close = text.find("$", end)
        end = len(text) if close < 0 else close + 1
    window = pattern.sub(lambda m: HL_START + m.group(0) + HL_END, text[start:end])
    return line, ("…" if start else "") + window.strip() + ("…" if end < len(text) else "")


def _line_of(body: str, snip: str) -> int:
    core = snip.removeprefix("…").removesuffix("…")
    bare = plain(core)
    before = core.index(HL_START)
    at = body.find(bare)
    if at < 0:
        return 1
    return body.count("\n", 0, at) + plain(core[:before]).count("\n") + 1


def _is_title(line: str, title: str) -> bool:
    """The heading that repeats the note's title (both as the full-text table spaces them)."""
    return line.startswith("#") and unspaced(line).lstrip("#").strip() == unspaced(title).strip()


def _first_text(body: str, title: str = "") -> str:
    for line in body.splitlines():
        if line.strip() and not _is_title(line, title):
            return line.strip()[:160]
    return ""


def one_line(snippet: str) -> str:
    """A snippet for a terminal row: line breaks and runs of space become one space."""
    return " ".join(snippet.split())


def names_of(title: str, path: str, aliases: list[str]) -> list[str]:
    """What a note is called in other notes' text: its title (also without a trailing
    parenthesis such as an English gloss), its file name and its aliases; a lone CJK
    character or a word of one or two letters is left out, it would match everywhere."""
    bare = re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", title)
    stem = path.rsplit("/", 1)[-1].removesuffix(".md")
    out = []
    for name in dict.fromkeys([title, bare, stem, *aliases]):
        words = tokens(name)
        if len(words) > 1 or (words and not re.fullmatch(_CJK, words[0]) and len(words[0]) > 2):
            out.append(name)
    return out


def mentions(db: sqlite3.Connection, names: list[str], exclude: set[str], limit: int = 1000) -> list[Hit]:
    """Notes whose body names one of ``names`` (a title, an alias) as a phrase, best first,
    leaving out the paths in ``exclude`` (the note itself and the notes that link to it)."""
    best: dict[str, Hit] = {}
    for name in names:
        words = tokens(name)
        if not words:
            continue
        for hit in search(db, '"' + " ".join(words) + '"', limit=limit, column="body"):
            if hit.path not in exclude and (hit.path not in best or best[hit.path].score < hit.score):
                best[hit.path] = hit
    return sorted(best.values(), key=lambda h: (-h.score, h.path))
