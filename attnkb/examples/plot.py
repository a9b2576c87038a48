"""A block's picture as a file: its weights (one panel per head) and its scores before softmax,
drawn by matplotlib as SVG or PNG.

matplotlib is the optional ``plot`` extra (``pip install -e '.[plot]'``) and is imported only
here, when a picture is asked for: ``attnkb --help`` and every other command never load it.
Each weight is one cell (a path in the SVG, inside the group ``weights-N``, or ``scores``),
masked cells are drawn hatched on grey, never as 0; text stays text in the SVG, so Chinese
labels are drawn by whatever shows the file, with its own fonts.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from attnkb.errors import UsageError
from attnkb.examples.picture import COLORMAP, Panel, score_panel, weight_panels
from attnkb.examples.runner import Result

FORMATS = {".svg": "svg", ".png": "png"}
EXTRA = "pip install 'attnkb[plot]'  (from a checkout: pip install -e '.[plot]')"
MAX_NUMBERS = 12  # rows and columns up to which each cell shows its value
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei")


def picture_format(path: Path) -> str:
    """``svg`` or ``png`` from the file name; anything else is bad usage."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError("--plot writes .svg or .png files", str(path))
    return fmt


def plot_available() -> None:
    """Bad usage, naming the extra, when matplotlib is not installed: said before any work."""
    _matplotlib()


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UsageError(f"--plot needs matplotlib, the optional extra 'plot': {EXTRA}") from None
    return matplotlib


