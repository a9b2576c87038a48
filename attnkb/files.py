"""Writing users' files safely: all or nothing, never half a note, never outside the vault.

One rule for every writer: a write goes through a symlink to its target when the target's
real path is inside the vault; a target outside the vault is refused, and so is a note the
user made read-only (replacing it by rename would quietly ignore that).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from attnkb.errors import WriteRefused


def _shown(path: Path, root: Path | None) -> str:
    if root is not None:
        with contextlib.suppress(ValueError):
            return path.relative_to(root).as_posix()
    return str(path)


def inside_vault(path: Path, root: Path) -> Path:
    """The real path behind ``path`` (symlinks of the file and its folders followed), which
    must lie inside the vault; ``WriteRefused`` otherwise."""
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(Path(os.path.realpath(root))):
        raise WriteRefused(f"leads to {real}, outside the vault; not writing there", _shown(path, root))
    return real


def write_target(path: Path, root: Path | None = None) -> Path:
    """The file a rewrite of ``path`` must replace, after the rule above."""
    path = Path(path)
    real = inside_vault(path, root) if root is not None else Path(os.path.realpath(path))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return real
    if not mode & stat.S_IWUSR:
        raise WriteRefused(
            "is read-only; not rewriting it (make it writable to let attnkb update it)", _shown(path, root)
        )
    return real


def atomic_write(path: Path, text: str, root: Path | None = None) -> None:
    """Write to a temp file beside the real file, fsync, then rename over it; ``root`` is the
    vault the file must stay in."""
    target = write_target(path, root)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):  # a new file keeps mkstemp's mode
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
