"""The append-only review log: the source of truth for every card's memory.

Each device appends to its own file, ``.attnkb/reviews/<device>.log``, so that a vault kept in
git merges without conflicts; attnkb reads the union of all of them. One entry per line,
tab-separated (v2):

    <id>  <time>  <card>  <rating>  <duration ms>  <note path>  <undoes>  <fingerprint>

- ``id`` names the entry within its device's file; an undo (rating ``undo``) names in ``undoes``
  the entry of its own file it cancels, so an undo never removes someone else's review after a
  merge or with two sessions open, even where another device's file holds the same id.
- ``rating`` is 1-4 (Again, Hard, Good, Easy), ``undo``, or ``state:S,D,due``: a memory carried
  in from another tool (an Anki or obsidian-spaced-repetition import); stability S and
  difficulty D (``-`` keeps what the reviews before it built) and the due time, then for a card
  in its learning steps or a memory kept as Anki keeps it ``,PHASE:LEFT,anki|-`` (StartState).
- ``card`` and ``note path`` are %-encoded (``%``, control characters and line separators), so
  any file name round-trips and no name can forge a line.
- ``fingerprint`` hashes the note's content at review time; a renamed note takes its history
  along only when its content still matches (attnkb.srs.history).
- ``-`` stands for an empty field.

The v1 layout of ``.attnkb/reviews.log`` (time, card, rating, duration, path) is still read;
the first write migrates it into the device's file. A line that cannot be read is skipped with
a warning naming ``file:line``; it never disables reviewing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes

from attnkb.errors import AttnkbError
from attnkb.plural import counted

LEGACY_LOG = "reviews.log"
LOG_DIR = "reviews"
LOCK_FILE = "lock"
HEADER = (
    "# attnkb review log v2: id, time, card, rating (1-4, undo or state:S,D,due), duration ms,"
    " note path, undone entry id, note fingerprint; - for none; card and path %-encoded\n"
)
PHASES = ("review", "learning", "relearning")
MAX_STEPS_LEFT = 999  # Anki keeps the steps to go below 1000
SET_STATE = -1  # the rating of an entry that sets a memory instead of recording a review
UNDO = 0
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200  # beyond these a time is a corrupt line, not a review
MAX_DURATION_MS = 24 * 3600 * 1000
# Patterns in a folder's own .gitignore win over those of the folders above it (and over
# .git/info/exclude and the global excludes): these keep the logs and settings versioned even in
# a vault whose .gitignore has `*.log`, which left every review out of `git add -A`, silently.
KEEP_VERSIONED = """\
# attnkb: kept whatever a .gitignore above says (a `*.log` there would leave the reviews behind)
!reviews/
!reviews/*.log
!reviews.log
!config.toml
"""
GITIGNORE = (
    """\
# attnkb: the index is a cache rebuilt from the notes; config, templates and review logs are kept
index.sqlite
index.sqlite-*
lock
*.tmp
"""
    + KEEP_VERSIONED
)
GITATTRIBUTES = """\
# attnkb: review logs are append-only, so git keeps both sides' lines when it merges them
reviews/*.log merge=union
reviews.log merge=union
"""


@dataclass(frozen=True)
class StartState:
    """A memory carried in from another tool; ``None`` keeps the replayed stability/difficulty.

    ``phase`` and ``left`` carry a card that was in its (re)learning steps (Anki's ``type`` and
    ``left``: how many steps are still to go), so the next grade continues those steps. ``rounded``
    marks a memory kept the way Anki keeps one (stability to 4 decimals, difficulty to 3, after
    every review), so the card and its Anki twin stay equal. The plain ``state:S,D,due`` text is
    written for a review card without rounding (obsidian-sr imports, older Anki imports);
    otherwise ``state:S,D,due,PHASE:LEFT,anki|-``."""

    stability: float | None
    difficulty: float | None
    due: datetime
    phase: str = "review"  # review | learning | relearning
    left: int = 0
    rounded: bool = False

    def text(self) -> str:
        def num(x: float | None) -> str:
            return "-" if x is None else repr(round(x, 6))

        base = f"state:{num(self.stability)},{num(self.difficulty)},{self.due.isoformat()}"
        if self.phase == "review" and not self.left and not self.rounded:
            return base
        return f"{base},{self.phase}:{self.left},{'anki' if self.rounded else '-'}"

    @classmethod
    def parse(cls, text: str) -> StartState:
        parts = text.removeprefix("state:").split(",")
        if len(parts) not in (3, 5):
            raise ValueError("state has neither 3 nor 5 fields")
        s, d, due = parts[:3]
        stability = None if s == "-" else float(s)
        difficulty = None if d == "-" else float(d)
        if (stability is not None and not 0 < stability < 1e6) or (
            difficulty is not None and not 1 <= difficulty <= 10
        ):
            raise ValueError("state out of range")
        phase, left, rounded = "review", 0, False
        if len(parts) == 5:
            phase, _, steps = parts[3].partition(":")
            if (
                phase not in PHASES
                or not steps.isascii()
                or not steps.isdigit()
                or int(steps) > MAX_STEPS_LEFT
            ):
                raise ValueError(
                    f"state phase {parts[3]!r} is not review, learning or relearning with steps left"
                )
            if parts[4] not in ("anki", "-"):
                raise ValueError(f"state origin {parts[4]!r} is not anki or -")
            left, rounded = int(steps), parts[4] == "anki"
        return cls(stability, difficulty, _instant(due), phase, left, rounded)


@dataclass(frozen=True)
class Entry:
    """One line of the log. ``id`` defaults to a hash of the content, so that an import run
    twice writes nothing twice; a live grade gets a random id (``new_id``)."""

    time: datetime
    card: str
    rating: int  # 1..4, UNDO (0) naming ``undoes``, or SET_STATE with ``start``
    duration_ms: int
    path: str
    start: StartState | None = None
    id: str = ""
    undoes: str = ""  # for an undo: the id of the entry it cancels ("" in v1 logs: the latest)
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            body = "\t".join(self._fields()[1:-1])
            object.__setattr__(
                self, "id", hashlib.sha1(body.encode("utf-8", "surrogateescape")).hexdigest()[:16]
            )

    @property
    def is_review(self) -> bool:
        return 1 <= self.rating <= 4

    @property
    def is_undo(self) -> bool:
        return self.rating == UNDO

    def _fields(self) -> list[str]:
        if self.start is not None:
            rating = self.start.text()
        else:
            rating = "undo" if self.rating == UNDO else str(self.rating)
        return [
            self.id,
            self.time.isoformat(),
            encode(self.card),
            rating,
            str(self.duration_ms),
            encode(self.path),
            self.undoes or "-",
            self.fingerprint or "-",
        ]

    def line(self) -> str:
        return "\t".join(self._fields()) + "\n"


def new_id() -> str:
    return secrets.token_hex(8)


# --- encoding names ---------------------------------------------------------------------------

_UNSAFE = re.compile(r"[%\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode("utf-8", "surrogateescape"))


def encode(name: str) -> str:
    """``%``, control characters and line separators as %XX of their bytes; file names that
    are not UTF-8 (surrogate escapes) as their raw bytes. Everything else stays readable."""
    return _UNSAFE.sub(_escape, name)


def decode(text: str) -> str:
    if "%" not in text:
        return text  # nothing was escaped: most names, and every card id
    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


# --- reading ----------------------------------------------------------------------------------


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"time {text!r} is out of range")
    moment.utcoffset()  # an impossible offset raises here, not later
    return moment


def _rating(text: str) -> tuple[int, StartState | None]:
    if text.startswith("state:"):
        return SET_STATE, StartState.parse(text)
    if text == "undo":
        return UNDO, None
    if text not in ("1", "2", "3", "4"):
        raise ValueError(f"rating {text!r} is not 1-4, undo or state:")
    return int(text), None


def _duration(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > MAX_DURATION_MS:
        raise ValueError(f"duration {text!r} is not a whole number of milliseconds")
    return int(text)


_ID = re.compile(r"[0-9a-zA-Z_-]{1,64}")


def parse_line(line: str) -> Entry:
    """One log line (without its newline), v2 or v1; ValueError says what is wrong."""
    parts = line.split("\t")
    if len(parts) == 8:
        ident, time, card, rating, duration, path, undoes, fingerprint = parts
        if not _ID.fullmatch(ident):
            raise ValueError("bad entry id")
        value, start = _rating(rating)
        return Entry(
            _instant(time),
            decode(card),
            value,
            _duration(duration),
            decode(path),
            start,
            ident,
            "" if undoes == "-" else undoes,
            "" if fingerprint == "-" else fingerprint,
        )
    if len(parts) == 5:  # v1: time, card, rating, duration, path (tab-free names only)
        value, start = _rating(parts[2])
        return Entry(_instant(parts[0]), parts[1], value, _duration(parts[3]), parts[4], start)
    raise ValueError(f"{counted(len(parts), 'field')}, not 8")


def read_file(path: Path, warnings: list[str]) -> list[Entry]:
    """Every readable entry of one log file; each unreadable line adds a warning."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        warnings.append(f"{path}: cannot read the review log: {exc.strerror}; its reviews are left out")
        return []
    lines = data.split(b"\n")
    out = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip() or raw.startswith(b"#"):
            continue
        if number == len(lines):
            warnings.append(f"{path}:{number}: an unfinished last line (a write cut short); skipped")
            continue
        try:
            out.append(parse_line(raw.decode("utf-8").removesuffix("\r")))
        except UnicodeDecodeError:
            warnings.append(f"{path}:{number}: not valid UTF-8; line skipped")
        except (ValueError, OverflowError) as exc:
            warnings.append(f"{path}:{number}: not a review entry ({exc}); line skipped")
    return out


def device_name() -> str:
    """``ATTNKB_DEVICE``, else the host name, made safe as a file name. Never read from a
    versioned file: every clone shares those."""
    raw = os.environ.get("ATTNKB_DEVICE") or socket.gethostname()
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip(".-")[:64]
    return safe or "device"


class ReviewLog:
    def __init__(self, state_dir: Path, device: str | None = None):
        self.dir = state_dir
        self.device = device or device_name()
        self.path = state_dir / LOG_DIR / f"{self.device}.log"  # where this device appends
        self.legacy = state_dir / LEGACY_LOG
        self.root = state_dir.parent  # the vault: every write stays inside it
        self.warnings: list[str] = []
        self.undone: set[Entry] = set()  # after ``entries()``: what the undos cancel

    def files(self) -> list[Path]:
        folder = self.dir / LOG_DIR
        # regular files only: a log linked to a device or a pipe would never end or never come
        found = sorted(p for p in folder.glob("*.log") if p.is_file()) if folder.is_dir() else []
        return [*found, self.legacy] if self.legacy.is_file() else found

    def entries(self) -> list[Entry]:
        """The union of every device's entries, exact duplicates dropped, in time order.
        ``warnings`` then holds one message per line that could not be read, and ``undone``
        the entries an undo cancels.

        An entry is named by its device and its id: an undo cancels the entry of that id in
        its own device's file (the session that graded wrote both there), never one another
        device holds under the same id with other content. An exact copy of an entry in two
        files is one entry, cancelled by an undo in either."""
        self.warnings = []
        seen: set[Entry] = set()
        out = []
        by_id: dict[tuple[Path, str], list[Entry]] = {}
        undos: list[tuple[Path, str]] = []
        for file in self.files():
            read = read_file(file, self.warnings)
            for entry in resolve_legacy_undos(read) if file == self.legacy else read:
                by_id.setdefault((file, entry.id), []).append(entry)
                if entry.is_undo and entry.undoes:
                    undos.append((file, entry.undoes))
                if entry not in seen:
                    seen.add(entry)
                    out.append(entry)
        self.undone = {e for key in undos for e in by_id.get(key, ())}
        out.sort(key=lambda e: e.time)
        return out

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive lock for a write (log line plus note update) across processes."""
        from attnkb import files

        files.make_dirs(self.dir, self.root)
        with files.lock(self.dir / LOCK_FILE, self.root):
            yield

    def append(self, entry: Entry, *more: Entry) -> None:
        """Write the whole line or nothing: a short write is continued, a failed one (full
        disk, file size limit) is cut back off and raised, so the caller never records a
        grade the log lacks. ``more`` entries (an import) go in the same write and fsync.
        Call under ``locked()``."""
        from attnkb import files

        files.make_dirs(self.path.parent, self.root)
        write_git_files(self.dir)
        if self.legacy.exists():
            self._migrate()
        fd = files.open_append(self.path, self.root)  # never through a link out of the vault
        try:
            size = os.fstat(fd).st_size
            # a line cut short by a crash must not swallow this one
            lead = "\n" if size and os.pread(fd, 1, size - 1) != b"\n" else ""
            data = ((HEADER if not size else lead) + "".join(e.line() for e in (entry, *more))).encode(
                "utf-8", "surrogateescape"
            )
            try:
                files.write_all(fd, data)
                os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise AttnkbError(
                    f"cannot write the review log ({exc.strerror or exc}); grade not saved", str(self.path)
                ) from exc
        finally:
            os.close(fd)

    def _migrate(self) -> None:
        """Move a v1 ``reviews.log`` into this device's file, ids resolved, then remove it."""
        from attnkb.files import atomic_write

        warnings: list[str] = []
        old = read_file(self.legacy, warnings)
        current = read_file(self.path, warnings)
        moved = [e for e in resolve_legacy_undos(old) if e not in set(current)]
        atomic_write(self.path, HEADER + "".join(e.line() for e in [*current, *moved]), self.root)
        self.legacy.unlink()


def resolve_legacy_undos(entries: list[Entry]) -> list[Entry]:
    """v1 undo lines named only the card: give each the id of the card's latest review that
    was not undone yet, as v1 replay understood it."""
    from dataclasses import replace

    stacks: dict[tuple[str, str], list[str]] = {}
    out = []
    for e in sorted(entries, key=lambda e: e.time):
        stack = stacks.setdefault((e.path, e.card), [])
        if e.is_undo and not e.undoes:
            if not stack:
                continue
            e = replace(e, undoes=stack.pop(), id="")  # a fresh id from the new content
        elif not e.is_undo:
            stack.append(e.id)
        out.append(e)
    return out


def write_git_files(state_dir: Path, keep_versioned: bool = False) -> None:
    """``.attnkb/.gitignore`` (the cache is not versioned) and ``.gitattributes`` (logs merge
    by union), unless the user already has their own. ``keep_versioned`` (``init``) also adds
    the negations that keep the logs versioned to a ``.gitignore`` that lacks them (one an
    earlier attnkb wrote, or the user's)."""
    from attnkb import files

    root = state_dir.parent
    files.make_dirs(state_dir, root)
    for name, text in ((".gitignore", GITIGNORE), (".gitattributes", GITATTRIBUTES)):
        path = state_dir / name
        if not os.path.lexists(path):
            with contextlib.suppress(FileExistsError):
                files.create_new(path, text, root)
    path = state_dir / ".gitignore"
    if keep_versioned and path.is_file() and not path.is_symlink():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # the user's own file, unreadable to us: theirs
            return
        lines = {line.strip() for line in text.splitlines()}
        if not all(p in lines for p in KEEP_VERSIONED.splitlines()[1:]):
            lead = "" if not text or text.endswith("\n") else "\n"
            files.atomic_write(path, text + lead + KEEP_VERSIONED, root)


def git_paths(log: ReviewLog) -> list[Path]:
    """The log files git should keep: every device's, and this device's before it exists."""
    return sorted({*log.files(), log.path})
