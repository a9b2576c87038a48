"""Front matter: splitting it off, parsing it safely, and rewriting single keys in place.

Notes are the user's files. Reading tolerates anything; writing touches only the lines of the
keys we own and proves, by parsing the result again, that nothing else changed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from attnkb import yamlsafe
from attnkb.errors import FrontMatterError
from attnkb.findings import Problem
from attnkb.markdown import split_lines

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
        data, node = yamlsafe.load(fm_text)
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
    problems = []
    twice = yamlsafe.duplicate_key(node)
    if twice is not None:  # YAML forbids it; PyYAML keeps the last value without a word
        message = f"key {twice.value!r} is written twice; the last value is the one used"
        problems.append(Problem(first_line + twice.start_mark.line, message, "warning"))
    return FrontMatter({str(k): v for k, v in data.items()}, problems)


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


def update_keys(text: str, values: dict[str, Any]) -> str:
    """Set top-level front matter keys to scalar values, changing no other byte.

    Each key is found as YAML reads it (plain, ``'quoted'``, ``"quoted"`` or ``? key``), and
    only its value's characters are replaced: the quoting style, trailing and following
    comments stay. A missing key is appended at the end of the front matter; a note without
    front matter gets one. The result is checked (every other key, every comment, no duplicate
    key), so a layout we do not understand raises ``FrontMatterError`` instead of corrupting
    the note.
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
    original = parts.fm_text
    edits: list[tuple[int, int, str]] = []
    missing = []
    spots = _value_spots(original, set(values))
    for key, value in values.items():
        spot = spots.get(key)
        if spot is None:
            missing.append(key)
            continue
        rendered = _render(value, spot.quote or _default_quote(value))
        edits.append((spot.start, spot.end, spot.prefix + rendered))
        if spot.drop:
            edits.append((*spot.drop, ""))
    fm = original
    for start, end, new in sorted(edits, reverse=True):
        fm = fm[:start] + new + fm[end:]
    if missing:
        sep = "" if fm == "" or fm.endswith("\n") else newline
        fm += sep + "".join(f"{k}: {_render(values[k], _default_quote(values[k]))}{newline}" for k in missing)
    _verify(original, fm, before.data, values)
    head = text[: len(parts.bom) + parts.fm_start]
    tail = text[len(parts.bom) + parts.fm_end :]
    return head + fm + tail


def _default_quote(value: Any) -> str:
    """Strings and dates are quoted so YAML reads them back as written (as the reference
    vaults do: ``next_review: '2025-10-19'``)."""
    return "'" if isinstance(value, str | date) else ""


_GAP = re.compile(r"[ \t]*(?:\r?\n[ \t]*)?:")  # key to colon: "key:", "'key' :", "? key\n:"
_COMMENT_OR_BLANK = re.compile(r"[ \t]*(?:#[^\r\n]*)?\r?\n?")


@dataclass
class _Spot:
    """Where a key's new value goes: ``fm[start:end]`` becomes ``prefix + value``; ``drop``
    is a block value on the lines below the key, removed."""

    start: int
    end: int
    quote: str = ""
    prefix: str = ""
    drop: tuple[int, int] | None = None


def _compose(fm: str) -> yaml.Node | None:
    # The pure-Python loader: its marks index this very string (libyaml's count differently
    # around some characters), and it runs only when a note is written, so speed is no matter.
    try:
        return yaml.compose(fm, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"invalid front matter: {exc}") from exc


def _top_keys(fm: str) -> list[str]:
    root = _compose(fm)
    if not isinstance(root, yaml.MappingNode):
        return []
    return [k.value for k, _ in root.value if isinstance(k, yaml.ScalarNode)]


def _value_spots(fm: str, owned: set[str]) -> dict[str, _Spot]:
    """Where the values of the ``owned`` top-level keys are, found as YAML reads the keys."""
    root = _compose(fm)
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise FrontMatterError("front matter is a flow mapping; not rewriting it", line=2)
    spots: dict[str, _Spot] = {}
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in owned:
            continue
        line = key_node.start_mark.line + 2
        if key in spots:
            raise FrontMatterError(f"key {key!r} appears twice; not rewriting it", line=line)
        colon = _GAP.match(fm, key_node.end_mark.index)
        start, end = value_node.start_mark.index, value_node.end_mark.index
        if colon is None or start < colon.end():  # an alias (*x) marks another key's value
            raise FrontMatterError(f"key {key!r} has a layout we do not rewrite (an alias?)", line=line)
        empty = isinstance(value_node, yaml.ScalarNode) and value_node.value == "" and start == end
        if empty:  # "key:" or "key:  # comment": the value goes right after the colon
            spots[key] = _Spot(colon.end(), colon.end(), prefix=" ")
        elif "\n" in fm[colon.end() : start]:  # a block on the lines below the key
            first = fm.rfind("\n", 0, start) + 1
            last = fm.find("\n", _content_end(fm, start, end))
            spots[key] = _Spot(
                colon.end(), colon.end(), prefix=" ", drop=(first, len(fm) if last < 0 else last + 1)
            )
        else:
            style = value_node.style if isinstance(value_node, yaml.ScalarNode) else None
            spots[key] = _Spot(start, _content_end(fm, start, end), style if style in ("'", '"') else "")
    return spots


def _content_end(fm: str, start: int, end: int) -> int:
    """``end`` pulled back over trailing blank and comment lines and the last line break: YAML
    counts them into a block value, but they belong to the user."""
    lines = split_lines(fm[start:end], keepends=True)
    while len(lines) > 1 and _COMMENT_OR_BLANK.fullmatch(lines[-1]):
        lines.pop()
    return start + len("".join(lines).rstrip("\r\n"))


def _verify(original: str, fm: str, before: dict[str, Any], values: dict[str, Any]) -> None:
    """The rewrite changed only what was asked: same other keys and values, no key twice that
    was not twice before, and every comment line still there."""
    parsed = parse(fm)
    if any(p.severity == "error" for p in parsed.problems):  # a key twice is checked below
        raise FrontMatterError("rewriting would break the front matter; note left untouched")
    after = parsed.data
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
    counts_before, counts_after = Counter(_top_keys(original)), Counter(_top_keys(fm))
    doubled = [k for k, n in counts_after.items() if n > max(counts_before[k], 1)]
    if doubled:
        raise FrontMatterError(f"rewriting would repeat key {doubled[0]!r}; note left untouched")
    if Counter(_comment_lines(original)) - Counter(_comment_lines(fm)):
        raise FrontMatterError("rewriting would remove a comment; note left untouched")


def _comment_lines(fm: str) -> list[str]:
    return [ln.strip() for ln in fm.split("\n") if ln.strip().startswith("#")]


_MISSING = object()


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 9)
    return value
