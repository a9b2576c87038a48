"""Turning a formula as written (LaTeX or plain text) into tokens for the grammar.

LaTeX and the plain text of real notes (``softmax(Q @ K^T / √d_k) @ V``, ``α_ti``, ``Σ_j``)
meet here: both become one token stream, so the grammar is written once. Presentation macros
(``\\left``, ``\\big``, spacing) are dropped; any macro we do not know makes the formula
unsupported rather than guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from attnkb.errors import FormulaError
from attnkb.formulas.functions import BRACKETS, LETTERS, MACROS, QUANTITIES
from attnkb.formulas.functions import WORDS as FUNCTION_WORDS

MAX_CHARS = 2000
MAX_TOKENS = 1500

GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Phi",
    "Psi",
    "Omega",
    "Sigma",
    "ell",
]
UNICODE_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "φ": "phi",
    "ϕ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "ℓ": "ell",
    "Φ": "Phi",
}
SETS = {"ℝ": "mathbb:R", "ℕ": "mathbb:N", "ℤ": "mathbb:Z"}
# Words read as one name even when written without \mathrm (and in plain text): every
# function's spellings, and names that are not functions.
WORDS = FUNCTION_WORDS | {"head", "mask"} | frozenset(QUANTITIES)
PROSE = {"otherwise", "else", "if", "for", "where", "and", "or", "when", "with", "s.t."}  # in cases
NAME_MACROS = {"text", "mathrm", "operatorname", "textrm", "mathit", "mathsf", "textit", "textbf", "mathtt"}
SAME_MACROS = {"mathbf", "boldsymbol", "bm", "vec", "mathbb", "mathcal", "mathfrak", "mathscr"}
DECORATIONS = {"bar", "tilde", "hat", "overline", "widetilde", "widehat", "check", "dot", "ddot"}
DROPPED = {
    "left",
    "right",
    "middle",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "biggl",
    "biggr",
    "Biggl",
    "Biggr",
    "quad",
    "qquad",
    "enspace",
    "thinspace",
    "medspace",
    "thickspace",
    "negthinspace",
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "limits",
    "nolimits",
    "nonumber",
    "notag",
}
SIMPLE = {
    "cdot": ("MULOP", "dot"),
    "times": ("MULOP", "times"),
    "odot": ("MULOP", "had"),
    "frac": ("FRAC", "frac"),
    "dfrac": ("FRAC", "frac"),
    "tfrac": ("FRAC", "frac"),
    "sqrt": ("SQRT", "sqrt"),
    "sum": ("SUM", "sum"),
    "infty": ("INF", "inf"),
    "dots": ("DOTS", "..."),
    "ldots": ("DOTS", "..."),
    "cdots": ("DOTS", "..."),
    "le": ("REL", "<="),
    "leq": ("REL", "<="),
    "leqslant": ("REL", "<="),
    "ge": ("REL", ">="),
    "geq": ("REL", ">="),
    "geqslant": ("REL", ">="),
    "ne": ("REL", "!="),
    "neq": ("REL", "!="),
    "approx": ("REL", "~="),
    "in": ("REL", "in"),
    "sim": ("REL", "~"),
    "propto": ("REL", "~"),
    "equiv": ("REL", "=="),
    "triangleq": ("REL", "="),
    "coloneqq": ("REL", "="),
    "coloneq": ("REL", "="),
    "eqqcolon": ("REL", "="),
    "doteq": ("REL", "="),
    "to": ("REL", "->"),
    "rightarrow": ("REL", "->"),
    "mid": ("REL", "|"),
    "ll": ("REL", "<"),
    "gg": ("REL", ">"),
    "lt": ("REL", "<"),
    "gt": ("REL", ">"),
    "vert": ("BAR", "|"),
    "lvert": ("BAR", "|"),
    "rvert": ("BAR", "|"),
    "|": ("NORMBAR", "||"),
    "Vert": ("NORMBAR", "||"),
    "lVert": ("NORMBAR", "||"),
    "rVert": ("NORMBAR", "||"),
    "prime": ("PRIME", "'"),
}
REFUSED = {
    "newcommand": "macro definitions are not evaluated",
    "renewcommand": "macro definitions are not evaluated",
    "providecommand": "macro definitions are not evaluated",
    "def": "macro definitions are not evaluated",
    "let": "macro definitions are not evaluated",
    "DeclareMathOperator": "macro definitions are not evaluated",
    "partial": "derivatives are not checked",
    "nabla": "derivatives are not checked",
    "int": "integrals are not checked",
    "iint": "integrals are not checked",
    "oint": "integrals are not checked",
    "prod": "products (∏) are not checked",
    "lim": "limits are not checked",
    "limsup": "limits are not checked",
    "liminf": "limits are not checked",
}
REFUSED_CHARS = {
    "∂": "derivatives are not checked",
    "∇": "derivatives are not checked",
    "∫": "integrals are not checked",
    "∏": "products (∏) are not checked",
}
UNICODE = {
    "·": ("MULOP", "dot"),
    "⋅": ("MULOP", "dot"),
    "∙": ("MULOP", "dot"),
    "×": ("MULOP", "times"),
    "⊙": ("MULOP", "had"),
    "*": ("MULOP", "star"),
    "@": ("MULOP", "mat"),
    "√": ("SQRT", "sqrt"),
    "Σ": ("SUM", "sum"),
    "∑": ("SUM", "sum"),
    "∞": ("INF", "inf"),
    "…": ("DOTS", "..."),
    "≤": ("REL", "<="),
    "≥": ("REL", ">="),
    "≠": ("REL", "!="),
    "≈": ("REL", "~="),
    "∈": ("REL", "in"),
    "→": ("REL", "->"),
    "<": ("REL", "<"),
    ">": ("REL", ">"),
    "ᵀ": ("TRANSPOSE", "T"),
    "‖": ("NORMBAR", "||"),
    "−": ("MINUS", "-"),
    "+": ("PLUS", "+"),
    "-": ("MINUS", "-"),
    "/": ("DIV", "/"),
    "(": ("LPAR", "("),
    ")": ("RPAR", ")"),
    "[": ("LBRACK", "["),
    "]": ("RBRACK", "]"),
    "{": ("LBRACE", "{"),
    "}": ("RBRACE", "}"),
    ",": ("COMMA", ","),
    ";": ("SEMI", ";"),
    ":": ("COLON", ":"),
    "_": ("SUB", "_"),
    "^": ("SUP", "^"),
    "|": ("BAR", "|"),
    "&": ("AMP", "&"),
    "'": ("PRIME", "'"),
    "′": ("PRIME", "'"),
    "=": ("REL", "="),
    "≜": ("REL", "="),
    "≔": ("REL", "="),
}


@dataclass(frozen=True)
class Tok:
    type: str
    value: str


_TRANSPOSE = re.compile(
    r"\^\s*(?:T\b|\{\s*T\s*\}|\\top\b|\{\s*\\top\s*\}|\\intercal\b|\{\s*\\intercal\s*\}"
    r"|\{\s*\\mathsf\s*(?:\{\s*T\s*\}|T\b)\s*\}|\\mathsf\s*\{\s*T\s*\}|\{\s*\\!\s*\\top\s*\}"
    r"|⊤|\{\s*⊤\s*\})"
)
# Zero-width and direction marks (pasted from the web or hostile): no meaning in a formula.
INVISIBLE = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u202a\u202b\u202c\u202d\u202e")
INVISIBLE |= frozenset("\u2066\u2067\u2068\u2069")
_DOT_T = re.compile(r"\.T(?![A-Za-z0-9_])")
_MACRO = re.compile(r"\\([A-Za-z]+|.)")
_ARG = re.compile(r"\s*\{([^{}]*)\}")
_DECORATED = re.compile(r"\s*(?:\{\s*(\\?[A-Za-z]+)\s*\}|(\\[A-Za-z]+|[A-Za-z]))")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_LETTERS = re.compile(r"[A-Za-z]+")
_SPACES = re.compile(r"\s+")


SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ₋₊", "0123456789aehijklmnoprstuvx-+", strict=True))
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᵈᵉⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛˣ⁻", "0123456789abdeijklmnoprstuvx-", strict=True))
# capitals (Wᴼ); ᵀ is not among them: it is the transpose
SUPERSCRIPTS |= dict(zip("ᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵁⱽᵂ", "ABDEGHIJKLMNOPRUVW", strict=True))
_SCRIPT_RUN = re.compile("([" + "".join(SUBSCRIPTS) + "]+)|([" + "".join(SUPERSCRIPTS) + "]+)")


# Letters as PDFs and IMEs paste them: math italic 𝑄𝐾 (U+1D400…), full-width ＱＫ. Only these
# are normalised: NFKC would also turn ᵀ into T and ₖ into k, which mean transpose and index.
_PLAIN_LETTERS = re.compile("[\U0001d400-\U0001d7ff\uff01-\uff5e]")


def _unicode_scripts(text: str) -> str:
    """``Σₖ``, ``head₁``, ``x²`` as ``Σ_{k}``, ``head_{1}``, ``x^{2}``; ``ℝⁿˣᵈᵛ`` as
    ``ℝ^{n × d_{v}}``; ``WᵢQ`` (no superscript Q exists) as ``W_{i}^{Q}``."""
    text = _PASTED_PROJECTION.sub(lambda m: f"W{m.group(1)}^{m.group(2)}", text)

    def spell(m: re.Match) -> str:
        if m.group(1):
            return "_{" + "".join(SUBSCRIPTS[c] for c in m.group(1)) + "}"
        if "ˣ" in m.group(2):  # a shape: each size is a letter and its index (ᵈᵛ → d_v)
            sizes = ["".join(SUPERSCRIPTS[c] for c in part) for part in m.group(2).split("ˣ")]
            return "^{" + " × ".join(f"{d[0]}_{{{d[1:]}}}" if len(d) > 1 else d for d in sizes) + "}"
        return "^{" + "".join(SUPERSCRIPTS[c] for c in m.group(2)) + "}"

    return _SCRIPT_RUN.sub(spell, text)


_LIBRARY = re.compile(r"\b(?:np|numpy|torch|math|F|jnp)\.(?=[A-Za-z])")
_PASTED_PROJECTION = re.compile("W([ᵢⱼₕ₀-₉]+)([QKVO])(?![A-Za-z])")
_NAME_SUBSCRIPT = re.compile(r"([A-Za-z]+)_\{?([A-Za-z0-9]{1,3})\}?")
SIZES = (
    "tiny",
    "scriptsize",
    "footnotesize",
    "small",
    "normalsize",
    "large",
    "Large",
    "LARGE",
    "huge",
    "Huge",
)
_BRACED_PRESENTATION = re.compile(r"\\(" + "|".join(SIZES) + r"|underbrace|overbrace|boxed)\s*\{")
_STACKED_EQUALS = re.compile(r"\\(?:stackrel|overset)\s*\{(?:[^{}]|\{[^{}]*\})*\}\s*\{\s*=\s*\}")


def _group_end(text: str, open_at: int) -> int:
    """The index just past the brace group opening at ``open_at``, or -1."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "\\":
            continue
        if text[i] == "{" and text[i - 1] != "\\":
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def _presentation(text: str) -> str:
    """Markup that only changes how a formula looks: ``\\stackrel{def}{=}`` is ``=``,
    ``\\underbrace{X}_{A}`` is ``X``, ``\\small{…}`` is its content."""
    text = _STACKED_EQUALS.sub("=", text)
    for _ in range(50):  # each pass removes one; a formula has a few
        m = _BRACED_PRESENTATION.search(text)
        if m is None:
            break
        end = _group_end(text, m.end() - 1)
        if end < 0:
            raise FormulaError(f"\\{m.group(1)} without its closing brace")
        inner = text[m.end() : end - 1]
        rest = text[end:]
        if m.group(1) in ("underbrace", "overbrace"):  # its label goes too
            label = re.match(r"\s*[_^]\s*\{", rest)
            if label:
                label_end = _group_end(rest, label.end() - 1)
                rest = rest[label_end:] if label_end > 0 else rest
            inner = "{" + inner + "}"
        text = text[: m.start()] + " " + inner + " " + rest
    return text


