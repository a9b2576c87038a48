"""Front matter: splitting it off, parsing it safely, and rewriting single keys in place.

Notes are the user's files. Reading tolerates anything; writing touches only the lines of the
keys we own and proves, by parsing the result again, that nothing else changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from attnkb import yamlsafe
from attnkb.errors import FrontMatterError

BOM = "\ufeff"
_FENCE = re.compile(r"---[ \t]*\r?\n")
_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


@dataclass
class Split:
    """A note's text cut into its parts; ``fm_text`` excludes the ``---`` fences."""

    bom: str
    fm_text: str | None
    body: str
    body_line: int  # 1-based line number of the body's first line
    fm_start: int = 0  # offset of fm_text in the text (after the BOM)
    fm_end: int = 0
    unclosed: bool = False


def split(text: str) -> Split:
    bom = BOM if text.startswith(BOM) else ""
    rest = text[len(bom) :]
    m = _FENCE.match(rest)
    if not m:
        return Split(bom, None, rest, 1)
    pos = m.end()
    line_no = 2
    while pos <= len(rest):
        nl = rest.find("\n", pos)
        end = len(rest) if nl < 0 else nl
        line = rest[pos:end].rstrip("\r")
        if _CLOSE.match(line):
            body_start = len(rest) if nl < 0 else nl + 1
            return Split(bom, rest[m.end() : pos], rest[body_start:], line_no + 1, m.end(), pos)
        if nl < 0:
            break
        pos = nl + 1
        line_no += 1
    return Split(bom, None, rest, 1, unclosed=True)


@dataclass
class Problem:
    line: int
    message: str
    severity: str = "error"


@dataclass
class FrontMatter:
    data: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def key_line(fm_text: str, key: str) -> int:
    """1-based line of a top-level key inside the front matter (0 if not found)."""
    pattern = re.compile(rf"^['\"]?{re.escape(key)}['\"]?[ \t]*:", re.MULTILINE)
    m = pattern.search(fm_text)
    return fm_text.count("\n", 0, m.start()) + 1 if m else 0


def parse(fm_text: str, first_line: int = 2) -> FrontMatter:
    """Parse YAML front matter; never raises, reports problems with file line numbers."""
    try:
        data, _ = yamlsafe.load(fm_text)
    except yaml.YAMLError as exc:
        last = first_line + max(fm_text.count("\n") - 1, 0)
        line = first_line - 1
        for attr in ("problem_mark", "context_mark"):  # the first mark inside the block wins
            mark = getattr(exc, attr, None)
            if mark is not None and first_line + mark.line <= last:
                line = first_line + mark.line
                break
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return FrontMatter({}, [Problem(line, f"invalid front matter: {reason}")])
    if data is None:
        return FrontMatter({})
    if not isinstance(data, dict):
        kind = type(data).__name__
        return FrontMatter({}, [Problem(first_line, f"front matter is a {kind}, not a mapping")])
    return FrontMatter({str(k): v for k, v in data.items()})


def to_json_safe(value: Any) -> Any:
    """Front matter as JSON: dates as ISO strings, anything exotic as text."""
    if isinstance(value, dict):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_json_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# --- surgical updates -------------------------------------------------------------------------


def _render(value: Any, quote: str) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = value.isoformat() if isinstance(value, date) else str(value)
    if quote == "'":
        return "'" + text.replace("'", "''") + "'"
    if quote == '"':
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _existing_quote(raw_value: str) -> str:
    raw_value = raw_value.strip()
    return raw_value[0] if raw_value[:1] in ("'", '"') else ""


_VALUE_AND_COMMENT = re.compile(
    r"""^(?P<value>'(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^#]*?)(?P<rest>[ \t]+#.*)?$"""
)


def update_keys(text: str, values: dict[str, Any]) -> str:
    """Set top-level front matter keys to scalar values, changing no other byte.

    An existing key keeps its quoting style and trailing comment; a missing key is appended at
    the end of the front matter; a note without front matter gets one. The result is parsed
    again and compared with the original, so a layout we do not understand raises
    ``FrontMatterError`` instead of corrupting the note.
    """
    parts = split(text)
    if parts.unclosed:
        raise FrontMatterError("front matter has no closing '---'; not rewriting it", line=1)
    newline = "\r\n" if "\r\n" in text else "\n"
    if parts.fm_text is None:
        lines = "".join(f"{k}: {_render(v, _default_quote(v))}{newline}" for k, v in values.items())
        return parts.bom + f"---{newline}{lines}---{newline}" + parts.body
    before = parse(parts.fm_text)
    if before.problems:
        raise FrontMatterError(before.problems[0].message, line=before.problems[0].line)
    fm = parts.fm_text
    for key, value in values.items():
        fm = _set_one(fm, key, value, newline)
    after = parse(fm)
    _verify(before.data, after.data, values)
    head = text[: len(parts.bom) + parts.fm_start]
    tail = text[len(parts.bom) + parts.fm_end :]
    return head + fm + tail


def _default_quote(value: Any) -> str:
    """Strings and dates are quoted so YAML reads them back as written (as the reference
    vaults do: ``next_review: '2025-10-19'``)."""
    return "'" if isinstance(value, str | date) else ""


def _set_one(fm: str, key: str, value: Any, newline: str) -> str:
    pattern = re.compile(rf"^{re.escape(key)}[ \t]*:(?P<after>[^\r\n]*)(?:\r?\n|$)", re.MULTILINE)
    m = pattern.search(fm)
    if m is None:
        if _is_flow(fm):
            raise FrontMatterError("front matter is a flow mapping; not rewriting it", line=2)
        sep = "" if fm == "" or fm.endswith("\n") else newline
        return f"{fm}{sep}{key}: {_render(value, _default_quote(value))}{newline}"
    after = m.group("after")
    end = m.end()
    # A value continued on later lines (indented, or an indentless "- item" list) goes too.
    continuation = re.compile(r"(?:[ \t]+\S|-(?:[ \t]|$))[^\r\n]*(?:\r?\n|$)", re.MULTILINE)
    while end < len(fm) and (c := continuation.match(fm, end)) and c.end() > end:
        if fm[end] == "-" and after.strip():
            break
        end = c.end()
    vc = _VALUE_AND_COMMENT.match(after.strip())
    raw_value = vc.group("value") if vc else after.strip()
    comment = (vc.group("rest") or "") if vc else ""
    quote = _existing_quote(raw_value) or _default_quote(value)
    ending = newline if m.group(0).endswith("\n") or end < len(fm) else ""
    if m.group(0).endswith("\r\n"):
        ending = "\r\n"
    elif m.group(0).endswith("\n"):
        ending = "\n"
    leading_space = after[: len(after) - len(after.lstrip())] or " "
    new_line = f"{key}:{leading_space}{_render(value, quote)}{comment}{ending}"
    return fm[: m.start()] + new_line + fm[end:]


def _is_flow(fm: str) -> bool:
    for line in fm.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.startswith("{")
    return False


def _verify(before: dict[str, Any], after: dict[str, Any], values: dict[str, Any]) -> None:
    for key, old in before.items():
        if key not in values and after.get(key, _MISSING) != old:
            raise FrontMatterError(f"rewriting would change key {key!r}; note left untouched")
    for key, new in values.items():
        got = after.get(key, _MISSING)
        if _normalise(got) != _normalise(new):
            raise FrontMatterError(f"could not set key {key!r} safely; note left untouched")
    extra = set(after) - set(before) - set(values)
    if extra:
        raise FrontMatterError(f"rewriting would add keys {sorted(extra)}; note left untouched")


_MISSING = object()


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 9)
    return value
