"""What a note says it is about: the score function its title, headings, tags and blocks name.

A formula is judged against that, not against whichever score function happens to agree: in a
note about scaled dot-product attention a formula without √d_k is a slip, even though it is
exactly dot-product attention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SCALED = re.compile(r"scaled|缩放|放缩|√\s*d|sqrt\s*\(?\s*d", re.IGNORECASE)
DOT = re.compile(r"dot[- ]?product|点积|点乘|multiplicative|乘性|luong", re.IGNORECASE)
MASKED = re.compile(r"mask|causal|掩码|掩蔽|遮蔽|因果", re.IGNORECASE)
SCALED_OPS = {"scaled_dot", "multihead", "local", "hard"}


@dataclass
class About:
    title: str = ""
    tags: list[str] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)  # (line, text), in order
    block_ops: list[str] = field(default_factory=list)

    def heading(self, line: int) -> str:
        """The text of the nearest heading above ``line`` (its section)."""
        above = [text for at, text in self.headings if at <= line]
        return above[-1] if above else ""

    def scaled(self, line: int) -> bool:
        """Whether the formula at ``line`` is about scaled dot-product attention: its section
        heading says so (a section about plain dot-product attention says not), else the
        title or a tag, else a scaled block anywhere in the note."""
        heading = self.heading(line)
        if SCALED.search(heading):
            return True
        if DOT.search(heading) and heading != self.title:
            return False
        if SCALED.search(self.title) or any(SCALED.search(t) for t in self.tags):
            return True
        return any(op in SCALED_OPS for op in self.block_ops) and not DOT.search(self.title)

    def masked(self, line: int) -> bool:
        """Whether the formula's own section is about masked (causal) attention."""
        heading = self.heading(line)
        return bool(MASKED.search(heading)) and heading != self.title