def tokenize(text: str, latex: bool) -> list[Tok]:
    """Tokens of one formula; raises FormulaError (unsupported) with the reason."""
    if len(text) > MAX_CHARS:
        raise FormulaError(f"over {MAX_CHARS:,} characters")
    text = _unicode_scripts(_PLAIN_LETTERS.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text))
    # np.sqrt(d_k), torch.softmax(…) in plain text: the library prefix of code pasted as a formula
    text = _presentation(text) if latex else _LIBRARY.sub("", text)
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        if len(toks) > MAX_TOKENS:
            raise FormulaError(f"over {MAX_TOKENS} tokens")
        c = text[i]
        if c.isspace() or c == "~" or c == "$" or c in INVISIBLE:
            i += 1
            continue
        if c == "^":
            m = _TRANSPOSE.match(text, i)
            if m:
                toks.append(Tok("TRANSPOSE", "T"))
                i = m.end()
                continue
        if c == "\\":
            i = _macro(text, i, toks)
            continue
        if not latex and text.startswith("**", i):  # d_k**0.5, as in Python
            toks.append(Tok("SUP", "^"))
            i += 2
            continue
        if not latex and _DOT_T.match(text, i) and i and (text[i - 1].isalnum() or text[i - 1] == ")"):
            toks.append(Tok("TRANSPOSE", "T"))  # K.T, as in NumPy
            i += 2
            continue
        if c == "." and text.startswith("..", i):
            j = i
            while j < n and text[j] == ".":
                j += 1
            toks.append(Tok("DOTS", "..."))
            i = j
            continue
        if c == "|" and text.startswith("||", i):
            toks.append(Tok("NORMBAR", "||"))
            i += 2
            continue
        if c == ":" and text.startswith(":=", i):
            toks.append(Tok("REL", "="))
            i += 2
            continue
        if c in "<>!=" and text.startswith("=", i + 1):
            toks.append(Tok("REL", {"<": "<=", ">": ">=", "!": "!=", "=": "=="}[c]))
            i += 2
            continue
        m = _NUMBER.match(text, i)
        if m:
            toks.append(Tok("NUM", m.group(0)))
            i = m.end()
            continue
        m = _LETTERS.match(text, i)
        if m:
            _letters(m.group(0), latex, toks)
            i = m.end()
            continue
        if c in UNICODE_GREEK:
            toks.append(Tok("SYM", UNICODE_GREEK[c]))
            i += 1
            continue
        if c in SETS:
            toks.append(Tok("WORD", SETS[c]))
            i += 1
            continue
        if c in REFUSED_CHARS:
            raise FormulaError(REFUSED_CHARS[c])
        if c in UNICODE:
            toks.append(Tok(*UNICODE[c]))
            i += 1
            continue
        raise FormulaError(f"unexpected character {c!r}")
    return _mark_calls(_norms(_bracket_indices(_plain_subscripts(toks) if not latex else toks)))