def _fonts(matplotlib: Any) -> list[str]:
    """matplotlib's own sans-serif, then the first installed CJK font for Chinese labels."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *(name for name in CJK_FONTS if name in installed)][:2]


def render(result: Result, fmt: str) -> bytes:
    """The picture of one block that ran, as the bytes of an SVG or PNG file."""
    matplotlib = _matplotlib()
    panels = weight_panels(result)
    scores = score_panel(result)
    if scores is not None:
        panels.append(scores)
    if not panels:
        raise UsageError("this block computes no weights to draw", result.path)
    settings = {
        "svg.fonttype": "none",  # text as text: the viewer's fonts draw every script
        "svg.hashsalt": "attnkb",  # the same block gives the same file
        "font.family": _fonts(matplotlib),
        "font.size": 9,
    }
    fonts = logging.getLogger("matplotlib.font_manager")
    quiet = fonts.level
    fonts.setLevel(logging.ERROR)  # "Failed to find font weight normal": a CJK font's medium is used
    try:
        with matplotlib.rc_context(settings), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from")  # PNG without a CJK font
            return _figure(result, panels, fmt)
    finally:
        fonts.setLevel(quiet)


def _figure(result: Result, panels: list[Panel], fmt: str) -> bytes:
    from matplotlib.figure import Figure

    length, source = panels[0].values.shape
    side = min(4.2, max(2.4, 0.42 * max(length, source) + 1.2))
    fig = Figure(figsize=(side * len(panels) + 0.8, side + 0.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    weight_count = 0
    for ax, panel in zip(axes, panels, strict=True):
        gid = f"weights-{weight_count}" if panel.unit else "scores"
        weight_count += panel.unit
        _draw(fig, ax, panel, gid)
    title = f"{result.path}:{result.line}" + (f" {result.op}" if result.op else "")
    fig.suptitle(title, fontsize=9)
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, metadata=metadata, dpi=150)
    return buffer.getvalue()


def _draw(fig: Any, ax: Any, panel: Panel, gid: str) -> None:
    from matplotlib.patches import Rectangle

    values = panel.values
    length, source = values.shape
    shown = values if panel.allowed is None else np.where(panel.allowed, values, np.nan)
    if panel.unit:
        low, high = 0.0, 1.0
    else:
        finite = shown[np.isfinite(shown)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if low == high:
            low, high = low - 1, high + 1
    mesh = ax.pcolormesh(
        np.nan_to_num(shown, nan=low), cmap=COLORMAP, vmin=low, vmax=high, edgecolors="white", linewidth=0.5
    )
    mesh.set_gid(gid)
    if panel.allowed is not None:
        for i, j in zip(*np.nonzero(~panel.allowed), strict=True):
            cell = Rectangle(
                (j, i), 1, 1, facecolor="#d9d9d9", edgecolor="#8c8c8c", hatch="xx", linewidth=0.5
            )
            cell.set_gid(f"{gid}-masked-{i}-{j}")
            ax.add_patch(cell)
    if length <= MAX_NUMBERS and source <= MAX_NUMBERS:
        for i in range(length):
            for j in range(source):
                if panel.masked(i, j):
                    continue
                level = (values[i, j] - low) / (high - low)
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"{values[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if level < 0.6 else "black",
                )
    ax.set_xlim(0, source)
    ax.set_ylim(length, 0)  # query 0 at the top, as the matrix is written
    ax.set_aspect("equal")
    step = max(1, max(length, source) // MAX_NUMBERS)
    ax.set_xticks(np.arange(0, source, step) + 0.5, [panel.cols[j] for j in range(0, source, step)])
    ax.set_yticks(np.arange(0, length, step) + 0.5, [panel.rows[i] for i in range(0, length, step)])
    ax.tick_params(length=0)
    ax.set_xlabel("keys")
    ax.set_ylabel("queries")
    ax.set_title(panel.title, fontsize=9)
    fig.colorbar(mesh, ax=ax, shrink=0.8)


def write_pictures(results: list[Result], target: Path) -> list[Path]:
    """Each block that ran drawn into ``target`` (one block), or ``stem-1.svg``, ``stem-2.svg``
    … beside it (several), through the write rule; the files written."""
    from attnkb.files import atomic_write

    fmt = picture_format(target)
    drawn = [r for r in results if r.status != "error" and r.live is not None and r.live.weights is not None]
    if not drawn:
        raise UsageError("no block here ran, so there is nothing to draw", str(target))
    if not target.parent.is_dir():
        raise UsageError("no such folder", str(target.parent))
    written = []
    for n, result in enumerate(drawn, 1):
        path = target if len(drawn) == 1 else target.with_name(f"{target.stem}-{n}{target.suffix}")
        atomic_write(path, render(result, fmt))
        written.append(path)
    return written


ATTACHMENTS = "attachments"  # Obsidian's usual folder for a note's files, beside the note


def _link_target(relative: str) -> str:
    """A Markdown link destination: in angle brackets where spaces or parentheses need them."""
    return f"<{relative}>" if any(c in relative for c in " ()<>") else relative


def attach_pictures(root: Path, results: list[Result]) -> list[Path]:
    """``run-example --update --attach``: each block of one note that ran drawn as
    ``attachments/NOTE-N.svg`` beside the note (N counts the note's blocks) and linked on the
    line after the block's closing fence (``![weights](attachments/NOTE-N.svg)``), so Obsidian
    shows it too. A link already there is left as it is; the pictures are redrawn. The note is
    rewritten under the vault's lock, only if it did not change meanwhile."""
    from attnkb.errors import ExampleError
    from attnkb.files import atomic_write, make_dirs
    from attnkb.markdown import split_lines
    from attnkb.note import decode
    from attnkb.srs.log import ReviewLog
    from attnkb.vault import STATE_DIR

    drawn = [r for r in results if r.status != "error" and r.block is not None and r.live is not None]
    drawn = [r for r in drawn if r.live is not None and r.live.weights is not None]
    if not drawn:
        return []
    path = drawn[0].path
    file = root / path
    original = file.read_bytes()
    text, problems = decode(original)
    if problems:
        raise ExampleError("file is not valid UTF-8; not linking pictures in it", path, problems[0].line)
    lines = split_lines(text, keepends=True)
    newline = "\r\n" if "\r\n" in text else "\n"
    folder = make_dirs(file.parent / ATTACHMENTS, root)
    written, inserts = [], []
    for n, result in enumerate(drawn, 1):
        assert result.block is not None
        name = f"{file.stem}-{n}.svg"
        atomic_write(folder / name, render(result, "svg"), root)
        written.append(folder / name)
        closing = result.block.first_line + result.block.text.count("\n") - 1  # 0-based fence line
        link = f"![weights]({_link_target(f'{ATTACHMENTS}/{name}')})"
        after = lines[closing + 1].rstrip("\r\n") if closing + 1 < len(lines) else None
        if closing >= len(lines) or after == link:
            continue
        inserts.append((closing + 1, link))
    if inserts:
        for at, link in sorted(inserts, reverse=True):
            if at == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
                lines[-1] += newline
            lines.insert(at, link + newline)
        with ReviewLog(root / STATE_DIR).locked():  # the lock every writer of notes takes
            if file.read_bytes() != original:
                raise ExampleError("the file changed while its examples ran; not linking (run again)", path)
            atomic_write(file, "".join(lines), root)
    return written
