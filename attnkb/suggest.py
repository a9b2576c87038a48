"""Did you mean: the names closest to one that matched nothing (a NOTE, a link, a tag).

By edit distance (rapidfuzz's normalised Indel similarity, case and punctuation aside), so a
typo, a missing word or a Chinese title with one character off all find their note. rapidfuzz
is imported only when something failed to match: most commands never pay for it."""

from __future__ import annotations

from collections.abc import Iterable

CUTOFF = 50  # percent similarity below which a name is no suggestion at all
MARGIN = 20  # a suggestion this far below the best one is noise beside it
LIMIT = 3


def closest(word: str, names: Iterable[tuple[str, str]], limit: int = LIMIT) -> list[str]:
    """The ``limit`` best suggestions for ``word``. ``names`` are (name to compare, what to
    suggest) pairs: a note is compared by its title, aliases and file name, and suggested once,
    by its best name."""
    from rapidfuzz import fuzz, process, utils

    pairs = list(names)
    query = utils.default_process(word)
    if not query or not pairs:
        return []
    found = process.extract(
        query,
        [name for name, _ in pairs],
        scorer=fuzz.ratio,
        processor=utils.default_process,
        score_cutoff=CUTOFF,
        limit=limit * 8,
    )
    shown: list[str] = []
    found.sort(key=lambda hit: (-hit[1], hit[2]))
    for _, score, i in found:
        if score < found[0][1] - MARGIN:
            break
        if pairs[i][1] not in shown:
            shown.append(pairs[i][1])
        if len(shown) == limit:
            break
    return shown


def did_you_mean(suggestions: list[str], before: str = "; ") -> str:
    """``; did you mean 'a', 'b' or 'c'?`` to end a message with (``before`` it), or nothing."""
    if not suggestions:
        return ""
    quoted = [f"'{s}'" for s in suggestions]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"{before}did you mean {listed}?"