_PLAIN_WIDTHS = {"dk": "k", "dq": "q", "dv": "v"}


def _letters(run: str, latex: bool, toks: list[Tok]) -> None:
    if not latex and run in _PLAIN_WIDTHS:  # √dk in plain text is √d_k
        toks += [Tok("SYM", "d"), Tok("SUB", "_"), Tok("SYM", _PLAIN_WIDTHS[run])]
    elif run in WORDS:
        toks.append(Tok("WORD", run))
    elif not latex and _PLAIN_ROWS.fullmatch(run):
        toks += [Tok("SYM", run[0]), Tok("SUB", "_"), Tok("SYM", run[1])]
    elif latex or (run.isupper() and len(run) <= 4) or len(run) == 1:
        toks.extend(Tok("SYM", ch) for ch in run)
    else:
        toks.append(Tok("WORD", run))


def _macro(text: str, i: int, toks: list[Tok]) -> int:
    m = _MACRO.match(text, i)
    if m is None:
        raise FormulaError("a lone backslash")
    name, end = m.group(1), m.end()
    if name in REFUSED:
        raise FormulaError(REFUSED[name])
    if name in (",", ";", ":", "!", " ", ">") or name in DROPPED:
        if name in ("big", "Big", "bigg", "Bigg") and text.startswith("\\|", end):
            return end  # \big\| is a norm bar; the next round reads it
        return end
    if name in ("tag", "label"):
        a = _ARG.match(text, end + (text.startswith("*", end)))
        if a is None:
            raise FormulaError(f"\\{name} needs a braced argument")
        return a.end()
    if name == "sqrt" and re.match(r"\s*\[", text[end : end + 40]):
        raise FormulaError("n-th roots (\\sqrt[n]) are not evaluated")
    if name == "\\":
        toks.append(Tok("ROWSEP", "\\\\"))
        return end
    if name in ("{", "}"):
        raise FormulaError("sets ({…}) are not evaluated")
    if name in SIMPLE:
        toks.append(Tok(*SIMPLE[name]))
        return end
    if name in GREEK:
        toks.append(Tok("SYM", name))
        return end
    if name in MACROS:
        toks.append(Tok("WORD", name))
        return end
    if name in ("begin", "end"):
        a = _ARG.match(text, end)
        if a is None or a.group(1).strip() != "cases":
            raise FormulaError(f"environment \\{name}{{{a.group(1) if a else ''}}} is not evaluated")
        toks.append(Tok("BEGINCASES" if name == "begin" else "ENDCASES", name))
        return a.end()
    if name in NAME_MACROS or name in SAME_MACROS:
        a = _ARG.match(text, end)
        if a is None:
            if name in SAME_MACROS:
                return end  # \mathbf x: the next letter reads as itself
            raise FormulaError(f"\\{name} needs a braced argument")
        word = _SPACES.sub("", a.group(1)) if name not in ("text", "textrm") else a.group(1).strip()
        if word.lower() in PROSE:
            toks.append(Tok("TEXT", word))
        elif name in ("mathbb", "mathcal", "mathfrak", "mathscr"):
            toks.append(Tok("WORD", f"{name}:{word}"))
        elif not word:
            pass
        elif (joined := _SPACES.sub("", word)) != word and joined in WORDS:
            toks.append(Tok("WORD", joined))  # \text{Scaled Attention}
        elif (scripted := _NAME_SUBSCRIPT.fullmatch(word)) and scripted.group(1) in WORDS:
            toks += [Tok("WORD", scripted.group(1)), Tok("SUB", "_"), Tok("LBRACE", "{")]
            index = scripted.group(2)
            toks += [Tok("NUM", index)] if index.isdigit() else [Tok("SYM", c) for c in index]
            toks.append(Tok("RBRACE", "}"))  # \mathrm{head_1}
        elif re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", word):
            if len(word) == 1 or (name in SAME_MACROS and word.isupper() and len(word) <= 4):
                toks.extend(Tok("SYM", ch) for ch in word)
            elif name in SAME_MACROS:
                toks.append(Tok("WORD", word))
            else:
                toks.append(Tok("WORD", word))
        elif word.startswith("\\") and word[1:] in GREEK:
            toks.append(Tok("SYM", word[1:]))
        else:
            toks.append(Tok("TEXT", word))
        return a.end()
    if name in DECORATIONS:
        d = _DECORATED.match(text, end)
        if d is None:
            raise FormulaError(f"\\{name} needs a symbol")
        inner = (d.group(1) or d.group(2)).lstrip("\\")
        if inner not in GREEK and not re.fullmatch(r"[A-Za-z]", inner):
            raise FormulaError(f"\\{name}{{{inner}}} is not evaluated")
        toks.append(Tok("SYM", f"{inner}.{name}"))
        return d.end()
    raise FormulaError(f"unknown macro \\{name}")


