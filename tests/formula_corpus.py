"""The formula corpus (tests/data/formulas/corpus.toml) and the slips a learner makes, injected
into its formulas as text, the way they would be written.

``python -m tests.formula_corpus`` prints the figures: coverage (checked / checkable), false
alarms, and mutants caught by slip type. ``tests/test_formulas_corpus.py`` holds them to the
targets.
"""

from __future__ import annotations

import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "formulas" / "corpus.toml"


@dataclass
class Entry:
    id: str
    source: str
    title: str
    text: str
    checkable: int


def load() -> list[Entry]:
    data = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    return [Entry(**e) for e in data["formula"]]


# --- where a slip may go: the right side of each formula ------------------------------------------

_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|```[ \t]*(?:text|math)?[ \t]*\n(.*?)```", re.DOTALL)
_SPLIT = re.compile(r"\\qquad|\\quad|\\\\|\n")
_CASES = re.compile(r"\\(begin|end)\{cases\}")
_APPROX = re.compile(r"\\approx|≈")
_EQUALS = re.compile(r"(?<![<>!=\\])=(?!=)\}?|\\coloneqq|\\triangleq")


def right_sides(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, latex) of each formula's right side in a note body (after its first ``=``)."""
    spans = []
    for m in _MATH.finditer(text):
        group = next(g for g in (1, 2, 3) if m.group(g) is not None)
        latex = group != 3
        start, end = m.start(group), m.end(group)
        cuts, depth, i = [start], 0, start
        while i < end:
            env = _CASES.match(text, i)
            if env:
                depth += 1 if env.group(1) == "begin" else -1
                i = env.end()
                continue
            sep = _SPLIT.match(text, i)
            if sep and depth == 0 and (latex or sep.group(0) == "\n"):
                cuts += [i, sep.end()]
                i = sep.end()
                continue
            i += 1
        cuts.append(end)
        for a, b in zip(cuts[::2], cuts[1::2], strict=True):
            eq = _EQUALS.search(text, a, b)
            if eq:  # an approximation after the exact links is context: no slip goes there
                approx = _APPROX.search(text, eq.end(), b)
                spans.append((eq.end(), approx.start() if approx else b, latex))
    return spans


# --- the slips --------------------------------------------------------------------------------------

_SQRT = (
    r"(?:\\sqrt\s*\{[^{}]*\}|\\sqrt\s*d(?:_\{?\w+\}?)?|√\s*\(d(?:_\{?\w+\}?)?\)|√\s*d(?:_\{?\w+\}?)?"
    r"|(?:np\.)?sqrt\(d(?:_\w+)?\)|d_k\*\*0\.5)"
)
_DIV_SQRT = re.compile(r"\s*/\s*(" + _SQRT + ")")
_FRAC = re.compile(r"\\[dt]?frac\s*\{")
_TRANSPOSE = (
    r"(?:\^\s*\{\s*\\top\s*\}|\^\s*\\top|\^\s*\{\s*T\s*\}|\^T(?![a-z])|\^\s*\{\s*\\mathsf\s*\{?T\}?\s*\}"
    r"|\^⊤|ᵀ|\.T(?![A-Za-z]))"
)
_TOK = r"(?:\\(?:mathbf|bm|boldsymbol)\{[QK]\}|[QK])(?:_\{[^{}]*\}|_[A-Za-z0-9]+)?"  # matrices
_JOIN = r"\s*(?:@|\\cdot|·|×|\*)?\s*"
_QK_T = re.compile(rf"({_TOK})({_JOIN})({_TOK})({_TRANSPOSE})")


def _braced(s: str, open_at: int) -> int:
    """The index just past the brace group opening at ``open_at``."""
    depth = 0
    for i in range(open_at, len(s)):
        depth += {"{": 1, "}": -1}.get(s[i], 0)
        if depth == 0:
            return i + 1
    return -1


def _unscale(rhs: str) -> tuple[str, str] | None:
    """The right side without its division by √d_k, and the root that was removed."""
    m = _DIV_SQRT.search(rhs)
    f = _FRAC.search(rhs)
    while f is not None:
        num_end = _braced(rhs, f.end() - 1)
        den_at = rhs.find("{", num_end)
        den_end = _braced(rhs, den_at) if den_at == num_end else -1
        den = rhs[den_at + 1 : den_end - 1] if den_end > 0 else ""
        if re.fullmatch(r"\s*" + _SQRT + r"\s*", den) and (m is None or f.start() < m.start()):
            return rhs[: f.start()] + "{" + rhs[f.end() : num_end - 1] + "}" + rhs[den_end:], den.strip()
        f = _FRAC.search(rhs, f.end())
    if m is not None:
        return rhs[: m.start()] + rhs[m.end() :], m.group(1)
    return None


