"""Finding the vault, walking its notes, and the incremental index cache.

Parsing Markdown costs ~0.5 s per MB, so a 10,000-note vault is indexed once and then kept in
``.attnkb/index.sqlite`` keyed by path, size and mtime; only changed files are parsed again.
The cache is disposable: delete it and it is rebuilt.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from attnkb import config
from attnkb.config import CONFIG_FILE
from attnkb.errors import UsageError
from attnkb.exclude import Exclude
from attnkb.findings import Finding, Problem
from attnkb.plural import counted

if TYPE_CHECKING:
    from attnkb.cards import CardSettings
    from attnkb.note import Note
    from attnkb.srs.cards import DeckNote

STATE_DIR = ".attnkb"
INDEX_FILE = "index.sqlite"
PARALLEL_THRESHOLD = 64  # below this many changed files a process pool costs more than it saves

Progress = Callable[[int, int], None]
T = TypeVar("T")
# the index's columns in table order: small ones first (see Index)
COLUMNS = ("path", "size", "mtime_ns", "skipped", "summary", "deck", "digest", "data", "answers")


class Located(NamedTuple):
    """The vault a command works on, and how it was found: ``"option"`` (--vault), ``"env"``
    ($ATTNKB_VAULT), ``"state"`` (a folder holding .attnkb/), or the two guesses a user should
    be told about, ``"notes"`` (./notes) and ``"cwd"`` (the working directory)."""

    root: Path
    how: str

    @property
    def guessed(self) -> bool:
        return self.how in ("notes", "cwd")


def locate(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Located:
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
        return Located(root, "option" if explicit else "env")
    ceilings = _ceilings()
    for folder in (cwd, *cwd.parents):
        if folder in ceilings:
            break
        if (folder / STATE_DIR).is_dir():
            return Located(folder, "state")
    if (cwd / "notes").is_dir():
        return Located(cwd / "notes", "notes")
    return Located(cwd, "cwd")


def find_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """The vault's folder, as :func:`locate` finds it."""
    return locate(explicit, cwd).root


def _ceilings() -> set[Path]:
    listed = os.environ.get("ATTNKB_CEILING_DIRECTORIES", "")
    return {Path(p).expanduser().resolve() for p in listed.split(os.pathsep) if p.strip()}


def init(root: Path) -> Path:
    """Create ``.attnkb/`` with its git files (idempotent; an older ``.gitignore`` gets the
    negations that keep the review logs versioned)."""
    from attnkb.srs.log import write_git_files

    state = root / STATE_DIR
    try:
        state.mkdir(parents=True, exist_ok=True)
        write_git_files(state, keep_versioned=True)
    except OSError as exc:
        raise UsageError(f"cannot create {STATE_DIR}/: {exc.strerror}", path=str(root)) from exc
    return state


class FileStat(NamedTuple):
    """A note file as listed: path relative to the vault, size and modification time."""

    rel: str
    size: int
    mtime_ns: int


def _name(entry: os.DirEntry) -> str:
    return entry.name


def readable(rel: str) -> str:
    """A path as a user can read and type it: bytes that are not UTF-8 (kept by the OS as
    surrogates) shown as ``\\xe9``."""
    return os.fsencode(rel).decode("utf-8", errors="backslashreplace")