def _norms(toks: list[Tok]) -> list[Tok]:
    """``‖a‖ ‖b‖``: norm bars alternate opening and closing (norms do not nest in notes)."""
    out, opened = [], False
    for t in toks:
        if t.type == "NORMBAR":
            t = Tok("RNORM" if opened else "LNORM", t.value)
            opened = not opened
        out.append(t)
    return out


def _bracket_indices(toks: list[Tok]) -> list[Tok]:
    """``A[i,j]`` (array indexing, as in code) is ``A_{ij}``."""
    out: list[Tok] = []
    n = 0
    while n < len(toks):
        window = toks[n : n + 6]
        if (
            len(window) == 6
            and window[0].type == "SYM"
            and window[0].value.isupper()
            and [t.type for t in window[1:]] == ["LBRACK", "SYM", "COMMA", "SYM", "RBRACK"]
            and all(len(window[k].value) == 1 and window[k].value.islower() for k in (2, 4))
        ):
            out += [window[0], Tok("SUB", "_"), Tok("LBRACE", "{"), window[2], window[4], Tok("RBRACE", "}")]
            n += 6
            continue
        out.append(toks[n])
        n += 1
    return out


_PLAIN_ROWS = re.compile(r"[hsqkvxco][ijtkl]")  # hi, sj: h_i, s_j in plain text


