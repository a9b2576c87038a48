"""``.attnkb/config.toml``: read and parsed in one place, handed out a table at a time.

The file is untrusted input like a note: it is bounded in size and nesting before it is parsed,
any failure to parse is a ``ConfigError`` naming the file and line, and each table's reader
checks types and ranges itself (``[review]`` in ``srs/config.py``, ``[related]`` in
``related_section.py``, ``[vault]`` here), so a mistake names its key and line. Keys and tables
we do not know are warned about, not fatal: an older attnkb must still open a newer vault.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from attnkb.cards import CARDS_CHECKS, CardSettings
from attnkb.errors import ConfigError
from attnkb.exclude import Exclude, check_patterns
from attnkb.findings import Finding

CONFIG_FILE = "config.toml"
MAX_CONFIG_BYTES = 1 << 20  # a settings file; anything larger is not one
MAX_DEPTH = 100  # nested arrays and inline tables; tomlkit refuses deeper, tomllib overflows its stack
BOM = "\ufeff"
TABLES = ("review", "vault", "related", "cards", "checklist")  # every table some reader knows
DEFAULT_MAX_NOTE_BYTES = 20_000_000

Check = Callable[[object], object]  # returns the typed value or raises ValueError saying why

_PART = r"""[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*'"""
_PATH = rf"(?:{_PART})(?:[ \t]*\.[ \t]*(?:{_PART}))*"
_HEADER = re.compile(rf"\[\[?[ \t]*({_PATH})[ \t]*\]")
_KEY = re.compile(rf"({_PATH})[ \t]*=")
_STRING = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'', re.S)
_TOML_AT = re.compile(r" \(at line (\d+), column \d+\)$| \(at end of document\)$")


@dataclass
class ConfigFile:
    """The parsed file (empty when there is none) and where each key was written."""

    path: Path
    data: dict = field(default_factory=dict)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def line(self, *keys: str) -> int | None:
        """The line that wrote ``keys`` (or the nearest enclosing table or key), for messages."""
        for end in range(len(keys), 0, -1):
            if keys[:end] in self.lines:
                return self.lines[keys[:end]]
        return None

    def error(self, message: str, *keys: str) -> ConfigError:
        return ConfigError(message, str(self.path), self.line(*keys))

    def warning(self, message: str, *keys: str) -> Finding:
        return Finding(str(self.path), self.line(*keys) or 0, "config", message, "warning")

    def table(self, name: str) -> dict:
        """``[name]`` as a dict, ``{}`` when absent; anything but a table is an error."""
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise self.error(f"{name} must be a table ([{name}]), not a value or a list", name)
        return value

    def section(self, name: str, checks: Mapping[str, Check]) -> tuple[dict[str, object], list[Finding]]:
        """The checked values of ``[name]`` present in the file, and warnings for unknown keys."""
        values: dict[str, object] = {}
        warnings = []
        for key, value in self.table(name).items():
            check = checks.get(key)
            if check is None:
                known = ", ".join(checks)
                warnings.append(
                    self.warning(f"unknown key [{name}] {key} (ignored); known keys: {known}", name, key)
                )
                continue
            try:
                values[key] = check(value)
            except ValueError as exc:
                raise self.error(f"[{name}] {key} {exc}", name, key) from exc
        return values, warnings

    def unknown_tables(self) -> list[Finding]:
        known = ", ".join(f"[{t}]" for t in TABLES)
        return [
            self.warning(f"unknown table [{name}] (ignored); known tables: {known}", name)
            for name in self.data
            if name not in TABLES
        ]


_cache: tuple[Path, bytes, ConfigFile] | None = None


def load(state_dir: Path) -> ConfigFile:
    """``state_dir/config.toml``, parsed once for as long as its bytes stay the same."""
    global _cache
    path = state_dir / CONFIG_FILE
    raw = read_bytes(path)
    if raw is None:
        return ConfigFile(path)
    if _cache is not None and _cache[0] == path and _cache[1] == raw:
        return _cache[2]
    config = parse(path, decode(path, raw)[0])
    _cache = (path, raw, config)
    return config


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes (None when there is none), never more than the size limit."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):  # no file, or .attnkb is not a folder
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"over {MAX_CONFIG_BYTES} bytes: too large for a settings file", path=str(path))
    return raw


