"""Formulas as text: LaTeX in ``$..$``, ``$$..$$``, ``\\(..\\)`` and ``\\[..\\]`` written as
Unicode (``$QK^\\top/\\sqrt{d_k}$`` → ``QKᵀ/√(d_k)``), code spans and fences left alone. The review
screen shows formulas this way (attnkb.cli.render), and titles made from other tools' text
(Anki imports) are written this way, so both read the same.
"""

from __future__ import annotations

import re
from functools import lru_cache

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


def math_spans(text: str, swap) -> str:
    def sub(m: re.Match) -> str:
        if m["display"]:
            return swap(m["dbody"] if m["dbody"] is not None else m["bbody"], m[0], True)
        if m["inline"]:
            return swap(m["ibody"] if m["ibody"] is not None else m["pbody"], m[0], False)
        return m[0]

    return _CODE_OR_MATH.sub(sub, text)


def math_readable(text: str, marks: tuple[str, str] | None = None) -> str:
    """Text with its formulas as Unicode (code spans and fences left as they are). ``marks``:
    the two characters that bracket a search hit; a formula holding one is shown whole, inside
    one pair of them."""

    def swap(body: str, _whole: str, _display: bool) -> str:
        if marks is None or not any(m in body for m in marks):
            return latex_to_unicode(body)
        bare = body.replace(marks[0], "").replace(marks[1], "")
        return marks[0] + latex_to_unicode(bare) + marks[1]

    return math_spans(text, swap)
