"""The ``attention`` block: parsing and validating it, with file lines for every complaint.

A block is YAML, loaded safely; we keep the composed node tree too, because the precision a
number is *written* with is its tolerance, and ``--update`` rewrites numbers in place.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np
import yaml

from attnkb import yamlsafe
from attnkb.errors import ExampleError
from attnkb.examples import DEFAULT_MAX_ELEMENTS
from attnkb.plural import counted

OPS = {
    # op: (required keys, optional keys)
    "dot": ({"q", "k"}, {"v"}),
    "scaled_dot": ({"q", "k"}, {"v", "scale"}),
    "cosine": ({"q", "k"}, {"v"}),
    "general": ({"q", "k", "w"}, {"v"}),
    "additive": ({"q", "k", "w_q", "w_k", "v_a"}, {"v", "b"}),
    "concat": ({"q", "k", "w", "v_a"}, {"v"}),
    "hard": ({"q", "k"}, {"v", "scale"}),
    "multihead": ({"heads"}, {"x", "q", "k", "v", "w_q", "w_k", "w_v", "w_o", "seed"}),
    "linear": ({"q", "k", "v"}, set()),
    "local": ({"q", "k", "window"}, {"v", "scale"}),
    "blocked": ({"q", "k", "v", "block"}, {"scale"}),
    "linformer": ({"q", "k", "v"}, {"proj", "e", "f"}),
    "softmax": ({"scores"}, set()),
    "weights": ({"weights"}, {"v"}),
}
COMMON = {"op", "mask", "labels", "expect", "tol", "title", "note"}
MATRIX_KEYS = ("weights", "output", "scores")  # expect keys compared number by number
EXPECT_KEYS = {*MATRIX_KEYS, "score_var", "argmax", "shape", "claims"}
CLAIMS = {"rows_sum_to_one", "nonnegative", "causal"}
VECTOR_KEYS = {"v_a", "b"}  # (H,) parameters of the additive and concat scores
MATRIX_KEYS_IN = {"q", "k", "v", "x", "w", "w_q", "w_k", "w_v", "w_o", "proj", "e", "f", "weights"}
ARRAY_KEYS = MATRIX_KEYS_IN | VECTOR_KEYS | {"scores"}
LABEL_KEYS = {"queries", "keys"}
MASKS = ("causal", "causal_lower_right")


@dataclass
class Block:
    """A validated block: every field has its type here, so running it cannot trip on a value."""

    path: str
    line: int  # the opening fence
    text: str
    op: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    node: yaml.Node | None = None  # a mapping, once the block is read
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    mask: str | int | np.ndarray | None = None  # "causal"…, a window, or a boolean (L, S) matrix
    scale: float | None = None
    window: int | None = None  # op local
    block_size: int | None = None  # op blocked
    heads: int | None = None  # op multihead
    seed: int = 0  # op multihead: random projections
    tol: float | None = None
    labels: dict[str, list[Any]] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)

    @property
    def first_line(self) -> int:
        return self.line + 1

    def error(self, message: str, node: yaml.Node | None = None) -> ExampleError:
        line = self.first_line + node.start_mark.line if node is not None else self.line
        return ExampleError(message, path=self.path, line=line)

    def key_label(self, index: int) -> Any:
        """What a note calls key ``index``: its label when ``labels: {keys: …}`` names it."""
        names = self.labels.get("keys") or []
        return names[index] if index < len(names) else index

    def key_node(self, *keys: str) -> yaml.Node | None:
        node: yaml.Node | None = self.node
        for key in keys:
            if not isinstance(node, yaml.MappingNode):
                return None
            node = next((v for k, v in node.value if k.value == key), None)
        return node


def parse_block(path: str, line: int, text: str, max_elements: int = DEFAULT_MAX_ELEMENTS) -> Block:
    """Parse and validate a whole block; any problem is an ``ExampleError`` at its line.

    Arrays are allocated only after every array the block implies (inputs, random projections,
    scores, intermediates) has been counted against ``max_elements``.
    """
    block = Block(path, line, text)
    try:
        data, block.node = yamlsafe.load(text, exponent_floats=True)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or "invalid YAML"
        raise ExampleError(
            f"invalid YAML in attention block: {reason}", path, block.first_line + (mark.line if mark else 0)
        ) from exc
    if not isinstance(data, dict):
        raise block.error("an attention block must be a YAML mapping")
    twice = yamlsafe.duplicate_key(block.node)
    if twice is not None:
        raise block.error(f"key {twice.value!r} is given twice", twice)
    block.data = data
    op = data.get("op")
    if not isinstance(op, str) or op not in OPS:
        known = ", ".join(sorted(OPS))
        raise block.error(f"unknown or missing op {op!r}; expected one of: {known}", block.key_node("op"))
    block.op = op
    required, optional = OPS[op]
    for key in data:
        if key not in required | optional | COMMON:
            raise block.error(f"unknown key {key!r} for op {op!r}", block.key_node(str(key)))
    missing = sorted(required - set(data))
    if missing:
        raise block.error(f"op {op!r} needs {', '.join(missing)}")
    if op == "multihead" and "x" not in data and not {"q", "k", "v"} <= set(data):
        raise block.error("op 'multihead' needs x, or q, k and v")
    if op == "linformer" and "proj" not in data and "e" not in data:
        raise block.error("op 'linformer' needs proj, or e (and optionally f)")
    _scalars(block)
    shapes = {key: _shape(block, key, data[key]) for key in sorted(ARRAY_KEYS & set(data))}
    for key, shape in shapes.items():
        if math.prod(shape) > max_elements:
            raise block.error(
                f"{key}: {math.prod(shape):,} elements is over the limit of {max_elements:,}",
                block.key_node(key),
            )
    _fit(block, shapes)
    _labels(block)
    _expect(block)
    _mask(block, shapes)
    needed = sum(math.prod(s) for s in shapes.values()) + implied_elements(block, shapes)
    if needed > max_elements:
        raise block.error(f"block needs {needed:,} elements, over the limit of {max_elements:,}")
    for key, value in data.items():
        if key in ARRAY_KEYS:
            block.arrays[key] = _array(value, shapes[key])
    return block


# --- typed fields ----------------------------------------------------------------------------


def _is_number(x: Any) -> TypeGuard[int | float]:
    """An int or float that is finite as a float (NaN, infinity and 10**400 are not)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return False
    try:
        return math.isfinite(float(x))
    except OverflowError:
        return False


