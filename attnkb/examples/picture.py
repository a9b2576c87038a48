"""What a picture of a block's result shows: its weight matrices (one per head), the scores
before softmax, labels and masked cells, and the one colour scale every picture uses.

The terminal heatmap (``attnkb.cli.heatmap``) and the files ``--plot`` writes
(``attnkb.examples.plot``) both draw these panels, so the two never disagree about what is
shown or in which colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attnkb.examples.runner import Result

# viridis (matplotlib's default map: perceptually uniform, readable in grey and by most colour
# blind readers) at 0, 1/8, ..., 1; the terminal interpolates between these stops
SCALE: tuple[tuple[int, int, int], ...] = (
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
)
COLORMAP = "viridis"  # the same scale, by its matplotlib name


def colour(level: float) -> tuple[int, int, int]:
    """The scale's colour at ``level`` in [0, 1] (clipped)."""
    x = min(max(level, 0.0), 1.0) * (len(SCALE) - 1)
    i = min(int(x), len(SCALE) - 2)
    t = x - i
    a, b = SCALE[i], SCALE[i + 1]
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def dark(level: float) -> bool:
    """Whether text on the scale's colour at ``level`` should be light."""
    r, g, b = colour(level)
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


@dataclass
class Panel:
    """One matrix to draw: rows are queries, columns keys."""

    title: str
    values: np.ndarray  # (L, S)
    rows: list[str]
    cols: list[str]
    allowed: np.ndarray | None = None  # (L, S) True = may attend; None: nothing masked
    unit: bool = True  # on the 0..1 scale (weights); False: scores, scaled to their own range

    def masked(self, i: int, j: int) -> bool:
        return self.allowed is not None and not bool(self.allowed[i, j])


def _labels(given: object, count: int) -> list[str]:
    names = [str(x) for x in given] if isinstance(given, list) else []
    return [names[i] if i < len(names) else str(i) for i in range(count)]


def weight_panels(result: Result, heads: bool = True) -> list[Panel]:
    """The weights of a block that ran: one panel, or with ``heads`` one per head for op
    multihead (without, their mean: the weights ``expect`` is compared with)."""
    live, block = result.live, result.block
    if live is None or block is None or live.weights is None:
        return []
    labels = block.labels
    if heads and live.heads is not None:
        matrices = list(live.heads)
    else:
        matrices = [live.weights if live.weights.ndim == 2 else live.weights.reshape(1, -1)]
    length, source = matrices[0].shape
    rows, cols = _labels(labels.get("queries"), length), _labels(labels.get("keys"), source)
    allowed = live.allowed if live.allowed is not None and live.allowed.shape == (length, source) else None
    if len(matrices) == 1:
        return [Panel("weights (rows: queries, columns: keys)", matrices[0], rows, cols, allowed)]
    return [
        Panel(f"head {h + 1}/{len(matrices)}: weights", w, rows, cols, allowed)
        for h, w in enumerate(matrices)
    ]


def score_panel(result: Result) -> Panel | None:
    """The scores before softmax (the block's own for op softmax), where the block has them."""
    live, block = result.live, result.block
    if live is None or block is None:
        return None
    scores = live.scores if live.scores is not None else block.arrays.get("scores")
    if scores is None:
        return None
    scores = scores if scores.ndim == 2 else scores.reshape(1, -1)
    length, source = scores.shape
    labels = block.labels
    allowed = live.allowed if live.allowed is not None and live.allowed.shape == scores.shape else None
    return Panel(
        "scores (before softmax)",
        scores,
        _labels(labels.get("queries"), length),
        _labels(labels.get("keys"), source),
        allowed,
        unit=False,
    )
