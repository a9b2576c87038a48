"""The evaluation protocol of open-spaced-repetition/srs-benchmark, so our figures compare with its.

What it scores, in its order (``features/base.py``, ``other.py``, ``utils.py`` there):

- intervals are whole study days at the rollover hour; a card's reviews past its 128th are dropped;
- same-day reviews stay in each card's history but are never scored; ``i`` counts a card's
  reviews on a later day than the one before (its first review is ``i`` = 1);
- the outlier filter on first intervals: for each first rating, the rarest first intervals are
  dropped until 5 % of the cards (at least 20) are gone, and rare (< 6) or long (> 100 days,
  > 365 after Easy) ones beyond that; a card whose first interval is dropped loses every later
  review too;
- ``TimeSeriesSplit(5)`` over the scored reviews in time order: six equal parts, each of the last
  five is predicted from parameters fitted on everything before it, the first is never scored;
- log loss, and RMSE over bins of (interval, review number, lapses so far), weighted by count.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import fsrs_rs_python as rs

from attnkb.srs.optimize import Sample, fit_parameters, fsrs_item

MAX_REVIEWS_PER_CARD = 128  # srs-benchmark: max_seq_len (64) * 2
N_SPLITS = 5


@dataclass(frozen=True)
class Row:
    """One scored review."""

    sample: Sample
    i: int  # 1 + the card's reviews so far on a later day than the previous one
    lapses: int  # Again on a later day, before this review

    @property
    def y(self) -> int:
        return int(self.sample.rating > 1)


def dataset(samples: Sequence[Sample]) -> list[Row]:
    """The reviews srs-benchmark scores, in time order."""
    seen: Counter = Counter()
    long_term: Counter = Counter()
    candidates: list[Row] = []
    for h in samples:
        seen[h.card] += 1
        if seen[h.card] > MAX_REVIEWS_PER_CARD or (len(h.steps) > 1 and h.delta_t == 0):
            continue
        if len(h.steps) > 1:
            long_term[h.card] += 1
        lapses = sum(1 for rating, gap in h.steps[:-1] if rating == 1 and gap > 0)
        candidates.append(Row(h, long_term[h.card] + 1, lapses))
    dropped = _outlier_cards(candidates)
    return [r for r in candidates if r.i > 1 and r.sample.card not in dropped]


def _outlier_cards(rows: list[Row]) -> set:
    """Cards whose first interval the outlier filter removes (``remove_outliers``)."""
    firsts: dict[int, list[Row]] = {}
    for r in rows:
        if r.i == 2:
            firsts.setdefault(r.sample.steps[0][0], []).append(r)
    dropped = set()
    for first_rating, group in firsts.items():
        counts = Counter(r.sample.delta_t for r in group)
        total = sum(counts.values())
        longest = 365 if first_rating == 4 else 100
        removed = 0
        gone = set()
        for delta_t, count in sorted(counts.items(), key=lambda kv: (kv[1], -kv[0])):
            if removed + count >= max(total * 0.05, 20):
                if count < 6 or delta_t > longest:
                    gone.add(delta_t)
                    removed += count
            else:
                gone.add(delta_t)
                removed += count
        dropped |= {r.sample.card for r in group if r.sample.delta_t in gone}
    return dropped


def splits(n: int, n_splits: int = N_SPLITS) -> list[tuple[range, range]]:
    """sklearn's ``TimeSeriesSplit(n_splits)``: (train, test) index ranges."""
    size = n // (n_splits + 1)
    if size == 0:
        raise ValueError(f"{n} reviews cannot be split {n_splits + 1} ways")
    starts = range(n - n_splits * size, n, size)
    return [(range(0, s), range(s, s + size)) for s in starts]


def _bin(x: float, scale: float, base: float, digits: int) -> float:
    return round(scale * base ** math.floor(math.log(x) / math.log(base)), digits)


def bin_of(row: Row) -> tuple[float, float, float]:
    """The (interval, review number, lapses) bin of ``rmse_matrix``."""
    interval = _bin(max(row.sample.delta_t, 1e-6), 2.48, 3.62, 2)
    number = _bin(row.i, 1.99, 1.89, 0)
    lapses = _bin(row.lapses, 1.65, 1.73, 0) if row.lapses else 0
    return interval, number, lapses


def log_loss(p: Sequence[float], y: Sequence[int]) -> float:
    eps = 1e-15
    return -sum(
        math.log(min(max(pi, eps), 1 - eps)) if yi else math.log(1 - min(max(pi, eps), 1 - eps))
        for pi, yi in zip(p, y, strict=True)
    ) / len(p)


def rmse_bins(rows: Sequence[Row], p: Sequence[float]) -> float:
    bins: dict[tuple, list[float]] = {}
    for row, pi in zip(rows, p, strict=True):
        acc = bins.setdefault(bin_of(row), [0.0, 0.0, 0.0])
        acc[0] += pi
        acc[1] += row.y
        acc[2] += 1
    total = sum(n for _, _, n in bins.values())
    return math.sqrt(sum(n * (sp / n - sy / n) ** 2 for sp, sy, n in bins.values()) / total)


@dataclass(frozen=True)
class Score:
    log_loss: float
    rmse_bins: float
    scored: int
    fit_seconds: float  # total over the folds


def cross_validate(
    rows: Sequence[Row],
    fit: Callable[[Sequence[Row]], list[float]],
    predict: Callable[[Sequence[Row], list[float]], list[float]],
    clock: Callable[[], float],
) -> Score:
    """Fit on each split's past, predict its test part; score all test parts together."""
    p: list[float] = []
    scored: list[Row] = []
    seconds = 0.0
    for train, test in splits(len(rows)):
        t0 = clock()
        parameters = fit([rows[k] for k in train])
        seconds += clock() - t0
        part = [rows[k] for k in test]
        p += predict(part, parameters)
        scored += part
    return Score(log_loss(p, [r.y for r in scored]), rmse_bins(scored, p), len(scored), seconds)


# The models: FSRS-6 as fsrs-rs computes it (srs-benchmark's models/fsrs_rs.py).


def predict(rows: Sequence[Row], parameters: list[float]) -> list[float]:
    """Retrievability at each review from the state its history left (FSRS-6 power curve)."""
    states = rs.FSRS(parameters).memory_state_batch([fsrs_item(r.sample.steps[:-1]) for r in rows])
    decay = parameters[20]
    factor = 0.9 ** (-1 / decay) - 1
    return [
        (1 + factor * r.sample.delta_t / s.stability) ** -decay for r, s in zip(rows, states, strict=True)
    ]


def fit_default(rows: Sequence[Row]) -> list[float]:
    return list(rs.DEFAULT_PARAMETERS)


def fit_rs(rows: Sequence[Row]) -> list[float]:
    """What srs-benchmark's FSRS-rs model does: fsrs-rs's ``benchmark`` training on the past."""
    return rs.FSRS([]).benchmark([fsrs_item(r.sample.steps) for r in rows])


def fit_optimize(rows: Sequence[Row]) -> list[float]:
    """What ``attnkb optimize`` runs: fsrs-rs's ``compute_parameters``, as Anki's Optimize button."""
    return list(fit_parameters([fsrs_item(r.sample.steps) for r in rows]))
