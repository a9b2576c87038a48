"""The ``attention`` block: parsing and validating it, with file lines for every complaint.

A block is YAML, loaded safely; we keep the composed node tree too, because the precision a
number is *written* with is its tolerance, and ``--update`` rewrites numbers in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from attnkb import yamlsafe
from attnkb.errors import ExampleError
from attnkb.examples import DEFAULT_MAX_ELEMENTS

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
ARRAY_KEYS = {
    "q",
    "k",
    "v",
    "x",
    "w",
    "w_q",
    "w_k",
    "w_v",
    "w_o",
    "v_a",
    "b",
    "proj",
    "e",
    "f",
    "scores",
    "weights",
}


@dataclass
class Block:
    path: str
    line: int  # the opening fence
    text: str
    op: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    node: yaml.MappingNode | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def first_line(self) -> int:
        return self.line + 1

    def error(self, message: str, node: yaml.Node | None = None) -> ExampleError:
        line = self.first_line + node.start_mark.line if node is not None else self.line
        return ExampleError(message, path=self.path, line=line)

    def key_node(self, *keys: str) -> yaml.Node | None:
        node: yaml.Node | None = self.node
        for key in keys:
            if not isinstance(node, yaml.MappingNode):
                return None
            node = next((v for k, v in node.value if k.value == key), None)
        return node


def parse_block(path: str, line: int, text: str, max_elements: int = DEFAULT_MAX_ELEMENTS) -> Block:
    block = Block(path, line, text)
    try:
        data, block.node = yamlsafe.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = ExampleError("", path=path, line=block.first_line + (mark.line if mark else 0))
        reason = getattr(exc, "problem", None) or "invalid YAML"
        raise ExampleError(f"invalid YAML in attention block: {reason}", path, where.line) from exc
    if not isinstance(data, dict):
        raise block.error("an attention block must be a YAML mapping")
    block.data = data
    op = data.get("op")
    if op not in OPS:
        known = ", ".join(sorted(OPS))
        raise block.error(f"unknown or missing op {op!r}; expected one of: {known}", block.key_node("op"))
    block.op = op
    required, optional = OPS[op]
    for key in data:
        if key not in required | optional | COMMON:
            raise block.error(f"unknown key {key!r} for op {op!r}", block.key_node(key))
    missing = sorted(required - set(data))
    if missing:
        raise block.error(f"op {op!r} needs {', '.join(missing)}")
    if op == "multihead" and "x" not in data and not {"q", "k", "v"} <= set(data):
        raise block.error("op 'multihead' needs x, or q, k and v")
    if op == "linformer" and "proj" not in data and "e" not in data:
        raise block.error("op 'linformer' needs proj, or e (and optionally f)")
    total = 0
    for key in ARRAY_KEYS & set(data):
        block.arrays[key] = _array(block, key, data[key], max_elements)
        total += block.arrays[key].size
    _check_expect(block)
    _check_sizes(block, total, max_elements)
    return block


_NUMBER = (int, float)


def _array(block: Block, key: str, value: Any, max_elements: int) -> np.ndarray:
    node = block.key_node(key)
    if isinstance(value, dict):
        if set(value) - {"random", "seed"} or "random" not in value:
            raise block.error(f"{key}: use a list of rows or {{random: [rows, cols], seed: N}}", node)
        shape = value["random"]
        if (
            not isinstance(shape, list)
            or not 1 <= len(shape) <= 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
        ):
            raise block.error(f"{key}: random needs a shape like [rows, cols] of positive integers", node)
        if int(np.prod(shape)) > max_elements:
            raise block.error(
                f"{key}: {int(np.prod(shape)):,} elements is over the limit of {max_elements:,}", node
            )
        seed = value.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise block.error(f"{key}: seed must be a whole number >= 0", node)
        return np.random.default_rng(seed).standard_normal(shape)
    if isinstance(value, _NUMBER) and not isinstance(value, bool):
        return np.array(float(value))
    if not isinstance(value, list) or not value:
        raise block.error(f"{key}: expected a list of numbers or of rows", node)
    if all(isinstance(x, _NUMBER) and not isinstance(x, bool) for x in value):
        return np.array(value, dtype=np.float64)
    if not all(isinstance(row, list) for row in value):
        raise block.error(f"{key}: mixes numbers and rows", node)
    width = len(value[0])
    for i, row in enumerate(value):
        if len(row) != width:
            raise block.error(
                f"{key}: ragged rows (row {i + 1} has {len(row)} values, row 1 has {width})", node
            )
        if not all(isinstance(x, _NUMBER) and not isinstance(x, bool) for x in row):
            raise block.error(f"{key}: row {i + 1} holds something that is not a number", node)
    if width == 0:
        raise block.error(f"{key}: rows are empty", node)
    return np.array(value, dtype=np.float64)


def _check_expect(block: Block) -> None:
    expect = block.data.get("expect")
    if expect is None:
        return
    node = block.key_node("expect")
    if not isinstance(expect, dict):
        raise block.error("expect must be a mapping", node)
    for key in expect:
        if key not in EXPECT_KEYS:
            raise block.error(f"unknown expect key {key!r}; use {', '.join(sorted(EXPECT_KEYS))}", node)
    for claim in expect.get("claims") or []:
        if claim not in CLAIMS:
            raise block.error(f"unknown claim {claim!r}; use {', '.join(sorted(CLAIMS))}", node)
    var = expect.get("score_var")
    if "score_var" in expect and (not isinstance(var, _NUMBER) or isinstance(var, bool)):
        raise block.error("score_var must be a number", block.key_node("expect", "score_var"))
    tol = block.data.get("tol")
    if tol is not None and (not isinstance(tol, _NUMBER) or isinstance(tol, bool) or tol < 0):
        raise block.error("tol must be a number >= 0", block.key_node("tol"))


def _check_sizes(block: Block, total: int, max_elements: int) -> None:
    a = block.arrays
    if "q" in a and "k" in a:
        total += a["q"].shape[0] * a["k"].shape[0] * (a["w_q"].shape[-1] if "w_q" in a else 1)
    if "x" in a:
        total += a["x"].shape[0] ** 2
    if total > max_elements:
        raise block.error(f"block needs {total:,} elements, over the limit of {max_elements:,}")


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