def _plain_subscripts(toks: list[Tok]) -> list[Tok]:
    """``e_ti`` in plain text is ``e_{ti}``: a word after ``_`` is that many index letters."""
    out: list[Tok] = []
    for n, t in enumerate(toks):
        short = t.type == "WORD" and t.value.isalpha() and len(t.value) <= 3
        braced = n > 1 and toks[n - 1].type == "LBRACE" and toks[n - 2].type == "SUB"
        if short and braced and n + 1 < len(toks) and toks[n + 1].type == "RBRACE":
            out += [Tok("SYM", ch) for ch in t.value]  # αᵢⱼ, read as α_{ij}
            continue
        if short and n and toks[n - 1].type == "SUB":
            out += [Tok("LBRACE", "{"), *(Tok("SYM", ch) for ch in t.value), Tok("RBRACE", "}")]
        else:
            out.append(t)
    return out


def _bracket_calls(toks: list[Tok]) -> list[Tok]:
    out = list(toks)
    for n, t in enumerate(toks):
        if (
            t.type != "LBRACK"
            or not n
            or toks[n - 1].type != "WORD"
            or toks[n - 1].value not in BRACKETS  # softmax[QKᵀ/√d_k] is a call too
        ):
            continue
        depth = 0
        for m in range(n, len(toks)):
            depth += {"LBRACK": 1, "RBRACK": -1}.get(toks[m].type, 0)
            if depth == 0:
                out[n], out[m] = Tok("LPAR", "("), Tok("RPAR", ")")
                break
    return out