def drop_exp(rhs: str, latex: bool) -> str | None:
    out = re.sub(r"\\exp\b\s*", "", rhs)
    out = re.sub(r"(?<![A-Za-z\\.])exp(?=\s*[\(\[])", "", out)
    out = re.sub(r"(?<![A-Za-z\\])e\^(?=\s*[\{\(])", "", out)
    return out if out != rhs else None


def drop_sqrt(rhs: str, latex: bool) -> str | None:
    out = rhs
    while (undone := _unscale(out)) is not None:
        out = undone[0]
    return out if out != rhs else None


def square_sqrt(rhs: str, latex: bool) -> str | None:
    def square(m: re.Match) -> str:
        root = m.group(0)
        inner = re.sub(r"^(?:\\sqrt\s*|√\s*|(?:np\.)?sqrt)", "", root).replace("**0.5", "")
        return inner if inner.startswith(("{", "(")) else "{" + inner + "}"

    out = re.sub(_SQRT, square, rhs)
    return out if out != rhs else None


def scale_outside(rhs: str, latex: bool) -> str | None:
    at = re.search(
        r"(?:\\mathrm\{softmax\}|\\text\{softmax\}|\\operatorname\{softmax\}|softmax|\\sigma)", rhs
    )
    undone = _unscale(rhs)
    if at is None or undone is None or _unscale(rhs[at.end() :]) is None:
        return None
    out, root = undone
    at = re.search(re.escape(at.group(0)), out)
    assert at is not None
    factor = rf"\frac{{1}}{{{root}}}" if latex else f"1/{root} * "
    return out[: at.start()] + factor + out[at.start() :]


_QK_NAMES = {"Q": "K", "K": "Q", "q": "k", "k": "q", "s": "h", "h": "s"}


def swap_qk(rhs: str, latex: bool) -> str | None:
    """Queries and keys exchanged (not as indices: ``\\sum_k``, ``d_k``, ``W^Q`` stay)."""
    letters = set(re.findall(r"(?<![a-z\\_^])(?:\\(?:mathbf|bm|boldsymbol)\{)?([QKqksh])(?![a-z])", rhs))
    if not ({"Q", "q", "s"} & letters and {"K", "k", "h"} & letters):
        return None
    pattern = r"((?<![a-z\\_^])(?<!_\{)(?<!\^\{))([QKqksh])(?![a-z])"  # not an index: e_{ik}, W^{Q}
    out = re.sub(pattern, lambda m: m.group(1) + _QK_NAMES[m.group(2)], rhs)
    out = re.sub(
        r"\b([QK])_(enc|dec)\b", lambda m: m.group(1) + ("_dec" if m.group(1) == "Q" else "_enc"), out
    )
    return out if out != rhs else None


def wrong_transpose(rhs: str, latex: bool) -> str | None:
    """``QK^T`` written ``Q^TK``; any other transpose (``q_i^T k_j``, ``v_a^T``) left out.

    (``q_i k_j^T`` is no slip: with row vectors it is the dot product.)"""
    a = _QK_T.search(rhs)
    if a is not None:
        return rhs[: a.start()] + a.group(1) + a.group(4) + " " + a.group(2) + a.group(3) + rhs[a.end() :]
    t = re.search(_TRANSPOSE, rhs)
    return rhs[: t.start()] + rhs[t.end() :] if t else None


def mask_sign(rhs: str, latex: bool) -> str | None:
    out = re.sub(r"\+\s*M(?![A-Za-z])", "- M", rhs, count=1)
    if out == rhs:
        out = re.sub(r"[-−]\s*(\\infty|∞)", r"\1", rhs)
    return out if out != rhs else None


_CONDITION = re.compile(
    r"(?<![A-Za-z\\])([a-z])\s*(\\leq?|\\geq?|\\lt|\\gt|<=|>=|≤|≥|<|>)\s*([a-z])(?![A-Za-z])"
)


def mask_side(rhs: str, latex: bool) -> str | None:
    out = _CONDITION.sub(lambda m: f"{m.group(3)} {m.group(2)} {m.group(1)}", rhs)
    return out if out != rhs else None


_SUM = re.compile(r"(\\sum\s*_\s*\{?\s*|Σ\s*_\s*\{?\s*|Σ)([a-z])(?![A-Za-z])")
_LHS_INDEX = re.compile(r"_\s*\{?\s*([a-z])|\(\s*[QX][^)]*\)\s*_\s*\{?([a-z])|\[([a-z]),")


def wrong_sum_index(rhs: str, latex: bool, lhs: str = "") -> str | None:
    """``\\sum_i`` where the left side keeps i."""
    kept = [next(g for g in m.groups() if g) for m in _LHS_INDEX.finditer(lhs)]
    for m in _SUM.finditer(rhs):
        other = next((k for k in kept if k != m.group(2)), None)
        if other is not None:
            return rhs[: m.start(2)] + other + rhs[m.end(2) :]
    return None