def decode(path: Path, raw: bytes) -> tuple[str, bool]:
    """The text without its byte order mark (Notepad writes one), and whether it had one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from exc
    bom = text.startswith(BOM)
    return (text[1:] if bom else text), bom


def parse(path: Path, text: str) -> ConfigFile:
    """Checked for depth before tomllib sees it; any failure of the parser is a ConfigError."""
    import tomllib

    lines, depth, deepest = _scan(text)
    if depth > MAX_DEPTH:
        raise ConfigError(
            f"invalid TOML: values nested more than {MAX_DEPTH} levels deep", str(path), deepest
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_AT.search(message)
        line = int(found.group(1)) if found and found.group(1) else text.count("\n") + 1
        raise ConfigError(f"invalid TOML: {_TOML_AT.sub('', message)}", str(path), line) from exc
    except RecursionError as exc:  # the depth scan should have caught it first
        raise ConfigError("invalid TOML: values nested too deeply", str(path), deepest) from exc
    except Exception as exc:  # a parser bug must still be a message about this file, not a crash
        raise ConfigError(f"invalid TOML: {type(exc).__name__}: {exc}", str(path)) from exc
    return ConfigFile(path, data, lines)


def _scan(text: str) -> tuple[dict[tuple[str, ...], int], int, int]:
    """Where each table and key is written (first line wins), the deepest nesting of arrays
    and inline tables, and its line. A plain scan, not a parser: it never fails, and on text
    that tomllib accepts it finds what tomllib found."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    depth = deepest = deepest_line = 0
    n, i, size = 1, 0, len(text)
    at_start = True
    while i < size:
        c = text[i]
        if c == "\n":
            n, at_start, i = n + 1, True, i + 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if c == "#":
            end = text.find("\n", i)
            i = size if end < 0 else end
            continue
        if at_start and depth == 0:
            header = _HEADER.match(text, i) if c == "[" else None
            key = None if header else _KEY.match(text, i)
            if header:
                table = _parts(header.group(1))
                lines.setdefault(table, n)
                i = header.end()
            elif key:
                lines.setdefault(table + _parts(key.group(1)), n)
                i = key.end()
            at_start = False
            if header or key:
                continue
        at_start = False
        if c in "\"'":
            string = _STRING.match(text, i)
            end = string.end() if string else size
            n += text.count("\n", i, end)
            i = end
            continue
        if c in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, n
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return lines, deepest, deepest_line


def _parts(path: str) -> tuple[str, ...]:
    parts = []
    for part in re.findall(_PART, path):
        if part.startswith('"'):
            try:
                part = json.loads(part)
            except ValueError:
                part = part[1:-1]
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


# --- checks every table uses ---------------------------------------------------------------


def whole(low: int, high: int | None = None, unit: str = "") -> Check:
    """A whole number in a range (``true`` is not 1 here, though Python says it is)."""

    def check(value: object) -> int:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            span = f">= {low}" if high is None else f"from {low} to {high}"
            raise ValueError(f"must be a whole number{unit} {span}, not {value!r}")
        return value

    return check


def number(low: float, high: float, what: str = "a number") -> Check:
    """A number in a range, as a float (NaN is never in one)."""

    def check(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"must be {what} from {low} to {high}, not {value!r}")
        return float(value)

    return check


# --- [vault] ---------------------------------------------------------------------------------


@dataclass
class VaultConfig:
    max_note_bytes: int = DEFAULT_MAX_NOTE_BYTES  # a note is read whole: a stray multi-GB .md must not be
    exclude: Exclude | None = None  # files under the vault that are not notes
    warnings: list[Finding] = field(default_factory=list, compare=False)  # unknown tables and keys


VAULT_CHECKS: dict[str, Check] = {"max_note_bytes": whole(1, unit=" of bytes"), "exclude": check_patterns}


def vault(state_dir: Path) -> VaultConfig:
    """``[vault]``. Every command that reads notes reads it, so its warnings carry the unknown
    tables too, and ``[cards]`` (read note by note, where nothing can be reported) is checked
    here as well."""
    config = load(state_dir)
    values, warnings = config.section("vault", VAULT_CHECKS)
    cards = config.section("cards", CARDS_CHECKS)[1]
    return VaultConfig(**values, warnings=config.unknown_tables() + warnings + cards)  # type: ignore[arg-type]


# --- [cards] ---------------------------------------------------------------------------------


def cards(state_dir: Path) -> CardSettings:
    """``[cards]`` (its schema: :data:`attnkb.cards.CARDS_CHECKS`). Its unknown keys are warned
    about with ``[vault]``'s, by the index."""
    values, _ = load(state_dir).section("cards", CARDS_CHECKS)
    return CardSettings(**values)  # type: ignore[arg-type]


def vault_cards(root: Path) -> CardSettings:
    """:func:`cards` of the vault at ``root``, read once per version of its config file (the
    index asks for every note it parses)."""
    path = root / ".attnkb" / CONFIG_FILE
    try:
        st = path.stat()
    except OSError:
        return CardSettings()
    return _cached_cards(str(root), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _cached_cards(root: str, mtime_ns: int, size: int) -> CardSettings:
    return cards(Path(root) / ".attnkb")