def _is_whole(x: Any, least: int) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= least


def _scalars(block: Block) -> None:
    d = block.data

    def whole(key: str, least: int) -> int | None:
        if key in d and not _is_whole(d[key], least):
            raise block.error(f"{key} must be a whole number >= {least}", block.key_node(key))
        return d.get(key)

    def number(key: str, least: float | None = None) -> float | None:
        value = d.get(key)
        if key in d and (not _is_number(value) or (least is not None and value < least)):
            bound = f" >= {least:g}" if least is not None else ""
            raise block.error(f"{key} must be a finite number{bound}", block.key_node(key))
        return None if value is None else float(value)

    block.window = whole("window", 0)
    block.block_size = whole("block", 1)
    block.heads = whole("heads", 1)
    block.seed = whole("seed", 0) or 0
    block.scale = number("scale")
    block.tol = number("tol", 0)
    for key in ("title", "note"):
        if isinstance(d.get(key), list | dict):
            raise block.error(f"{key} must be text", block.key_node(key))


def _shape(block: Block, key: str, value: Any) -> tuple[int, ...]:
    """The shape an array key will have, checked without allocating it."""
    node = block.key_node(key)
    dims = "[rows, cols]" if key in MATRIX_KEYS_IN else "[n]" if key in VECTOR_KEYS else "[n] or [rows, cols]"
    if isinstance(value, dict):
        if set(value) - {"random", "seed"} or "random" not in value:
            raise block.error(f"{key}: use a list of rows or {{random: {dims}, seed: N}}", node)
        shape = value["random"]
        if not isinstance(shape, list) or not 1 <= len(shape) <= 2 or not all(_is_whole(n, 1) for n in shape):
            raise block.error(f"{key}: random needs a shape like {dims} of positive integers", node)
        if "seed" in value and not _is_whole(value["seed"], 0):
            raise block.error(f"{key}: seed must be a whole number >= 0", node)
        result = tuple(shape)
    elif key == "b" and _is_number(value):
        result = ()
    else:
        result = _nested_shape(block, key, value, node)
    if key in MATRIX_KEYS_IN and len(result) != 2:
        raise block.error(f"{key} must be a matrix: a list of rows, or {{random: [rows, cols]}}", node)
    if key in VECTOR_KEYS and len(result) != 1 and not (key == "b" and result == ()):
        raise block.error(f"{key} must be a list of numbers", node)
    if key == "scores" and len(result) not in (1, 2):
        raise block.error("scores must be a list of numbers or of rows", node)
    return result