def walk(
    root: Path,
    max_bytes: int | None = None,
    skipped: list[Finding] | None = None,
    exclude: Exclude | None = None,
) -> Iterator[FileStat]:
    """Every ``*.md`` under root, skipping hidden folders and files, AppleDouble ``._*``
    files, symlink loops and what ``exclude`` (``[vault] exclude``) matches; other symlinks are
    followed once (each real file counted once).

    A name that is not UTF-8 cannot be stored, logged or printed faithfully, and a file over
    ``max_bytes`` would be read whole: both are left out and, when ``skipped`` is given,
    reported there instead of vanishing.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()

    def skip(rel: str, message: str, severity: str = "error") -> None:
        if skipped is not None:
            skipped.append(Finding(readable(rel), 0, "skipped", message, severity))

    def visit(folder: str, rel: str) -> Iterator[FileStat]:
        try:
            st = os.stat(folder)
            entries = sorted(os.scandir(folder), key=_name)
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                est = entry.stat()  # follows symlinks; a dangling one raises
            except OSError:
                continue
            mode = est.st_mode
            is_dir = S_ISDIR(mode)
            if not is_dir and not (S_ISREG(mode) and name[-3:].lower() == ".md"):
                continue
            if not _is_utf8(name):
                what = "folder" if is_dir else "file"
                skip(rel + name, f"{what} name is not valid UTF-8; skipped (rename it to include it)")
                continue
            if is_dir:
                if exclude is None or not exclude.prunes(rel + name + "/"):
                    yield from visit(entry.path, rel + name + "/")
                continue
            if exclude is not None and exclude.matches(rel + name):
                continue
            fkey = (est.st_dev, est.st_ino)
            if fkey in seen_files:
                continue
            seen_files.add(fkey)
            if max_bytes is not None and est.st_size > max_bytes:
                skip(
                    rel + name,
                    f"{_mb(est.st_size)} is over the {_mb(max_bytes)} limit ([vault] max_note_bytes"
                    f" in {STATE_DIR}/{CONFIG_FILE}); skipped",
                    "warning",
                )
                continue
            yield FileStat(rel + name, est.st_size, est.st_mtime_ns)

    yield from visit(str(root), "")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{counted(size, 'byte')}"


def code_version(*names: str) -> str:
    """A digest of attnkb's version and the named source files (relative to the package):
    a cache keyed by it never outlives the code that filled it."""
    import hashlib

    import attnkb

    digest = hashlib.sha1(attnkb.__version__.encode())
    here = Path(__file__).parent
    for name in names:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def _parser_version() -> str:
    """Changes whenever the parsing code does, so a cache never outlives its parser."""
    return code_version(
        "note.py",
        "markdown.py",
        "frontmatter.py",
        "vault.py",
        "search.py",
        "cards.py",
        "srs/cards.py",
        "srs/history.py",
    )


def to_json(value: object) -> bytes:
    """JSON as the index stores it, in UTF-8: non-ASCII kept as is (CJK text takes a third of
    the room and a quarter of the decoding time of ``\\u`` escapes), escaped only when a string
    holds a lone surrogate (YAML's ``"\\ud800"``), which SQLite cannot store.

    Bytes, because a large vault is parsed in worker processes: a str would be encoded to be
    sent, decoded on arrival and encoded again for SQLite, bytes are sent and stored as they
    are (inserted as ``CAST(? AS TEXT)``, so the column still holds text)."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value).encode("ascii")


@dataclass
class Parsed:
    """One file's index row (JSON columns, see :class:`Index`) and its full-text row, or why
    the file was skipped."""

    size: int
    mtime_ns: int
    summary: bytes | None = None  # JSON in UTF-8 (see to_json)
    deck: bytes | None = None
    digest: str | None = None
    data: bytes | None = None
    answers: bytes | None = None
    skipped: str | None = None  # JSON of {"line", "message"}
    document: tuple[bytes, ...] | None = None


class NotANote(Exception):
    """A file the index leaves out (binary, or grown over the size limit), and why; ``quiet``
    when that is no news to the user (a checklist attnkb wrote)."""

    def __init__(self, line: int, message: str, quiet: bool = False):
        super().__init__(message)
        self.line = line
        self.message = message
        self.quiet = quiet


# the stamp ``due --markdown`` writes near the top of a checklist (see interop/checklist.py)
CHECKLIST_STAMP = re.compile(rb"^<!-- attnkb due (\S+) -->\r?$", re.MULTILINE)
STAMP_WITHIN = 4096  # bytes from the start: a note quoting the stamp further down stays a note


def is_checklist(data: bytes) -> bool:
    """Whether these bytes are a checklist attnkb wrote: a list of notes, not a note."""
    return CHECKLIST_STAMP.search(data, 0, STAMP_WITHIN) is not None


def read_note(root: Path, rel: str, max_bytes: int | None = None) -> tuple[Note, str, str]:
    """A note as the index reads it: the note, its text and the SHA-1 of its bytes. An
    unreadable file is a note with that problem; a binary or oversized one raises NotANote."""
    import hashlib

    from attnkb.note import Note, decode, nul_line, parse_text

    try:
        with open(os.path.join(root, rel), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            cap = size if max_bytes is None else min(size, max_bytes)
            # read as much as the file holds: read(max_bytes + 1) makes a 20 MB buffer per note
            data = f.read(cap + 1)
            if len(data) > cap:  # it grew since: read on, up to the limit
                data += f.read(None if max_bytes is None else max_bytes + 1 - len(data))
    except OSError as exc:
        note = Note(path=rel, title=Path(rel).stem)
        note.problems.append(Problem(1, f"cannot read: {exc.strerror}"))
        return note, "", ""
    if max_bytes is not None and len(data) > max_bytes:  # it grew since it was listed
        raise NotANote(0, f"grew over the {_mb(max_bytes)} limit while being read; skipped")
    line = nul_line(data)
    if line:
        raise NotANote(line, "holds a NUL byte: a binary file, not a note; skipped")
    if is_checklist(data):
        raise NotANote(0, "a checklist written by `attnkb due --markdown`, not a note", quiet=True)
    text, problems = decode(data)
    return (
        parse_text(rel, text, problems, config.vault_cards(Path(root))),
        text,
        hashlib.sha1(data).hexdigest(),
    )


def _parse_file(root: str, file: FileStat, max_bytes: int | None = None, bulk: bool = False) -> Parsed:
    from attnkb import search
    from attnkb.srs.cards import DeckNote

    try:
        note, text, digest = read_note(Path(root), file.rel, max_bytes)
    except NotANote as exc:
        return Parsed(
            file.size,
            file.mtime_ns,
            skipped=json.dumps({"line": exc.line, "message": exc.message, "quiet": exc.quiet}),
        )
    whole = note.to_dict()
    answers = [card.pop("answer") for card in whole["cards"]]  # often most of the note: apart
    return Parsed(
        file.size,
        file.mtime_ns,
        summary=to_json(note.summary()),
        deck=DeckNote.of(note).to_json(),
        digest=digest,
        data=to_json(whole),
        answers=to_json(answers),
        document=search.document(note, text, bulk=bulk),
    )


def _parse_chunk(root: str, files: list[FileStat], max_bytes: int | None) -> list[Parsed]:
    """A worker process's share of a large refresh."""
    return [_parse_file(root, f, max_bytes, bulk=True) for f in files]


# the JSON columns come as UTF-8 bytes (see to_json) and are stored as text
_VALUES = ", ".join(["?"] * 3 + ["CAST(? AS TEXT)"] * (len(COLUMNS) - 3))


class Index:
    """The notes of a vault, from the cache where it is fresh and from disk where not.

    Each row keeps what each kind of command needs apart, small columns first so SQLite never
    follows the overflow pages of the large ones: ``summary`` (``list``), ``deck`` (the cards
    of ``due``, ``review`` and ``stats``, without answers), ``digest`` (the SHA-1 of the file,
    which keys results cached for ``check``), ``data`` (the whole note but its cards' answers)
    and ``answers`` (a heading card's answer is its whole section).

    Reading never creates ``.attnkb/`` (that would make any folder a vault for everything
    below it): without one, notes are parsed every time, unless ``create`` says this command
    writes anyway. After a load, ``findings`` holds the files left out and anything wrong with
    the cache, for the caller to show.
    """

    def __init__(self, root: Path, create: bool = False):
        self.root = root
        self.create = create
        self.findings: list[Finding] = []
        self.digests: dict[str, str] = {}  # after a load: the SHA-1 of each note's bytes
        self.changed = False  # after a load: whether any note was new, changed or gone
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
        if not self._cache_allowed():
            return None
        try:
            return _connect(path)
        except sqlite3.OperationalError:
            return None  # locked, or a read-only vault: it still works, just without the cache
        except sqlite3.DatabaseError as exc:
            return self._rebuild(path, exc)
        except OSError:
            return None

    def _cache_allowed(self) -> bool:
        """The write rule for the cache and the files SQLite keeps beside it: a link planted
        there out of the vault is never opened; the command runs without the cache."""
        from attnkb.errors import WriteRefused
        from attnkb.files import inside_vault

        cache = self.root / STATE_DIR / INDEX_FILE
        try:
            for suffix in ("", "-journal", "-wal", "-shm"):
                inside_vault(Path(f"{cache}{suffix}"), self.root)
        except WriteRefused as exc:
            message = f"{exc.message}; working without the index cache"
            self.findings.append(Finding(exc.path or INDEX_FILE, 0, "index", message, "warning"))
            return False
        return True

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

    def ask(self, question: Callable[[sqlite3.Connection], T], progress: Progress | None = None) -> T:
        """``question`` (a full-text query) answered by the index with its full-text table up
        to date; where there is no cache (a read-only vault, or a folder that is no vault), by an
        in-memory index built for this run.

        Checking that the cache is fresh means listing the vault, which takes as long as the
        query: so the query is put to the cache as it stands, in a second thread (SQLite works
        without the GIL), while the vault is listed, and put again only if a note had changed."""
        from concurrent.futures import ThreadPoolExecutor, wait

        early = None
        cache = self.root / STATE_DIR / INDEX_FILE
        if cache.is_file() and self._cache_allowed():
            pool = ThreadPoolExecutor(max_workers=1)
            early = pool.submit(_ask_as_is, cache, question)
            pool.shutdown(wait=False)
        db = self._fresh_search_db(progress)
        try:
            if early is not None and not self.changed:
                try:
                    return early.result()
                except sqlite3.Error:
                    pass  # the cache was busy or being rebuilt: ask the fresh one
            return question(db)
        finally:
            if early is not None:
                wait([early])  # its connection is closed before the vault is left to others
            db.close()

    def _fresh_search_db(self, progress: Progress | None) -> sqlite3.Connection:
        self.findings = []
        self._db = self._open() or _prepare(sqlite3.connect(":memory:"))
        self._refresh((), progress)
        if self._db is None:  # the cache was corrupt and could not be made again
            self._db = _prepare(sqlite3.connect(":memory:"))
            self._refresh((), progress)
        return self._db

    def notes(self, progress: Progress | None = None, answers: bool = True) -> list[Note]:
        """Every note, whole: links, cards and examples included; ``answers=False`` leaves the
        cards' answers empty (``check`` and the graph never show them, and they are most of
        the bytes)."""
        from attnkb.note import Note

        out = []
        for row in self._load(("data", "answers") if answers else ("data",), progress):
            whole = json.loads(row[0])
            texts = json.loads(row[1]) if answers else [""] * len(whole["cards"])
            for card, text in zip(whole["cards"], texts, strict=True):
                card["answer"] = text
            out.append(Note.from_dict(whole))
        return out

    def summaries(self, progress: Progress | None = None) -> list[dict]:
        """Every note as :meth:`Note.summary` gives it, without decoding whole notes."""
        return [json.loads(raw) for (raw,) in self._load(("summary",), progress)]

    def deck_notes(self, progress: Progress | None = None) -> list[DeckNote]:
        """What the deck needs of every note (cards without answers), without whole notes."""
        from attnkb.srs.cards import DeckNote

        return [DeckNote.from_json(raw) for (raw,) in self._load(("deck",), progress)]

    def results(self, name: str, version: str) -> dict[str, str]:
        """Results named ``name`` kept for notes whose bytes are unchanged since (by digest)
        and computed by the same code (``version``): path to JSON."""
        db = self._open()
        if db is None:
            return {}
        try:
            rows = db.execute(
                "SELECT r.path, r.value FROM results r JOIN notes n ON n.path = r.path AND"
                " n.digest = r.digest WHERE r.name = ? AND r.version = ?",
                (name, version),
            )
            return dict(rows)
        except sqlite3.Error:
            return {}
        finally:
            db.close()

    def keep_results(self, name: str, version: str, rows: list[tuple[str, str, str]]) -> None:
        """Keep (path, digest of the bytes the result was computed from, JSON) for later runs;
        best effort, as everything in the cache."""
        db = self._open()
        if db is None or not rows:
            return
        try:
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
                    [(name, path, digest, version, value) for path, digest, value in rows],
                )
        except sqlite3.Error:
            pass
        finally:
            db.close()

    def derived(self, name: str, key: str) -> str | None:
        """A result about the whole vault (``name``) kept for inputs digested in ``key``."""
        db = self._open()
        if db is None:
            return None
        try:
            row = db.execute("SELECT value FROM derived WHERE name = ? AND key = ?", (name, key)).fetchone()
            return row[0] if row else None
        except sqlite3.Error:
            return None
        finally:
            db.close()

    def keep_derived(self, name: str, key: str, value: str) -> None:
        db = self._open()
        if db is None:
            return
        try:
            with db:
                db.execute("INSERT OR REPLACE INTO derived VALUES (?, ?, ?)", (name, key, value))
        except sqlite3.Error:
            pass
        finally:
            db.close()

    def _load(self, columns: tuple[str, ...], progress: Progress | None) -> list[tuple[str | bytes, ...]]:
        """``columns`` (JSON: text from the cache, UTF-8 bytes where just parsed) of each note,
        in walk order, parsing what is stale."""
        self.findings = []
        self._db = self._open()
        try:
            return self._refresh(columns, progress)
        finally:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _refresh(
        self, columns: tuple[str, ...], progress: Progress | None, retry: bool = True
    ) -> list[tuple[str | bytes, ...]]:
        """Bring the cache up to date; return ``columns`` of every note (none when empty). A
        cache found corrupt on the way is replaced by a fresh one (``self._db``) and filled again."""
        try:
            return self._sync(columns, progress)
        except sqlite3.DatabaseError as exc:
            if self._db is not None:
                self._db.close()
            corrupt = retry and not isinstance(exc, sqlite3.OperationalError)  # not just locked
            self._db = self._rebuild(self.root / STATE_DIR / INDEX_FILE, exc) if corrupt else None
            return self._refresh(columns, progress, retry=False)

    def _sync(self, columns: tuple[str, ...], progress: Progress | None) -> list[tuple[str | bytes, ...]]:
        settings = config.vault(self.root / STATE_DIR)
        self.findings.extend(settings.warnings)
        max_bytes = settings.max_note_bytes
        files = list(walk(self.root, max_bytes, self.findings, settings.exclude))
        cached: dict[str, tuple] = {}
        if self._db is not None:
            wanted = "".join(f", {c}" for c in ("digest", *columns))  # our own column names
            try:
                cached = {
                    row[0]: row[1:]
                    for row in self._db.execute(f"SELECT path, size, mtime_ns, skipped{wanted} FROM notes")
                }
            except sqlite3.OperationalError:
                cached = {}
        stale = [f for f in files if (hit := cached.get(f.rel)) is None or hit[:2] != (f.size, f.mtime_ns)]
        gone = set(cached) - {f.rel for f in files}
        self.changed = bool(stale or gone)
        parsed: dict[str, Parsed] = {}
        # each chunk is written as it comes, while the workers parse the next ones, so that
        # indexing the full text overlaps the parsing instead of following it
        db = self._db
        writing = db is not None and bool(stale or gone)
        for chunk in self._parse(stale, max_bytes, progress):
            parsed.update(chunk)
            if db is not None and writing:
                writing = self._write(db, chunk, (), cold=not cached)
            for entry in chunk.values():
                entry.document = None  # indexed: the largest part of a note need not be kept
        if db is not None and writing and gone:
            self._write(db, {}, gone, cold=False)
        if db is not None and writing:
            try:
                db.commit()
            except sqlite3.OperationalError:  # locked at the last moment: caught up next time
                writing = False
        if not writing and db is not None and db.in_transaction:
            db.rollback()
        out = []
        self.digests = {}
        for f in files:
            if f.rel in parsed:
                entry = parsed[f.rel]
                skipped, digest = entry.skipped, entry.digest
                row = tuple(getattr(entry, c) for c in columns)
            else:
                skipped, digest, row = cached[f.rel][2], cached[f.rel][3], cached[f.rel][4:]
            if digest:
                self.digests[f.rel] = digest
            if skipped is not None:
                why = json.loads(skipped)
                if not why.get("quiet"):
                    self.findings.append(Finding(f.rel, why["line"], "skipped", why["message"]))
            elif columns:
                out.append(row)
        return out

    def _write(
        self, db: sqlite3.Connection, chunk: dict[str, Parsed], gone: Iterable[str], cold: bool
    ) -> bool:
        """Rows of parsed files replaced and gone ones deleted, in the transaction the caller
        commits; False (and nothing kept) when the cache cannot be written: locked or read-only,
        this run's notes are still right and the cache catches up later."""
        from attnkb import search

        try:
            db.executemany(
                f"INSERT OR REPLACE INTO notes ({', '.join(COLUMNS)}) VALUES ({_VALUES})",
                [
                    (rel, p.size, p.mtime_ns, *(getattr(p, c) for c in COLUMNS[3:]))
                    for rel, p in chunk.items()
                ],
            )
            db.executemany("DELETE FROM notes WHERE path = ?", [(p,) for p in gone])
            search.sync(db, {rel: p.document for rel, p in chunk.items()}, gone, cold=cold)
        except sqlite3.OperationalError:
            if db.in_transaction:
                db.rollback()
            return False
        return True

    def _parse(
        self, stale: list[FileStat], max_bytes: int, progress: Progress | None
    ) -> Iterator[dict[str, Parsed]]:
        """The stale files parsed, a chunk at a time (path to row), in order."""
        total = len(stale)
        root = str(self.root)
        workers = min(os.cpu_count() or 1, 8)
        if total < PARALLEL_THRESHOLD or workers < 2:
            for i, f in enumerate(stale):
                yield {f.rel: _parse_file(root, f, max_bytes)}
                if progress:
                    progress(i + 1, total)
            return
        from concurrent.futures import ProcessPoolExecutor

        chunk = 32
        chunks = [stale[i : i + chunk] for i in range(0, total, chunk)]
        done = 0
        with ProcessPoolExecutor(max_workers=workers, initializer=_yield_to_writer) as pool:
            futures = [pool.submit(_parse_chunk, root, c, max_bytes) for c in chunks]
            for c, fut in zip(chunks, futures, strict=True):
                part = fut.result()
                yield {f.rel: p for f, p in zip(c, part, strict=True)}
                done += len(part)
                if progress:
                    progress(done, total)


def _yield_to_writer() -> None:
    """A worker runs below the process that writes what it parses: otherwise, on a machine with
    as many cores as workers, the writer falls behind and is left with the full-text rows of
    the last chunks after the workers are done (5% of a cold index of 10,000 notes, 2 cores)."""
    if hasattr(os, "nice"):  # not on Windows; lowering one's own priority is always allowed
        os.nice(5)


def _ask_as_is(cache: Path, question: Callable[[sqlite3.Connection], T]) -> T:
    """``question`` put to the cache as it stands, read-only (see :meth:`Index.ask`)."""
    db = sqlite3.connect(f"{cache.as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return question(db)
    finally:
        db.close()


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10)
    # The cache is disposable: a crash of the program still rolls back through the journal, and
    # a cache an OS crash damaged is found corrupt and rebuilt (see Index._rebuild). Not waiting
    # for the disk makes the first index of a large vault a third faster to write.
    db.execute("PRAGMA synchronous = OFF")
    try:
        return _prepare(db, config.vault_cards(path.parent.parent))  # path: <vault>/.attnkb/index.sqlite
    except BaseException:
        db.close()
        raise


def _prepare(db: sqlite3.Connection, cards: CardSettings | None = None) -> sqlite3.Connection:
    """Tables of the index, dropped whenever the parser or the card settings changed."""
    from attnkb import search

    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    version = _parser_version() + repr(cards)
    row = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
    if row is None or row[0] != version:
        with db:
            db.execute("DROP TABLE IF EXISTS notes")
            db.execute("DROP TABLE IF EXISTS results")
            db.execute("DROP TABLE IF EXISTS derived")
            search.drop(db)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (version,))
    db.execute(
        "CREATE TABLE IF NOT EXISTS notes (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
        " skipped TEXT, summary TEXT, deck TEXT, digest TEXT, data TEXT, answers TEXT)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS results (name TEXT, path TEXT, digest TEXT, version TEXT,"
        " value TEXT, PRIMARY KEY (name, path))"
    )
    db.execute("CREATE TABLE IF NOT EXISTS derived (name TEXT PRIMARY KEY, key TEXT, value TEXT)")
    search.create(db)
    return db


def read_text(root: Path, rel: str) -> str:
    from attnkb.note import decode

    return decode((root / rel).read_bytes())[0]
