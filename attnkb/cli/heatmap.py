"""A block's attention weights as a heatmap in the terminal, or as digits where colour is off.

One cell per weight, shaded on the scale of ``attnkb.examples.picture`` from 0 to 1 (rich
writes the colours as truecolor where the terminal has it and as the nearest of 256 else),
the value printed in the cell when the matrix fits, masked cells drawn as masked (never as 0),
rows labelled by query and columns by key, a legend, and one heatmap per head side by side
where they fit. ``NO_COLOR`` or piped output: the digits table, masked cells as ``-``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attnkb.examples.picture import Panel, colour, dark, weight_panels
from attnkb.examples.runner import Result

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.style import Style
    from rich.text import Text

VALUE_CELL = 6  # " 0.67 "
BLOCK_CELL = 2  # a shaded square, no digits
MAX_VALUE_ROWS = 16
MAX_ROWS = 32
MAX_LABEL = 10  # cells of a row label
GAP = 3  # between heatmaps side by side
MASKED = "grey23"


def _fit(text: str, width: int, align: str = "right") -> str:
    """``text`` in exactly ``width`` terminal cells (a CJK character takes two)."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    pad = width - cell_len(text)
    if align == "center":
        return " " * (pad // 2) + text + " " * (pad - pad // 2)
    return " " * pad + text if align == "right" else text + " " * pad


def number(x: float) -> str:
    """A weight in at most 4 characters where it can be (0.67, 1.00, -0.5)."""
    text = f"{x:.2f}"
    if len(text) > 4:
        text = f"{x:.1f}" if abs(x) < 99.95 else f"{x:.0e}"
    return text


def _style(level: float) -> Style:
    """A new Style each time: rich keeps a style's escape codes for the first colour system it
    was written in, and a parsed style string is shared."""
    from rich.color import Color
    from rich.style import Style

    return Style(color="white" if dark(level) else "black", bgcolor=Color.from_rgb(*colour(level)))


def _masked() -> Style:
    from rich.style import Style

    return Style(color="grey62", bgcolor=MASKED)


def panel_lines(panel: Panel, width: int) -> list[Text]:
    """The heatmap of one panel as lines of equal width, at most ``width`` cells wide."""
    from rich.cells import cell_len
    from rich.text import Text

    from attnkb.cli.render import clean
    from attnkb.plural import counted

    length, source = panel.values.shape
    rows = [clean(r, multiline=False) for r in panel.rows]
    cols = [clean(c, multiline=False) for c in panel.cols]
    label = min(MAX_LABEL, max((cell_len(r) for r in rows), default=1))
    room = max(1, width - label - 1)
    values = length <= MAX_VALUE_ROWS and source * VALUE_CELL <= room
    cell = VALUE_CELL if values else BLOCK_CELL
    shown_rows, shown_cols = min(length, MAX_ROWS), min(source, max(1, room // cell))
    title = panel.title
    if (shown_rows, shown_cols) != (length, source):
        title += (
            f" (first {shown_rows} of {counted(length, 'row')}, {shown_cols} of {counted(source, 'column')})"
        )
    total = label + 1 + shown_cols * cell
    lines = [Text(_fit(title, max(total, cell_len(title)), "left"), style="bold")]
    if values:
        header = " " * (label + 1) + "".join(_fit(c, cell, "center") for c in cols[:shown_cols])
    else:  # two cells a key: every fifth key's number, as a ruler
        marks = "".join(_fit(str(j) if j % 5 == 0 else "", cell, "left") for j in range(shown_cols))
        header = " " * (label + 1) + marks
    lines.append(Text(_fit(header, lines[0].cell_len, "left"), style="dim"))
    for i in range(shown_rows):
        row = Text(_fit(rows[i], label) + " ")
        for j in range(shown_cols):
            if panel.masked(i, j):
                row.append(_fit("×", cell, "center"), style=_masked())
                continue
            x = float(panel.values[i, j])
            text = _fit(number(x), cell, "center") if values else " " * cell
            row.append(text, style=_style(x))
        row.append(" " * (lines[0].cell_len - row.cell_len))
        lines.append(row)
    return lines


def legend(masked: bool) -> Text:
    from rich.text import Text

    text = Text()
    text.append("0 ", style="dim")
    for k in range(9):
        text.append("  ", style=_style(k / 8))
    text.append(" 1", style="dim")
    if masked:
        text.append("   ")
        text.append(" × ", style=_masked())
        text.append(" masked (may not attend)", style="dim")
    return text


def side_by_side(blocks: list[list[Text]], width: int) -> list[Text]:
    """Heatmaps next to each other as far as ``width`` allows, the rest below."""
    from rich.text import Text

    out: list[Text] = []
    row: list[list[Text]] = []
    used = 0
    for block in [*blocks, []]:
        w = max((t.cell_len for t in block), default=0)
        if row and (not block or used + GAP + w > width):
            height = max(len(b) for b in row)
            for k in range(height):
                joined = Text()
                for n, b in enumerate(row):
                    bw = max(t.cell_len for t in b)
                    piece = b[k] if k < len(b) else Text(" " * bw)
                    joined.append_text(piece)
                    if n < len(row) - 1:
                        joined.append(" " * GAP)
                out.append(joined)
            out.append(Text())
            row, used = [], 0
        if block:
            row.append(block)
            used += w + (GAP if len(row) > 1 else 0)
    return out


def heatmaps(result: Result, width: int) -> RenderableType | None:
    """The weights of a block that ran as heatmaps, with the legend; None when it has none."""
    from rich.console import Group

    panels = weight_panels(result)
    if not panels:
        return None
    lines = side_by_side([panel_lines(p, width) for p in panels], width)
    masked = any(p.allowed is not None and not p.allowed.all() for p in panels)
    return Group(*lines, legend(masked))


def digits(result: Result, width: int) -> RenderableType | None:
    """The same weights as a table of numbers: for NO_COLOR and piped output."""
    from rich.console import Group
    from rich.table import Table

    from attnkb.cli.render import plain
    from attnkb.plural import counted

    tables = []
    for panel in weight_panels(result, heads=False):
        length, source = panel.values.shape
        fit = max(1, min(MAX_VALUE_ROWS, (width - 12) // 8))
        shown_rows, shown_cols = min(length, MAX_VALUE_ROWS), min(source, fit)
        title = panel.title
        if (shown_rows, shown_cols) != (length, source):
            title += f" (first {shown_rows} of {counted(length, 'row')}, {shown_cols} of {counted(source, 'column')})"
        table = Table(title=plain(title), box=None, padding=(0, 1), title_justify="left")
        table.add_column("")
        for label in panel.cols[:shown_cols]:
            table.add_column(plain(label), justify="right")
        for i in range(shown_rows):
            cells = [
                "-" if panel.masked(i, j) else f"{float(panel.values[i, j]):6.3f}" for j in range(shown_cols)
            ]
            table.add_row(plain(panel.rows[i]), *cells)
        tables.append(table)
    return Group(*tables) if tables else None


def weights_view(result: Result, picture: bool = True) -> RenderableType | None:
    """Heatmaps where the output has colour and ``picture`` is asked for, else digits."""
    from attnkb.cli.common import out

    width = out.width
    if picture and out.color_system is not None and not out.no_color:
        return heatmaps(result, width)
    return digits(result, width)