Slip = Callable[..., str | None]
SLIPS: dict[str, Slip] = {
    "dropped exp": drop_exp,
    "dropped √d_k": drop_sqrt,
    "squared √d_k": square_sqrt,
    "scale outside softmax": scale_outside,
    "swapped Q/K": swap_qk,
    "wrong transpose": wrong_transpose,
    "flipped mask sign": mask_sign,
    "flipped mask side": mask_side,
    "sum over wrong index": wrong_sum_index,
}


def mutants(text: str) -> Iterator[tuple[str, str]]:
    """(slip, mutated text): each slip in the first right side it applies to."""
    spans = right_sides(text)
    for name, slip in SLIPS.items():
        for start, end, latex in spans:
            rhs = text[start:end]
            if slip is wrong_sum_index:
                lhs_start = max(text.rfind(c, 0, start) for c in "$\n") + 1
                out = slip(rhs, latex, lhs=text[lhs_start:start])
            else:
                out = slip(rhs, latex)
            if out is not None and out != rhs:
                yield name, text[:start] + out + text[end:]
                break


# --- running the checker on it -------------------------------------------------------------------------


def verdicts(root: Path, title: str, text: str) -> list:
    from attnkb.examples.runner import run_note_examples
    from attnkb.formulas import check_note
    from attnkb.note import parse_note

    path = root / "n.md"
    path.write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    note = parse_note("n.md", path.read_bytes())
    return check_note(root, note, run_note_examples(note))


@dataclass
class Figures:
    checkable: int = 0
    checked: int = 0
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("pass", "fail", "unsupported", "context"), 0)
    )
    false_alarms: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    # per slip: [applied to a checked formula, caught, correct for another reading]
    slips: dict[str, list[int]] = field(default_factory=lambda: {s: [0, 0, 0] for s in SLIPS})
    missed: list[str] = field(default_factory=list)
    another_reading: list[str] = field(default_factory=list)


def measure(entries: list[Entry] | None = None) -> Figures:
    fig = Figures()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / ".attnkb").mkdir()
        for e in entries if entries is not None else load():
            rows = verdicts(root, e.title, e.text)
            for r in rows:
                fig.counts[r.status] += 1
            checked = [r for r in rows if r.status in ("pass", "fail")]
            fig.checkable += e.checkable
            fig.checked += min(len(checked), e.checkable)
            if len(checked) < e.checkable:
                fig.unchecked.append(
                    f"{e.id}: " + "; ".join(f"{r.formula[:50]} {r.status}: {r.message[:70]}" for r in rows)
                )
            fig.false_alarms += [f"{e.id}: {r.formula} — {r.message}" for r in rows if r.status == "fail"]
            if not checked:
                continue
            ops = {r.op for r in checked}
            for slip, text in mutants(e.text):
                mutated = verdicts(root, e.title, text)
                tally = fig.slips[slip]
                tally[0] += 1
                if any(r.status == "fail" for r in mutated):
                    tally[1] += 1
                    continue
                passed = [r for r in mutated if r.status == "pass"]
                if passed and len(passed) >= len(checked) and {r.op for r in passed} != ops:
                    tally[2] += 1
                    fig.another_reading.append(
                        f"{slip} in {e.id}: agrees with op {sorted({r.op for r in passed})}"
                    )
                    continue
                shown = [f"{r.status} {r.formula[:60]}" for r in mutated if r.status != "context"]
                fig.missed.append(f"{slip} in {e.id}: {shown}")
    return fig


def report(fig: Figures) -> str:
    lines = [
        f"coverage: {fig.checked} checked of {fig.checkable} checkable ({fig.checked / fig.checkable:.0%})",
        "rows: " + ", ".join(f"{n} {s}" for s, n in fig.counts.items()),
        f"false alarms: {len(fig.false_alarms)}",
        *(f"  {a}" for a in fig.false_alarms),
    ]
    applied = sum(t[0] - t[2] for t in fig.slips.values())
    caught = sum(t[1] for t in fig.slips.values())
    lines.append(f"mutants: {caught} caught of {applied} ({caught / max(applied, 1):.0%}); by slip:")
    for slip, (n, c, other) in fig.slips.items():
        lines.append(f"  {slip}: {c}/{n - other} caught, {other} correct for another reading")
    lines += ["unchecked:", *(f"  {u}" for u in fig.unchecked)]
    lines += ["missed:", *(f"  {m}" for m in fig.missed)]
    lines += ["another reading:", *(f"  {m}" for m in fig.another_reading)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(measure()))
