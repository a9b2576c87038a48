"""The one place note text becomes terminal output.

Everything that comes from a vault (titles, headings, questions, answers, tags, paths, file
names, messages quoting them) is untrusted: printed as a rich markup string, ``[INST]`` crashes
the command and ``s[i][j]`` loses its brackets; printed as is, ESC/OSC bytes clear the screen or
forge hyperlinks. So every command builds its output from these helpers:

- ``clean(text)``: the text with control characters removed (ESC sequences whole, other C0/C1
  controls, bidi overrides); ``multiline=False`` also turns line breaks and tabs into spaces.
- ``plain(text, style)``: a rich ``Text`` of ``clean(text)``, never parsed as markup.
- ``line(*parts)``: one ``Text`` from several parts, each a string or ``(string, style)``.
- ``math_readable(text)``: the LaTeX formulas in text (``$..$``, ``$$..$$``, ``\\(..\\)``,
  ``\\[..\\]``) as Unicode (``$QK^\\top/\\sqrt{d_k}$`` → ``QKᵀ/√(d_k)``); code is left alone.
- ``markdown(text, raw_math=False)``: a rich Markdown renderable of a note's text, cleaned,
  with formulas readable (or, with ``raw_math``, as their LaTeX source).
- ``json_escaped(text)``: JSON output with every control character written as an escape.
- ``one_line(text)``: ``clean`` on one line, for messages (errors, warnings) and printed paths.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

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


# ---------------------------------------------------------------------------------------------
# Formulas

# Fenced code and code spans are skipped; the rest is math in one of its usual delimiters.
# ``$5 and $6`` is not math: an inline ``$`` must hug its formula and not be followed by a digit,
# and inline math holds no backtick (so it never swallows the start of a code span).
_CODE_OR_MATH = re.compile(
    r"(?P<fence>^[ ]{0,3}(?P<mark>`{3,}|~{3,})[^\n]*\n.*?(?:^[ ]{0,3}(?P=mark)[ \t]*$|\Z))"
    r"|(?P<span>(?P<ticks>`+).+?(?P=ticks))"
    r"|(?P<display>\$\$(?P<dbody>.+?)\$\$|\\\[(?P<bbody>.+?)\\\])"
    r"|(?P<inline>(?<![\\$])\$(?P<ibody>[^\s$`](?:[^$\n`]*?[^\s$\\`])?)\$(?![$\d])"
    r"|\\\((?P<pbody>.+?)\\\))",
    re.MULTILINE | re.DOTALL,
)
MAX_FORMULA = 2000  # longer "formulas" are more likely prose between two stray dollars

_SUPERSCRIPTS = dict(zip("0123456789+-−=()niT⊤′", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱᵀᵀ′", strict=True))
_SIMPLE = re.compile(r"[\w′']+")


def _script(node, l2tobj, specials_chars: str) -> str:
    args = node.nodeargd.argnlist if node.nodeargd else []
    body = l2tobj._groupnodecontents_to_text(args[0]).strip() if args and args[0] else ""
    if specials_chars == "^" and body and all(c in _SUPERSCRIPTS for c in body):
        return "".join(_SUPERSCRIPTS[c] for c in body)
    if len(body) == 1 or (specials_chars == "_" and _SIMPLE.fullmatch(body)):
        return specials_chars + body
    return f"{specials_chars}({body})"


def _sqrt(node, l2tobj) -> str:
    args = node.nodeargd.argnlist if node.nodeargd else []
    body = l2tobj._groupnodecontents_to_text(args[-1]).strip() if args and args[-1] else ""
    root = {"2": "", "3": "∛", "4": "∜"}
    index = l2tobj._groupnodecontents_to_text(args[0]).strip() if len(args) > 1 and args[0] else "2"
    sign = root.get(index, f"{index}√") or "√"
    return sign + (body if len(body) == 1 else f"({body})")


def _frac(node, l2tobj) -> str:
    args = node.nodeargd.argnlist if node.nodeargd else []
    if len(args) != 2 or None in args:
        raise ValueError("\\frac needs two arguments")  # falls back to the source
    parts = [l2tobj._groupnodecontents_to_text(a).strip() for a in args]
    return "/".join(p if _ATOM.fullmatch(p) else f"({p})" for p in parts)


_ATOM = re.compile(r"[^\s+\-−·×/=<>≤≥]+|\(.*\)|√\(.*\)")


@lru_cache(maxsize=1)
def _converter():
    """pylatexenc set up once, on first use (it takes ~0.1 s to import)."""
    import logging

    from pylatexenc import latex2text, latexwalker, macrospec

    logging.getLogger("pylatexenc").setLevel(logging.CRITICAL)  # malformed input: we fall back
    walker_db = latexwalker.get_default_latex_context_db()
    walker_db.add_context_category(
        "attnkb-scripts",
        prepend=True,
        specials=[
            macrospec.SpecialsSpec(c, args_parser=macrospec.MacroStandardArgsParser("{")) for c in "^_"
        ],
    )
    text_db = latex2text.get_default_latex_context_db()
    spaced = {
        "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "neq": "≠", "ne": "≠", "approx": "≈",
        "in": "∈", "to": "→", "rightarrow": "→", "leftarrow": "←", "sim": "∼", "propto": "∝",
        "equiv": "≡", "times": "×", "cdot": "·", "mapsto": "↦", "Rightarrow": "⇒",
    }  # fmt: skip
    plain_fonts = ("mathbf", "boldsymbol", "bm", "mathit", "mathsf", "mathtt", "mathrm", "text", "textrm")
    text_db.add_context_category(
        "attnkb",
        prepend=True,
        macros=[
            latex2text.MacroTextSpec("top", "⊤"),
            latex2text.MacroTextSpec("intercal", "ᵀ"),
            latex2text.MacroTextSpec("sqrt", simplify_repl=_sqrt),
            *(latex2text.MacroTextSpec(name, simplify_repl=_frac) for name in ("frac", "dfrac", "tfrac")),
            *(latex2text.MacroTextSpec(name, f" {sign} ") for name, sign in spaced.items()),
            *(latex2text.MacroTextSpec(name, "%s") for name in plain_fonts),
            *(latex2text.MacroTextSpec(name, " ") for name in (",", ";", ":", "quad", "qquad")),
            latex2text.MacroTextSpec("!", ""),
        ],
        specials=[latex2text.SpecialsTextSpec(c, simplify_repl=_script) for c in "^_"],
    )
    converter = latex2text.LatexNodes2Text(latex_context=text_db, math_mode="text", strict_latex_spaces=True)
    return latexwalker, walker_db, converter


@lru_cache(maxsize=4096)
def latex_to_unicode(latex: str) -> str:
    """One formula (without its delimiters) as Unicode text; the source itself when it is too
    long or does not parse, so malformed LaTeX is shown as written, never an error."""
    if len(latex) > MAX_FORMULA:
        return latex
    latexwalker, walker_db, converter = _converter()
    try:
        walker = latexwalker.LatexWalker(latex, latex_context=walker_db, tolerant_parsing=False)
        nodes, _, _ = walker.get_latex_nodes()
        text = converter.nodelist_to_text(nodes)
    except Exception:
        return latex
    text = " ".join(text.split())
    if not text or "%s" in text:
        return latex
    return text


def _math_spans(text: str, swap) -> str:
    def sub(m: re.Match) -> str:
        if m["display"]:
            return swap(m["dbody"] if m["dbody"] is not None else m["bbody"], m[0], True)
        if m["inline"]:
            return swap(m["ibody"] if m["ibody"] is not None else m["pbody"], m[0], False)
        return m[0]

    return _CODE_OR_MATH.sub(sub, text)


def math_readable(text: str) -> str:
    """Text with its formulas as Unicode (code spans and fences left as they are)."""
    return _math_spans(text, lambda body, _whole, _display: latex_to_unicode(body))


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

    return _math_spans(clean(text), swap)


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


def markdown(text: str, *, raw_math: bool = False) -> RenderableType:
    """A note's Markdown, rendered by rich, with nothing from the note reaching the terminal
    as a control code; formulas readable (or raw, see ``markdown_source``)."""
    from rich.markdown import Markdown

    return _Sanitized(Markdown(markdown_source(text, raw_math=raw_math)))