def _nested_shape(block: Block, key: str, value: Any, node: yaml.Node | None) -> tuple[int, ...]:
    """Shape of a list of finite numbers, or of a rectangular list of rows of them."""
    if not isinstance(value, list) or not value:
        raise block.error(f"{key}: expected a list of numbers or of rows", node)
    flat = not any(isinstance(x, list) for x in value)
    rows = [value] if flat else value
    width = len(rows[0]) if isinstance(rows[0], list) else -1
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise block.error(f"{key}: mixes numbers and rows", node)
        if len(row) != width:
            raise block.error(
                f"{key}: ragged rows (row {i + 1} has {counted(len(row), 'value')}, row 1 has {width})", node
            )
        for x in row:
            if not _is_number(x):
                what = "NaN or infinity" if isinstance(x, float) else "something that is not a finite number"
                raise block.error(f"{key}: row {i + 1} holds {what}", node)
    if width == 0:
        raise block.error(f"{key}: rows are empty", node)
    return (len(value),) if flat else (len(value), width)


def _array(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(value, dict):
        return np.random.default_rng(value.get("seed", 0)).standard_normal(shape)
    return np.array(value, dtype=np.float64)


def _fit(block: Block, shapes: dict[str, tuple[int, ...]]) -> None:
    """The arrays' shapes fit each other as the op combines them."""

    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise block.error(message, block.key_node(key))

    op = block.op
    if op == "softmax":
        return
    if op == "weights":
        cols = shapes["weights"][1]
        need(
            "v" not in shapes or shapes["v"][0] == cols,
            "v",
            f"v must have {counted(cols, 'row')}, one per key",
        )
        return
    x = shapes.get("x")
    q, k = shapes.get("q", x), shapes.get("k", x)
    assert q is not None and k is not None, "every other op requires x, or q and k (checked first)"
    v = shapes.get("v", x if op == "multihead" else None)
    need(v is None or v[0] == k[0], "v", f"v must have {counted(k[0], 'row')}, one per key")
    if op == "multihead":
        embed = q[1]
        need(
            k[1] == embed and (v is None or v[1] == embed),
            "k",
            f"q, k and v must all have {counted(embed, 'column')}",
        )
        need(
            embed % (block.heads or 1) == 0,
            "heads",
            f"{counted(embed, 'column')} cannot be split into {counted(block.heads or 1, 'head')}",
        )
        for name in ("w_q", "w_k", "w_v", "w_o"):
            need(shapes.get(name, (embed, embed)) == (embed, embed), name, f"{name} must be {embed}x{embed}")
    elif op in ("additive", "concat"):
        hidden = shapes["v_a"][0]
        if op == "additive":
            need(
                shapes["w_q"] == (q[1], hidden), "w_q", f"w_q must be {q[1]}x{hidden} (q columns x len(v_a))"
            )
            need(
                shapes["w_k"] == (k[1], hidden), "w_k", f"w_k must be {k[1]}x{hidden} (k columns x len(v_a))"
            )
        else:
            need(shapes["w"] == (q[1] + k[1], hidden), "w", f"w must be {q[1] + k[1]}x{hidden}")
        need(shapes.get("b", ()) in ((), (hidden,)), "b", f"b must hold {counted(hidden, 'number')}, as v_a")
    elif op == "general":
        need(shapes["w"] == (q[1], k[1]), "w", f"w must be {q[1]}x{k[1]} (q columns x k columns)")
    else:
        need(q[1] == k[1], "k", f"q and k must share their last dimension: {q[1]} != {k[1]}")
    if op == "linformer":
        e = shapes.get("proj", shapes.get("e"))
        assert e is not None, "linformer requires proj, or e (checked first)"
        f = shapes.get("f", e)
        need(e[1] == k[0] and f == e, "proj" if "proj" in shapes else "e", f"projections must be r x {k[0]}")


def _labels(block: Block) -> None:
    labels = block.data.get("labels")
    if labels is None:
        return
    node = block.key_node("labels")
    if not isinstance(labels, dict) or set(labels) - LABEL_KEYS:
        raise block.error("labels must be a mapping with queries and/or keys, each a list", node)
    for key, names in labels.items():
        if not isinstance(names, list) or not all(isinstance(n, str | int | float) for n in names):
            raise block.error(f"labels: {key} must be a list of names", block.key_node("labels", key))
        _no_yes_no(block, f"labels: {key}", names, block.key_node("labels", key))
    block.labels = labels


def _no_yes_no(block: Block, what: str, names: list[Any], node: yaml.Node | None) -> None:
    """A name YAML reads as true/false (``no``, ``yes``, ``on``) would be shown as True and,
    since False == 0, match key index 0 in ``argmax``: refused, naming the quoting it needs."""
    for i, name in enumerate(names):
        if isinstance(name, bool):
            items = node.value if isinstance(node, yaml.SequenceNode) else []
            text = items[i].value if i < len(items) else str(name).lower()
            raise block.error(
                f'{what}: {text} is read as true/false; quote it ("{text}") to mean the name', node
            )


def _expect(block: Block) -> None:
    expect = block.data.get("expect")
    if expect is None:
        return
    node = block.key_node("expect")
    if not isinstance(expect, dict):
        raise block.error("expect must be a mapping", node)
    for key, value in expect.items():
        if key not in EXPECT_KEYS:
            raise block.error(f"unknown expect key {key!r}; use {', '.join(sorted(EXPECT_KEYS))}", node)
        where = block.key_node("expect", key) or node
        if key in MATRIX_KEYS:
            _nested_shape(block, f"expect {key}", value, where)
        elif key == "score_var" and not _is_number(value):
            raise block.error("score_var must be a finite number", where)
        elif key == "shape" and (not isinstance(value, list) or not all(_is_whole(n, 0) for n in value)):
            raise block.error("expect shape must be a list of whole numbers, like [3, 2]", where)
        elif key == "argmax" and (
            not isinstance(value, list) or not all(isinstance(x, str | int | float) for x in value)
        ):
            raise block.error("expect argmax must be a list of key indices or labels", where)
        elif key == "argmax":
            _no_yes_no(block, "expect argmax", value, where)
        elif key == "claims":
            if not isinstance(value, list):
                raise block.error(f"expect claims must be a list of: {', '.join(sorted(CLAIMS))}", where)
            for claim in value:
                if not isinstance(claim, str) or claim not in CLAIMS:
                    raise block.error(f"unknown claim {claim!r}; use {', '.join(sorted(CLAIMS))}", where)
    block.expect = expect


def _lengths(block: Block, shapes: dict[str, tuple[int, ...]]) -> tuple[int, int, int, int]:
    """(queries L, keys S, query width E, value width Ev) as the op will see them."""
    if block.op in ("softmax", "weights"):
        s = shapes.get("scores", shapes.get("weights", (1,)))
        rows, cols = (1, s[0]) if len(s) == 1 else s
        return rows, cols, cols, shapes.get("v", (cols, 1))[-1]
    x = shapes.get("x", (1, 1))
    length, embed = shapes.get("q", x)
    source = shapes.get("k", x)[0]
    return length, source, embed, shapes.get("v", (source, source))[-1]


def _mask(block: Block, shapes: dict[str, tuple[int, ...]]) -> None:
    mask = block.data.get("mask")
    if mask is None:
        return
    node = block.key_node("mask")
    if block.op in ("softmax", "weights", "linformer"):
        raise block.error(f"op {block.op!r} takes no mask", node)
    length, source, _, _ = _lengths(block, shapes)
    if mask in MASKS:
        block.mask = mask
    elif isinstance(mask, dict) and set(mask) == {"window"} and _is_whole(mask["window"], 0):
        block.mask = min(mask["window"], max(length, source))  # a wider window changes nothing
    elif isinstance(mask, list):
        rows_ok = len(mask) == length and all(isinstance(r, list) and len(r) == source for r in mask)
        if not rows_ok or not all(x in (0, 1) and isinstance(x, int) for r in mask for x in r):
            raise block.error(f"mask must be a {length}x{source} matrix of 0/1 (1 = may attend)", node)
        block.mask = np.array(mask, dtype=bool)
    else:
        raise block.error("mask must be causal, causal_lower_right, {window: w} or a 0/1 matrix", node)
    if block.op in ("linear", "local") and not (isinstance(block.mask, str) and block.mask == "causal"):
        raise block.error(f"op {block.op!r} supports mask: causal only", node)


def implied_elements(block: Block, shapes: dict[str, tuple[int, ...]]) -> int:
    """Elements of the arrays running the block creates, beyond its inputs: the score and weight
    matrices, random projections, and the intermediates of the ops that have large ones."""
    op = block.op
    length, source, embed, ev = _lengths(block, shapes)
    if op in ("softmax", "weights"):
        return 2 * length * source + length * ev
    total = 3 * length * source + length * ev  # scores, weights, a mask; the output
    if "v" not in shapes:
        total += source * source  # the identity that stands in for v
    if op in ("additive", "concat"):
        total += 2 * length * source * shapes.get("v_a", (1,))[0]  # tanh(q W_q + k W_k), L×S×H
    elif op == "multihead":
        heads = block.heads or 1
        if "w_q" not in shapes:
            total += 4 * embed * embed  # random in- and out-projections
        total += 2 * heads * length * source + 4 * (length + source) * embed
    elif op == "local":
        width = 2 * min(block.window or 0, source) + 1
        total += length * width * (embed + ev + 2)  # gathered keys and values, scores, weights
    elif op == "linear" and block.mask == "causal":
        total += source * embed * ev + source * embed  # prefix sums of φ(k) vᵀ
    return total


# --- written precision ----------------------------------------------------------------------

_DECIMAL = re.compile(r"^[-+]?(\d*)\.(\d+)$")


def written_tolerance(text: str) -> float:
    """0.33 matches anything within 0.005; an integer as written must match to 1e-9."""
    text = text.strip().lower()
    m = _DECIMAL.match(text)
    if m:
        return 0.5 * 10.0 ** -len(m.group(2))
    if "e" in text:
        mantissa, _, exp = text.partition("e")
        mm = _DECIMAL.match(mantissa)
        places = len(mm.group(2)) if mm else 0
        try:
            return 0.5 * 10.0 ** (int(exp) - places)
        except ValueError:
            return 1e-9
    return 1e-9


def decimals(text: str) -> int:
    m = _DECIMAL.match(text.strip())
    return len(m.group(2)) if m else 0


def scalar_nodes(node: yaml.Node | None) -> list[yaml.ScalarNode]:
    """Scalars of a (nested) sequence, in row-major order."""
    if node is None:
        return []
    if isinstance(node, yaml.ScalarNode):
        return [node]
    if isinstance(node, yaml.SequenceNode):
        return [s for child in node.value for s in scalar_nodes(child)]
    return []
