"""``run-example --update``: rewrite a block's ``expect`` numbers from the live output.

Edits are made by (line, column) of YAML nodes, so the rest of the file, CRLF line endings
included, stays byte-identical. Each number keeps the precision it was written with.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from attnkb.errors import ExampleError
from attnkb.examples.runner import Result, best_keys, score_variance
from attnkb.examples.spec import MATRIX_KEYS, decimals, scalar_nodes
from attnkb.files import atomic_write
from attnkb.markdown import split_lines

Edit = tuple[int, int, int, int, str]  # start line, start col, end line, end col (file, 0-based)


def _fmt(x: float, places: int) -> str:
    text = f"{x:.{places}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _sensible_places(x: float) -> int:
    """Decimals showing three significant digits, at least two: 0.731 → 3, 0.00123 → 5."""
    if x == 0 or not math.isfinite(x):
        return 2
    return min(max(2, 2 - math.floor(math.log10(abs(x)))), 15)


def number_text(x: float, written: str) -> str:
    """``x`` in the style ``written`` had, precise enough to match as written.

    A decimal keeps its places (its places are its tolerance); scientific notation keeps its
    mantissa digits; an integer (decimal or hex) stays one when ``x`` is whole, and otherwise
    becomes a decimal with sensible places — rounding it would leave the claim failing.
    """
    text = written.strip().lower()
    if decimals(text):
        return _fmt(x, decimals(text))
    if "e" in text and not text.lstrip("+-").startswith("0x") and "." in text:
        mantissa_places = decimals(text.partition("e")[0])
        return f"{x:.{mantissa_places}e}" if mantissa_places else f"{x:#.0e}"
    if abs(x - round(x)) <= 1e-9 and abs(x) < 2**53:
        whole = round(x)
        if text.lstrip("+-").startswith("0x"):
            return ("-" if whole < 0 else "") + hex(abs(whole))
        return str(whole)
    return _fmt(x, _sensible_places(x))


def _flow(arr: np.ndarray, written: str) -> str:
    if arr.ndim == 0:
        return number_text(float(arr), written)
    return "[" + ", ".join(_flow(row, written) for row in arr) + "]"


def _flow_list(items: list) -> str:
    """A flow list as YAML writes it: labels such as ``yes``, ``a, b`` or ``1`` quoted."""
    return yaml.safe_dump(items, default_flow_style=True, allow_unicode=True, width=math.inf).strip()


def _shared_nodes(root: yaml.Node | None) -> set[int]:
    """Ids of nodes reached more than once: the targets of aliases (and everything inside)."""
    seen: set[int] = set()
    shared: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(x for pair in node.value for x in pair)
    return shared


def block_edits(result: Result, add: set[str]) -> list[Edit]:
    block, live = result.block, result.live
    if block is None or live is None:
        return []
    base = block.first_line - 1  # 0-based file line of the block's first line
    edits: list[Edit] = []
    shared = _shared_nodes(block.node)

    def replace(node: yaml.Node, text: str) -> None:
        if id(node) in shared:  # an alias: its text is elsewhere, maybe an input of the block
            message = "expect values given by an alias (*name) are not rewritten; write them out"
            raise block.error(message, block.key_node("expect"))
        s, e = node.start_mark, node.end_mark
        edits.append((base + s.line, s.column, base + e.line, e.column, text))

    expect = block.expect
    for key in MATRIX_KEYS:
        actual = getattr(live, key)
        node = block.key_node("expect", key)
        if key not in expect or actual is None or node is None:
            continue
        scalars = scalar_nodes(node)
        if np.shape(np.array(expect[key], dtype=object)) == actual.shape and len(scalars) == actual.size:
            for scalar, value in zip(scalars, actual.flat, strict=True):
                replace(scalar, number_text(float(value), scalar.value))
        else:
            common = Counter(s.value for s in scalars).most_common(1)
            replace(node, _flow(np.asarray(actual), common[0][0] if common else "0.00"))
    variance = score_variance(live)
    if "score_var" in expect and variance is not None and (node := block.key_node("expect", "score_var")):
        replace(node, number_text(variance, node.value))
    if "argmax" in expect and live.weights is not None and (node := block.key_node("expect", "argmax")):
        replace(node, _flow_list([block.key_label(i) for i in best_keys(live.weights)]))
    target = live.output if live.output is not None else live.weights
    if "shape" in expect and target is not None and (node := block.key_node("expect", "shape")):
        replace(node, "[" + ", ".join(str(n) for n in target.shape) + "]")
    for key in sorted(add - set(expect)):
        actual = getattr(live, key, None)
        if actual is None:
            raise ExampleError(f"cannot add {key}: op {block.op!r} computes none", block.path, block.line)
        value = _flow(np.asarray(actual), "0.00")
        expect_node = block.key_node("expect")
        if expect_node is None:
            end = base + block.text.count("\n")
            edits.append((end, 0, end, 0, f"expect:\n  {key}: {value}\n"))
        elif isinstance(expect_node, yaml.MappingNode) and expect_node.value:
            first_key = expect_node.value[0][0]
            line, col = base + first_key.start_mark.line, first_key.start_mark.column
            edits.append((line, col, line, col, f"{key}: {value}\n" + " " * col))
        else:
            replace(expect_node, f"{{{key}: {value}}}")
    return edits


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply (line, col) edits, last first; line endings of untouched lines are kept."""
    lines = split_lines(text, keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    for sl, sc, el, ec, new in sorted(edits, reverse=True):
        start = offsets[sl] + sc
        end = offsets[el] + ec
        text = text[:start] + new.replace("\n", newline) + text[end:]
    return text


def update_note(root: Path, results: list[Result], add: set[str]) -> bool:
    """Rewrite one note's blocks; True if the file changed. The new text is parsed and run
    again before it is written, so an edit that would break a block never reaches the disk."""
    from attnkb.note import decode, parse_text
    from attnkb.srs.log import ReviewLog
    from attnkb.vault import STATE_DIR

    if not results:
        return False
    path = results[0].path
    file = root / path
    original = file.read_bytes()
    text, problems = decode(original)
    if problems:
        raise ExampleError("file is not valid UTF-8; not rewriting it", path, problems[0].line)
    lines = split_lines(text, keepends=True)
    edits: list[Edit] = []
    for r in results:
        if r.status == "error" or r.block is None:
            continue
        n = r.block.text.count("\n")
        start = r.block.first_line - 1
        if "".join(lines[start : start + n]).replace("\r\n", "\n") != r.block.text:
            raise ExampleError("block changed on disk or is indented; not rewriting it", path, r.line)
        edits.extend(block_edits(r, add))
    if not edits:
        return False
    new = apply_edits(text, edits)
    if new == text:
        return False
    from attnkb.examples.runner import run_block

    for ex in parse_text(path, new).examples:
        if run_block(path, ex.line, ex.text).status == "error":
            raise ExampleError("updating would break this block; file left untouched", path, ex.line)
    with ReviewLog(root / STATE_DIR).locked():  # the lock every writer of notes takes
        if file.read_bytes() != original:
            raise ExampleError("the file changed while its examples ran; not rewriting it (run again)", path)
        atomic_write(file, new, root)
    return True
