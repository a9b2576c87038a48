"""Finding the vault, walking its notes, and the incremental index cache.

Parsing Markdown costs ~0.5 s per MB, so a 10,000-note vault is indexed once and then kept in
``.attnkb/index.sqlite`` keyed by path, size and mtime; only changed files are parsed again.
The cache is disposable: delete it and it is rebuilt.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from attnkb.errors import UsageError
from attnkb.interop.obsidian_sr import vault_clozes

if TYPE_CHECKING:
    from attnkb.note import Note

STATE_DIR = ".attnkb"
INDEX_FILE = "index.sqlite"
PARALLEL_THRESHOLD = 64  # below this many changed files a process pool costs more than it saves

Progress = Callable[[int, int], None]


def find_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """--vault, else $ATTNKB_VAULT, else the nearest ancestor holding .attnkb/, else ./notes,
    else the working directory."""
    cwd = cwd or Path.cwd()
    chosen = explicit or os.environ.get("ATTNKB_VAULT")
    if chosen:
        root = (cwd / Path(chosen).expanduser()).resolve()
        if not root.is_dir():
            raise UsageError("vault is not a folder", path=str(chosen))
        return root
    for folder in (cwd, *cwd.parents):
        if (folder / STATE_DIR).is_dir():
            return folder
    if (cwd / "notes").is_dir():
        return cwd / "notes"
    return cwd


def init(root: Path) -> Path:
    """Create ``.attnkb/`` with its git files (idempotent)."""
    from attnkb.srs.log import write_git_files

    state = root / STATE_DIR
    try:
        state.mkdir(parents=True, exist_ok=True)
        write_git_files(state)
    except OSError as exc:
        raise UsageError(f"cannot create {STATE_DIR}/: {exc.strerror}", path=str(root)) from exc
    return state


@dataclass
class FileStat:
    rel: str
    size: int
    mtime_ns: int


def walk(root: Path) -> Iterator[FileStat]:
    """Every ``*.md`` under root, skipping hidden folders and files, AppleDouble ``._*``
    files and symlink loops; other symlinks are followed once (each real file counted once)."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()

    def visit(folder: Path, rel: str) -> Iterator[FileStat]:
        try:
            st = folder.stat()
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            child_rel = f"{rel}{name}"
            try:
                est = entry.stat()  # follows symlinks; a dangling one raises
            except OSError:
                continue
            if stat.S_ISDIR(est.st_mode):
                yield from visit(Path(entry.path), child_rel + "/")
            elif stat.S_ISREG(est.st_mode) and name.lower().endswith(".md"):
                fkey = (est.st_dev, est.st_ino)
                if fkey in seen_files:
                    continue
                seen_files.add(fkey)
                yield FileStat(child_rel, est.st_size, est.st_mtime_ns)

    yield from visit(root, "")


def _parser_version() -> str:
    """Changes whenever the parsing code does, so a cache never outlives its parser."""
    import hashlib

    import attnkb

    digest = hashlib.sha1(attnkb.__version__.encode())
    here = Path(__file__).parent
    for name in (
        "note.py",
        "markdown.py",
        "frontmatter.py",
        "vault.py",
        "search.py",
        "interop/obsidian_sr.py",
    ):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


# (summary JSON, whole-note JSON, full-text row); None for a binary file
Parsed = tuple[str, str, tuple[str, ...]] | None


def _parse_file(root: str, rel: str) -> Parsed:
    from attnkb import search
    from attnkb.frontmatter import Problem
    from attnkb.note import Note, decode, is_binary, parse_text

    text = ""
    try:
        data = (Path(root) / rel).read_bytes()
    except OSError as exc:
        note = Note(path=rel, title=Path(rel).stem)
        note.problems.append(Problem(1, f"cannot read: {exc.strerror}"))
    else:
        if is_binary(data):
            return None
        text, problems = decode(data)
        note = parse_text(rel, text, problems, vault_clozes(Path(root)))
    return json.dumps(note.summary()), json.dumps(note.to_dict()), search.document(note, text)


def _parse_chunk(root: str, rels: list[str]) -> list[Parsed]:
    return [_parse_file(root, rel) for rel in rels]


