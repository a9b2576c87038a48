"""How long "did you mean" takes on 10,000 notes: one lookup over their titles, file names and
aliases (30,000 names), with rapidfuzz and with difflib for comparison.

    python benchmarks/suggest.py

Names are synthetic: Chinese and English titles of the starter vault's kind with a number, so
that many share most of their characters (the hard case for a cutoff).
"""

from __future__ import annotations

import difflib
import random
import time

from attnkb.suggest import closest

WORDS = [
    "注意力",
    "多头",
    "自",
    "交叉",
    "稀疏",
    "线性",
    "Attention",
    "Multi-Head",
    "Softmax",
    "Flash",
    "机制",
]


def names(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        title = " ".join(rng.sample(WORDS, 3)) + f" {i}"
        pairs += [(title, title), (f"note-{i}", title), (rng.choice(WORDS) + str(i), title)]
    return pairs


def best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    pairs = names(10_000)
    queries = ["多头注意", "Multi Haed Attention 42", "softmx", "自注意力机制 9999"]
    closest("warm", pairs)  # the import of rapidfuzz, paid once by the one lookup a command makes
    plain = [name for name, _ in pairs]
    for q in queries:
        ours = best(lambda q=q: closest(q, pairs))
        theirs = best(lambda q=q: difflib.get_close_matches(q, plain, n=3, cutoff=0.5), repeat=1)
        print(
            f"{q!r:28} rapidfuzz {ours * 1000:7.1f} ms   difflib {theirs * 1000:8.1f} ms   -> {closest(q, pairs)}"
        )


if __name__ == "__main__":
    main()
