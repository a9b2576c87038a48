"""The one place note text becomes terminal output.

Everything that comes from a vault (titles, headings, questions, answers, tags, paths, file
names, messages quoting them) is untrusted: printed as a rich markup string, ``[INST]`` crashes
the command and ``s[i][j]`` loses its brackets; printed as is, ESC/OSC bytes clear the screen or
forge hyperlinks. So every command builds its output from these helpers:

- ``clean(text)``: the text with control characters removed (ESC sequences whole, other C0/C1
  controls, bidi overrides); ``multiline=False`` also turns line breaks and tabs into spaces.
- ``plain(text, style)``: a rich ``Text`` of ``clean(text)``, never parsed as markup.
- ``line(*parts)``: one ``Text`` from several parts, each a string or ``(string, style)``.
- ``attnkb.mathtext.math_readable(text)``: the LaTeX formulas in text (``$..$``, ``$$..$$``, ``\\(..\\)``,
  ``\\[..\\]``) as Unicode (``$QK^\\top/\\sqrt{d_k}$`` → ``QKᵀ/√(d_k)``); code is left alone.
- ``markdown(text, raw_math=False)``: a rich Markdown renderable of a note's text, cleaned,
  with formulas readable (or, with ``raw_math``, as their LaTeX source).
- ``json_escaped(text)``: JSON output with every control character written as an escape.
- ``one_line(text)``: ``clean`` on one line, for messages (errors, warnings) and printed paths.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from attnkb.mathtext import latex_to_unicode, math_spans

if TYPE_CHECKING:  # rich is imported where text is rendered: `attnkb --help` need not pay for it
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.style import Style
    from rich.text import Text

# Whole escape sequences go (so ``ESC[2J`` leaves nothing behind): CSI, and OSC/DCS/SOS/PM/APC
# strings with their terminator. A lone ESC (or an unterminated string) loses only the ESC.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# C0 and C1 controls except tab and line feed, DEL, and the bidi embeddings, overrides and
# isolates that can make a line read differently from what it holds ("Trojan Source").
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_BREAKS = re.compile(r"\r\n?|[\u2028\u2029]")
_SPACES = re.compile(r"[\t\n]")


def clean(text: object, *, multiline: bool = True) -> str:
    """Text safe to print: no escape sequence, no control character but tab and newline (and
    with ``multiline=False``, not those either: they become spaces)."""
    text = _BREAKS.sub("\n", str(text))
    text = _CONTROLS.sub("", _SEQUENCES.sub("", text))
    return text if multiline else _SPACES.sub(" ", text)


def json_escaped(text: str) -> str:
    """JSON text with the controls json.dumps leaves raw (C1, bidi overrides; it escapes C0)
    written as ``\\uXXXX``: the same data for a parser, nothing live for a terminal."""
    return _CONTROLS.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def one_line(message: object) -> str:
    """A message (error, warning) or path that may quote user text: cleaned, on one line."""
    return clean(message, multiline=False)


def plain(text: object, style: str | Style = "", *, multiline: bool = False) -> Text:
    """Note text as rich ``Text``: shown literally, never read as markup."""
    from rich.text import Text

    return Text(clean(text, multiline=multiline), style=style)


def line(*parts: str | tuple[str, str | Style]) -> Text:
    """One line from parts, each plain text or ``(text, style)``; every part is cleaned."""
    from rich.text import Text

    out = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        out.append(clean(text, multiline=False), style=style)
    return out


_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def _code_span(text: str) -> str:
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def markdown_source(text: str, *, raw_math: bool = False) -> str:
    """Markdown whose formulas survive rendering: as Unicode, escaped so that ``*`` and ``_``
    stay literal, or with ``raw_math`` as code, so that rendering eats none of the LaTeX's
    backslashes (``\\!``, ``\\,``, ``\\{``). A display formula becomes a paragraph of its own."""

    def swap(body: str, whole: str, display: bool) -> str:
        if raw_math:
            shown = _code_span(("$$" + " ".join(body.split()) + "$$") if display else whole)
        else:
            shown = _MD_PUNCTUATION.sub(r"\\\1", latex_to_unicode(body))
        return f"\n\n{shown}\n\n" if display else shown

    return math_spans(clean(text), swap)


class _Sanitized:
    """A renderable whose text segments are cleaned once more after rendering: Markdown decodes
    entities (``&#x202e;``) and carries link targets, which the source cleaning cannot see."""

    def __init__(self, renderable: RenderableType):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for seg in console.render(self.renderable, options):
            if seg.control:
                yield seg
                continue
            style = seg.style
            if style is not None and style.link and clean(style.link, multiline=False) != style.link:
                style = style.update_link(None)
            yield Segment(clean(seg.text), style)


# Han, kana, Hangul, CJK punctuation and full-width forms: scripts written without spaces
_CJK = re.compile(
    r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f]"
)


def _join_cjk_breaks(tokens) -> None:
    """A soft line break between two CJK characters renders as nothing (as Obsidian and most
    Chinese renderers do; CommonMark leaves it to the renderer): a paragraph of Chinese wrapped
    across source lines reads ``注意力机制``, not ``注意力 机制``."""
    for token in tokens:
        children = token.children or []
        for before, brk, after in zip(children, children[1:], children[2:], strict=False):
            if (
                brk.type == "softbreak"
                and before.type == after.type == "text"
                and before.content[-1:]
                and _CJK.match(before.content[-1])
                and _CJK.match(after.content[:1] or " ")
            ):
                brk.type, brk.content = "text", ""


def markdown(text: str, *, raw_math: bool = False) -> RenderableType:
    """A note's Markdown, rendered by rich, with nothing from the note reaching the terminal
    as a control code; formulas readable (or raw, see ``markdown_source``)."""
    from rich.markdown import Markdown

    rendered = Markdown(markdown_source(text, raw_math=raw_math))
    _join_cjk_breaks(rendered.parsed)
    return _Sanitized(rendered)