class Index:
    """The notes of a vault, from the cache where it is fresh and from disk where not.

    Each row keeps a note's summary apart from the whole note, so ``list`` reads and decodes
    only the small part; the summary column comes first so SQLite never touches the overflow
    pages of the large one.
    """

    def __init__(self, root: Path):
        self.root = root

    def _open(self) -> sqlite3.Connection | None:
        state = self.root / STATE_DIR
        try:
            state.mkdir(exist_ok=True)
            return _prepare(sqlite3.connect(state / INDEX_FILE, timeout=10), vault_clozes(self.root))
        except (OSError, sqlite3.Error):
            return None  # a read-only vault still works, just without the cache

    def search_db(self, progress: Progress | None = None) -> sqlite3.Connection:
        """The index with its full-text table up to date; where there is no cache (a read-only
        vault) an in-memory index built for this run."""
        db = self._open() or _prepare(sqlite3.connect(":memory:"))
        self._refresh(db, None, progress)
        return db

    def notes(self, progress: Progress | None = None) -> list[Note]:
        """Every note, whole: links, cards and examples included."""
        from attnkb.note import Note

        return [Note.from_dict(json.loads(raw)) for raw in self._load("data", progress)]

    def summaries(self, progress: Progress | None = None) -> list[dict]:
        """Every note as :meth:`Note.summary` gives it, without decoding whole notes."""
        return [json.loads(raw) for raw in self._load("summary", progress)]

    def _load(self, column: str, progress: Progress | None) -> list[str]:
        """The JSON text of ``column`` for each note, in walk order, parsing what is stale."""
        db = self._open()
        try:
            return self._refresh(db, column, progress)
        finally:
            if db is not None:
                db.close()

    def _refresh(
        self, db: sqlite3.Connection | None, column: str | None, progress: Progress | None
    ) -> list[str]:
        """Bring the cache up to date; return ``column`` of every note (none when None)."""
        from attnkb import search

        files = list(walk(self.root))
        cached: dict[str, tuple[int, int, str | None]] = {}
        if db is not None:
            try:
                query = f"SELECT path, size, mtime_ns, {column or 'NULL'} FROM notes"  # column is ours, never user input
                cached = {path: (size, mtime, raw) for path, size, mtime, raw in db.execute(query)}
            except sqlite3.Error:
                cached = {}
        stale = [f for f in files if (hit := cached.get(f.rel)) is None or hit[:2] != (f.size, f.mtime_ns)]
        parsed = dict(zip((f.rel for f in stale), self._parse(stale, progress), strict=True))
        if db is not None:
            try:
                with db:
                    db.executemany(
                        "INSERT OR REPLACE INTO notes VALUES (?, ?, ?, ?, ?)",
                        [
                            (f.rel, f.size, f.mtime_ns, *(parsed[f.rel] or (None, None, None))[:2])
                            for f in stale
                        ],
                    )
                    gone = set(cached) - {f.rel for f in files}
                    db.executemany("DELETE FROM notes WHERE path = ?", [(p,) for p in gone])
                    search.sync(db, {rel: p and p[2] for rel, p in parsed.items()}, gone, cold=not cached)
            except sqlite3.Error:
                pass
        if column is None:
            return []
        index = 0 if column == "summary" else 1
        out = []
        for f in files:
            if f.rel in parsed:
                entry = parsed[f.rel]
                raw = None if entry is None else entry[index]
            else:
                raw = cached[f.rel][2]
            if raw is not None:
                out.append(raw)
        return out

    def _parse(self, stale: list[FileStat], progress: Progress | None) -> list[Parsed]:
        total = len(stale)
        if total == 0:
            return []
        root = str(self.root)
        workers = min(os.cpu_count() or 1, 8)
        if total < PARALLEL_THRESHOLD or workers < 2:
            out = []
            for i, f in enumerate(stale):
                out.append(_parse_file(root, f.rel))
                if progress:
                    progress(i + 1, total)
            return out
        from concurrent.futures import ProcessPoolExecutor

        chunk = 32
        chunks = [stale[i : i + chunk] for i in range(0, total, chunk)]
        results: list[Parsed] = []
        done = 0
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_parse_chunk, root, [f.rel for f in c]) for c in chunks]
            for fut in futures:
                part = fut.result()
                results.extend(part)
                done += len(part)
                if progress:
                    progress(done, total)
        return results


def _prepare(db: sqlite3.Connection, clozes: tuple[str, ...] = ()) -> sqlite3.Connection:
    """Tables of the index, dropped whenever the parser or the card settings changed."""
    from attnkb import search

    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    version = _parser_version() + repr(clozes)
    row = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
    if row is None or row[0] != version:
        with db:
            db.execute("DROP TABLE IF EXISTS notes")
            search.drop(db)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (version,))
    db.execute(
        "CREATE TABLE IF NOT EXISTS notes (path TEXT PRIMARY KEY, size INTEGER,"
        " mtime_ns INTEGER, summary TEXT, data TEXT)"
    )
    search.create(db)
    return db


def read_text(root: Path, rel: str) -> str:
    from attnkb.note import decode

    return decode((root / rel).read_bytes())[0]
