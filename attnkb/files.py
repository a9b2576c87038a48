"""The one write rule: every file attnkb writes (notes, review logs, config, media, checklists,
packages, the index cache) goes through this module.

- A write goes through a symlink (of the file or of any folder on its path) only when the real
  path lies inside the vault: a cloned vault cannot point a log, a note or a media folder at a
  file of the user's elsewhere. A target outside the vault is refused (``WriteRefused``, naming
  the file), and so is a file the user made read-only (replacing it by rename would quietly
  ignore that).
- A path the user names on the command line outside the vault (``export anki ~/deck.apkg``) is
  theirs to choose: the vault's rule applies to what lies in the vault (``output_root``).
- Rewrites are atomic (a temp file beside the target, fsync, rename); temp files get
  unpredictable names and are opened with ``O_EXCL | O_NOFOLLOW``, so nothing planted under a
  temp name is followed. A new file gets the mode ``open`` gives (0644 under umask 022); a
  rewritten one keeps its own.
- A failed write names the file it was for, never a temp name (``OSError.filename``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from attnkb.errors import WriteRefused

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _shown(path: Path, root: Path | None) -> str:
    if root is not None:
        for base in (root, Path(os.path.abspath(root))):
            with contextlib.suppress(ValueError):
                return Path(os.path.abspath(path)).relative_to(base).as_posix()
    return str(path)


def inside_vault(path: Path, root: Path) -> Path:
    """The real path behind ``path`` (symlinks of the file and its folders followed), which
    must lie inside the vault; ``WriteRefused`` otherwise."""
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(Path(os.path.realpath(root))):
        raise WriteRefused(f"leads to {real}, outside the vault; not writing there", _shown(path, root))
    return real


def output_root(path: Path, root: Path) -> Path | None:
    """The vault a file the user named must stay in: ``root`` when the path as written lies in
    the vault (``..`` taken lexically), None when the user chose a place outside it."""
    written = Path(os.path.abspath(path))
    for base in (Path(os.path.abspath(root)), Path(os.path.realpath(root))):
        if written.is_relative_to(base):
            return root
    return None


def write_target(path: Path, root: Path | None = None) -> Path:
    """The file a write of ``path`` must change, after the rule above."""
    path = Path(path)
    real = inside_vault(path, root) if root is not None else Path(os.path.realpath(path))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return real
    if not stat.S_ISREG(mode):
        raise WriteRefused("is not a regular file; not writing there", _shown(path, root))
    if not mode & stat.S_IWUSR:
        raise WriteRefused(
            "is read-only; not writing to it (make it writable to let attnkb update it)", _shown(path, root)
        )
    return real


def make_dirs(folder: Path, root: Path | None) -> Path:
    """``mkdir -p`` of a folder that must lie inside the vault (its existing part resolved)."""
    real = inside_vault(folder, root) if root is not None else Path(os.path.realpath(folder))
    try:
        real.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _named(exc, folder, root) from exc
    return real


def _named(exc: OSError, path: Path, root: Path | None, tmp: Path | None = None) -> OSError:
    """The same error, naming the file the user knows instead of a temp file (an error about
    another file, met while filling this one, keeps its own name)."""
    if tmp is not None and exc.filename is not None and os.fspath(exc.filename) != os.fspath(tmp):
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), _shown(path, root))


def _temp_beside(target: Path) -> tuple[int, Path]:
    """A new file with an unpredictable name in the target's folder, mode as ``open`` gives."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    stem = target.name.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore")  # NAME_MAX is bytes
    for _ in range(100):
        tmp = target.with_name(f".{stem}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temp name", str(target))


def write_all(fd: int, data: bytes) -> None:
    """All of ``data``: a short write is continued, one that writes nothing is a full disk."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _write_fd(fd: int, data: bytes) -> None:
    write_all(fd, data)
    os.fsync(fd)


def _encoded(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


@contextlib.contextmanager
def replacing(path: Path, root: Path | None = None) -> Iterator[BinaryIO]:
    """A binary file to fill that replaces ``path`` whole when the block ends without an error
    (a temp file beside the real file, fsync, rename over it); nothing changes otherwise.
    ``root`` is the vault the file must stay in (None: a path the user chose outside it)."""
    path = Path(path)
    target = write_target(path, root)
    try:
        fd, tmp = _temp_beside(target)
    except OSError as exc:
        raise _named(exc, path, root) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):  # a rewrite keeps the file's own mode
            os.chmod(tmp, stat.S_IMODE(os.stat(target, follow_symlinks=False).st_mode))
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            named = _named(exc, path, root, tmp)
            if named is exc:
                raise
            raise named from exc
        raise


def atomic_write(path: Path, data: str | bytes, root: Path | None = None) -> None:
    """Replace ``path`` whole with ``data`` (see ``replacing``)."""
    with replacing(path, root) as f:
        f.write(_encoded(data))


def create_new(path: Path, data: str | bytes, root: Path | None) -> None:
    """Write a file that must not exist yet (``FileExistsError`` if anything is there, a
    dangling symlink included): whole or not at all, by linking a finished temp file."""
    path = Path(path)
    if os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "exists", _shown(path, root))
    target = write_target(path, root)
    try:
        fd, tmp = _temp_beside(target)
    except OSError as exc:
        raise _named(exc, path, root) from exc
    try:
        try:
            _write_fd(fd, _encoded(data))
        finally:
            os.close(fd)
        try:
            os.link(tmp, target, follow_symlinks=False)  # fails if anything took the name meanwhile
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: the name was free a moment ago
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, "exists", _shown(path, root)) from None
            os.replace(tmp, target)
    except FileExistsError as exc:
        raise FileExistsError(errno.EEXIST, "exists", _shown(path, root)) from exc
    except OSError as exc:
        raise _named(exc, path, root) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def open_append(path: Path, root: Path) -> int:
    """A descriptor to append to ``path`` (created, 0644 under umask 022, if missing); its
    last component is never a symlink followed after the check."""
    path = Path(path)
    target = write_target(path, root)
    try:
        return os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o666)
    except OSError as exc:
        raise _named(exc, path, root) from exc


@contextlib.contextmanager
def lock(path: Path, root: Path) -> Iterator[None]:
    """An exclusive lock held on ``path`` (a lock file of the vault's, created if missing)."""
    fd = open_append(path, root)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
