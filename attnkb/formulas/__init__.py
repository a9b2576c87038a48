"""Formulas stated in notes, checked against the kernel.

``find`` finds them (LaTeX math and plain-text fences), ``parts`` splits a display into the
formulas it states, ``lexer`` and ``grammar`` read them (our own lark grammar: nothing from a
note is ever executed), ``functions`` is the one table of the functions they may name,
``evaluate`` computes them with NumPy on a block's inputs (``inputs``), ``targets`` says what
a left side names, ``compare`` compares, ``slips`` names the mistake behind a failure, and
``check`` gives the verdicts.
"""

from __future__ import annotations

from pathlib import Path

from attnkb.note import Note


def check_note(root: Path, note: Note, block_results: list) -> list:
    """Verdicts on every formula of ``note``; ``block_results`` are its blocks' runner results."""
    from attnkb import frontmatter
    from attnkb.formulas.about import About
    from attnkb.formulas.check import check_formulas
    from attnkb.formulas.inputs import from_block
    from attnkb.note import decode

    text, _ = decode((Path(root) / note.path).read_bytes())
    parts = frontmatter.split(text)
    blocks = [(r.line, from_block(r)) for r in block_results]
    headings = [h.line for h in note.headings]
    about = About(
        note.title,
        list(note.tags),
        [(h.line, h.text) for h in note.headings],
        [r.block.op for r in block_results if r.block is not None],
    )
    return check_formulas(note.path, parts.body, parts.body_line, blocks, headings, about)