def _listed(toks: list[Tok], open_at: int) -> bool:
    """Whether the parentheses opening at ``open_at`` hold a list (``A(Q, K, V)``, ``a(q, k_i)``):
    a product has no top-level comma, so a letter before them is a function. (``O(n, d)`` is
    complexity, not a call.)"""
    if open_at and toks[open_at - 1].value == "O":
        return False
    depth = 0
    for t in toks[open_at:]:
        depth += {
            "LPAR": 1,
            "CALLPAR": 1,
            "RPAR": -1,
            "LBRACE": 1,
            "RBRACE": -1,
            "LBRACK": 1,
            "RBRACK": -1,
        }.get(t.type, 0)
        if depth == 0:
            return False
        if depth == 1 and t.type == "COMMA":
            return True
    return False


def _mark_calls(toks: list[Tok]) -> list[Tok]:
    """A ``(`` right after a name (and its scripts) opens an argument list, not a factor."""
    toks = _bracket_calls(toks)
    out = list(toks)
    for n, t in enumerate(toks):
        if t.type != "LPAR" or n == 0:
            continue
        j = n - 1
        while j >= 0:
            if out[j].type == "RBRACE":
                depth = 0
                while j >= 0:
                    depth += {"RBRACE": 1, "LBRACE": -1}.get(out[j].type, 0)
                    if depth == 0:
                        break
                    j -= 1
                j -= 1
                if j >= 0 and out[j].type in ("SUB", "SUP"):
                    j -= 1
                    continue
                break
            if j >= 1 and out[j - 1].type in ("SUB", "SUP") and out[j].type in ("SYM", "NUM", "WORD"):
                j -= 2
                continue
            if out[j].type == "TRANSPOSE":
                j -= 1
                continue
            break
        letter = j >= 0 and out[j].type == "SYM" and (out[j].value in LETTERS or _listed(toks, n))
        if j >= 0 and (out[j].type == "WORD" or letter):
            out[n] = Tok("CALLPAR", "(")
    return out
