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

from attnkb.errors import ConfigError, UsageError
from attnkb.findings import Finding, Problem
from attnkb.interop.obsidian_sr import vault_clozes

if TYPE_CHECKING:
    from attnkb.note import Note

STATE_DIR = ".attnkb"
INDEX_FILE = "index.sqlite"
CONFIG_FILE = "config.toml"
DEFAULT_MAX_NOTE_BYTES = 20_000_000
PARALLEL_THRESHOLD = 64  # below this many changed files a process pool costs more than it saves

Progress = Callable[[int, int], None]


def find_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """--vault, else $ATTNKB_VAULT, else the nearest ancestor holding .attnkb/, else ./notes,
    else the working directory.

    As with git's GIT_CEILING_DIRECTORIES, the search never climbs into a folder listed in
    $ATTNKB_CEILING_DIRECTORIES: a stray ``.attnkb/`` in /tmp or a shared home must not turn
    everything below it into one vault.
    """
    cwd = cwd or Path.cwd()
    chosen = explicit or os.environ.get("ATTNKB_VAULT")
    if chosen:
        root = (cwd / Path(chosen).expanduser()).resolve()
        if not root.is_dir():
            raise UsageError("vault is not a folder", path=str(chosen))
        return root
    ceilings = _ceilings()
    for folder in (cwd, *cwd.parents):
        if folder in ceilings:
            break
        if (folder / STATE_DIR).is_dir():
            return folder
    if (cwd / "notes").is_dir():
        return cwd / "notes"
    return cwd


def _ceilings() -> set[Path]:
    listed = os.environ.get("ATTNKB_CEILING_DIRECTORIES", "")
    return {Path(p).expanduser().resolve() for p in listed.split(os.pathsep) if p.strip()}


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


def readable(rel: str) -> str:
    """A path as a user can read and type it: bytes that are not UTF-8 (kept by the OS as
    surrogates) shown as ``\\xe9``."""
    return os.fsencode(rel).decode("utf-8", errors="backslashreplace")


def walk(
    root: Path, max_bytes: int | None = None, skipped: list[Finding] | None = None
) -> Iterator[FileStat]:
    """Every ``*.md`` under root, skipping hidden folders and files, AppleDouble ``._*``
    files and symlink loops; other symlinks are followed once (each real file counted once).

    A name that is not UTF-8 cannot be stored, logged or printed faithfully, and a file over
    ``max_bytes`` would be read whole: both are left out and, when ``skipped`` is given,
    reported there instead of vanishing.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()

    def skip(rel: str, message: str, severity: str = "error") -> None:
        if skipped is not None:
            skipped.append(Finding(readable(rel), 0, "skipped", message, severity))

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
            is_dir = stat.S_ISDIR(est.st_mode)
            if not is_dir and not (stat.S_ISREG(est.st_mode) and name.lower().endswith(".md")):
                continue
            if not _is_utf8(name):
                what = "folder" if is_dir else "file"
                skip(child_rel, f"{what} name is not valid UTF-8; skipped (rename it to include it)")
                continue
            if is_dir:
                yield from visit(Path(entry.path), child_rel + "/")
                continue
            fkey = (est.st_dev, est.st_ino)
            if fkey in seen_files:
                continue
            seen_files.add(fkey)
            if max_bytes is not None and est.st_size > max_bytes:
                skip(
                    child_rel,
                    f"{_mb(est.st_size)} is over the {_mb(max_bytes)} limit ([vault] max_note_bytes"
                    f" in {STATE_DIR}/{CONFIG_FILE}); skipped",
                    "warning",
                )
                continue
            yield FileStat(child_rel, est.st_size, est.st_mtime_ns)

    yield from visit(root, "")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size} bytes"


def max_note_bytes(root: Path) -> int:
    """``[vault] max_note_bytes`` from the vault's config, else 20 MB: a note is read whole
    and parsed, so a stray multi-GB ``.md`` must not be."""
    import tomllib

    path = root / STATE_DIR / CONFIG_FILE
    if not path.is_file():
        return DEFAULT_MAX_NOTE_BYTES
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # Notepad writes a BOM
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(path)) from exc
    table = data.get("vault", {})
    if not isinstance(table, dict):
        raise ConfigError("[vault] must be a table", str(path))
    value = table.get("max_note_bytes", DEFAULT_MAX_NOTE_BYTES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"[vault] max_note_bytes must be a whole number of bytes >= 1, got {value!r}", str(path)
        )
    return value


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


@dataclass
class Parsed:
    """One file's index row: the summary and whole-note JSON and its full-text row, or why
    the file was skipped."""

    summary: str | None = None
    data: str | None = None
    skipped: str | None = None  # JSON of {"line", "message"}
    document: tuple[str, ...] | None = None


def _parse_file(root: str, rel: str, max_bytes: int | None = None) -> Parsed:
    from attnkb import search
    from attnkb.note import Note, decode, nul_line, parse_text

    text = ""
    try:
        with open(Path(root) / rel, "rb") as f:
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
    except OSError as exc:
        note = Note(path=rel, title=Path(rel).stem)
        note.problems.append(Problem(1, f"cannot read: {exc.strerror}"))
    else:
        if max_bytes is not None and len(data) > max_bytes:  # it grew since it was listed
            return _skip(0, f"grew over the {_mb(max_bytes)} limit while being read; skipped")
        line = nul_line(data)
        if line:
            return _skip(line, "holds a NUL byte: a binary file, not a note; skipped")
        text, problems = decode(data)
        note = parse_text(rel, text, problems, vault_clozes(Path(root)))
    return Parsed(json.dumps(note.summary()), json.dumps(note.to_dict()), None, search.document(note, text))


def _skip(line: int, message: str) -> Parsed:
    return Parsed(skipped=json.dumps({"line": line, "message": message}))


def _parse_chunk(root: str, rels: list[str], max_bytes: int | None) -> list[Parsed]:
    return [_parse_file(root, rel, max_bytes) for rel in rels]


class Index:
    """The notes of a vault, from the cache where it is fresh and from disk where not.

    Each row keeps a note's summary apart from the whole note, so ``list`` reads and decodes
    only the small part; the summary column comes first so SQLite never touches the overflow
    pages of the large one.

    Reading never creates ``.attnkb/`` (that would make any folder a vault for everything
    below it): without one, notes are parsed every time, unless ``create`` says this command
    writes anyway. After a load, ``findings`` holds the files left out and anything wrong with
    the cache, for the caller to show.
    """

    def __init__(self, root: Path, create: bool = False):
        self.root = root
        self.create = create
        self.findings: list[Finding] = []
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection | None:
        state = self.root / STATE_DIR
        if not state.is_dir():
            if not self.create:
                return None
            try:
                state.mkdir(exist_ok=True)
            except OSError:
                return None
        path = state / INDEX_FILE
        try:
            return _connect(path)
        except sqlite3.OperationalError:
            return None  # locked, or a read-only vault: it still works, just without the cache
        except sqlite3.DatabaseError as exc:
            return self._rebuild(path, exc)
        except OSError:
            return None

    def _rebuild(self, path: Path, exc: sqlite3.DatabaseError) -> sqlite3.Connection | None:
        """A corrupt cache is deleted and built again, once, and the user is told."""
        message = f"the index cache is corrupt ({exc}); deleted it and rebuilt it"
        self.findings.append(Finding(f"{STATE_DIR}/{INDEX_FILE}", 0, "index", message, "warning"))
        try:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return _connect(path)
        except (OSError, sqlite3.Error):
            return None

    def search_db(self, progress: Progress | None = None) -> sqlite3.Connection:
        """The index with its full-text table up to date; where there is no cache (a read-only
        vault, or a folder that is no vault) an in-memory index built for this run."""
        self.findings = []
        self._db = self._open() or _prepare(sqlite3.connect(":memory:"))
        self._refresh(None, progress)
        if self._db is None:  # the cache was corrupt and could not be made again
            self._db = _prepare(sqlite3.connect(":memory:"))
            self._refresh(None, progress)
        return self._db

    def notes(self, progress: Progress | None = None) -> list[Note]:
        """Every note, whole: links, cards and examples included."""
        from attnkb.note import Note

        return [Note.from_dict(json.loads(raw)) for raw in self._load("data", progress)]

    def summaries(self, progress: Progress | None = None) -> list[dict]:
        """Every note as :meth:`Note.summary` gives it, without decoding whole notes."""
        return [json.loads(raw) for raw in self._load("summary", progress)]

    def _load(self, column: str, progress: Progress | None) -> list[str]:
        """The JSON text of ``column`` for each note, in walk order, parsing what is stale."""
        self.findings = []
        self._db = self._open()
        try:
            return self._refresh(column, progress)
        finally:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _refresh(self, column: str | None, progress: Progress | None, retry: bool = True) -> list[str]:
        """Bring the cache up to date; return ``column`` of every note (none when None). A cache
        found corrupt on the way is replaced by a fresh one (``self._db``) and filled again."""
        try:
            return self._sync(column, progress)
        except sqlite3.DatabaseError as exc:
            if self._db is not None:
                self._db.close()
            corrupt = retry and not isinstance(exc, sqlite3.OperationalError)  # not just locked
            self._db = self._rebuild(self.root / STATE_DIR / INDEX_FILE, exc) if corrupt else None
            return self._refresh(column, progress, retry=False)

    def _sync(self, column: str | None, progress: Progress | None) -> list[str]:
        from attnkb import search

        max_bytes = max_note_bytes(self.root)
        files = list(walk(self.root, max_bytes, self.findings))
        cached: dict[str, tuple[int, int, str | None, str | None]] = {}
        if self._db is not None:
            query = f"SELECT path, size, mtime_ns, {column or 'NULL'}, skipped FROM notes"  # column is ours
            try:
                cached = {row[0]: row[1:] for row in self._db.execute(query)}
            except sqlite3.OperationalError:
                cached = {}
        stale = [f for f in files if (hit := cached.get(f.rel)) is None or hit[:2] != (f.size, f.mtime_ns)]
        parsed = dict(zip((f.rel for f in stale), self._parse(stale, max_bytes, progress), strict=True))
        if self._db is not None:
            try:
                with self._db as db:
                    db.executemany(
                        "INSERT OR REPLACE INTO notes VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (
                                f.rel,
                                f.size,
                                f.mtime_ns,
                                parsed[f.rel].summary,
                                parsed[f.rel].data,
                                parsed[f.rel].skipped,
                            )
                            for f in stale
                        ],
                    )
                    gone = set(cached) - {f.rel for f in files}
                    db.executemany("DELETE FROM notes WHERE path = ?", [(p,) for p in gone])
                    search.sync(db, {rel: p.document for rel, p in parsed.items()}, gone, cold=not cached)
            except sqlite3.OperationalError:
                pass  # locked or read-only: this run's notes are right, the cache catches up later
        out = []
        for f in files:
            if f.rel in parsed:
                entry = parsed[f.rel]
                raw, skipped = (entry.summary if column == "summary" else entry.data), entry.skipped
            else:
                raw, skipped = cached[f.rel][2:]
            if skipped is not None:
                why = json.loads(skipped)
                self.findings.append(Finding(f.rel, why["line"], "skipped", why["message"]))
            elif raw is not None and column is not None:
                out.append(raw)
        return out

    def _parse(self, stale: list[FileStat], max_bytes: int, progress: Progress | None) -> list[Parsed]:
        total = len(stale)
        if total == 0:
            return []
        root = str(self.root)
        workers = min(os.cpu_count() or 1, 8)
        if total < PARALLEL_THRESHOLD or workers < 2:
            out = []
            for i, f in enumerate(stale):
                out.append(_parse_file(root, f.rel, max_bytes))
                if progress:
                    progress(i + 1, total)
            return out
        from concurrent.futures import ProcessPoolExecutor

        chunk = 32
        chunks = [stale[i : i + chunk] for i in range(0, total, chunk)]
        results: list[Parsed] = []
        done = 0
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_parse_chunk, root, [f.rel for f in c], max_bytes) for c in chunks]
            for fut in futures:
                part = fut.result()
                results.extend(part)
                done += len(part)
                if progress:
                    progress(done, total)
        return results


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10)
    try:
        return _prepare(db, vault_clozes(path.parent.parent))  # path: <vault>/.attnkb/index.sqlite
    except BaseException:
        db.close()
        raise


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
        " mtime_ns INTEGER, summary TEXT, data TEXT, skipped TEXT)"
    )
    search.create(db)
    return db


def read_text(root: Path, rel: str) -> str:
    from attnkb.note import decode

    return decode((root / rel).read_bytes())[0]
