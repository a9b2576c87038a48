"""Fitting FSRS-6 parameters to a vault's own review log, as Anki's Optimize button does.

The fitting and the scoring are fsrs-rs's (``fsrs_rs_python``), the Rust FSRS inside Anki: we only
turn reviews into its items, with intervals counted in study days at the rollover hour
(:mod:`attnkb.srs.days`), because FSRS was trained on days, not on 24-hour windows. Fitted
parameters are kept only when they predict the same log better than the current ones (lower
RMSE over bins, Anki's rule); a fit can be worse than the defaults on a small or unusual log.
"""

from __future__ import annotations

import math
import time as timer
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo

from attnkb.errors import ConfigError, UsageError
from attnkb.srs.config import ReviewConfig
from attnkb.srs.days import DEFAULT_ROLLOVER_HOUR, study_day
from attnkb.srs.log import Entry

# fsrs-rs trains all parameters only from 64 items (fewer: only the first-day stabilities, and
# fewer than 8: nothing); an item is a review on a later study day than the card's previous one.
MIN_ITEMS = 64

SCORE_NOISE = 1e-6  # fsrs-rs computes in float32 and sums its bins in no fixed order

Review = tuple[Hashable, datetime, int]  # (card key, time, rating 1-4), undos already applied


@dataclass(frozen=True)
class Sample:
    """One review with everything before it on the same card: what FSRS predicts it from."""

    card: Hashable
    time: datetime
    steps: tuple[tuple[int, int], ...]  # (rating, study days since the previous review), oldest first

    @property
    def rating(self) -> int:
        return self.steps[-1][0]

    @property
    def delta_t(self) -> int:
        return self.steps[-1][1]

    @property
    def trains(self) -> bool:
        """Anki trains on reviews that have a history and come on a later day than the last one."""
        return len(self.steps) > 1 and self.delta_t > 0


def samples(
    reviews: Iterable[Review], tz: tzinfo | None = None, rollover_hour: int = DEFAULT_ROLLOVER_HOUR
) -> list[Sample]:
    """Every review with its card's history, in the order the reviews happened.

    ``tz`` None counts days in the zone each review was recorded in."""
    by_card: dict[Hashable, list[tuple[datetime, date, int]]] = {}
    for card, when, rating in reviews:
        try:
            day = study_day(when, tz, rollover_hour)
        except OverflowError as exc:
            raise UsageError(f"review log: {when.isoformat()} is outside the calendar") from exc
        by_card.setdefault(card, []).append((when, day, rating))
    out: list[Sample] = []
    for card, seq in by_card.items():
        seq.sort(key=lambda r: r[0])
        steps: list[tuple[int, int]] = []
        for k, (when, day, rating) in enumerate(seq):
            steps.append((rating, 0 if k == 0 else (day - seq[k - 1][1]).days))
            out.append(Sample(card, when, tuple(steps)))
    out.sort(key=lambda h: h.time)
    return out


def graded(reviews: Mapping[Hashable, Iterable[Entry]]) -> list[Review]:
    """The grades of the effective history (``attnkb.srs.history``), card by card. A card that
    holds a memory imported from another tool is left out: FSRS learns from whole histories,
    and its history before the import is not in the log."""
    out: list[Review] = []
    for card, entries in reviews.items():
        entries = list(entries)
        if all(e.start is None for e in entries):
            out += [(card, e.time, e.rating) for e in entries if e.is_review]
    return out


def fsrs_item(steps: Iterable[tuple[int, int]]):
    """fsrs-rs's record of one card's reviews (rating, days since the previous one)."""
    import fsrs_rs_python as rs

    return rs.FSRSItem([rs.FSRSReview(rating, delta_t) for rating, delta_t in steps])


@dataclass(frozen=True)
class Scored:
    """Parameters and how well they predict the log (fsrs-rs ``evaluate``: lower is better)."""

    parameters: tuple[float, ...]
    log_loss: float
    rmse_bins: float


@dataclass(frozen=True)
class Optimization:
    reviews: int  # reviews in the log
    items: int  # of which FSRS can learn from (a later study day than the card's previous review)
    current: Scored | None  # None when there are too few items to score
    fitted: Scored | None
    fit_seconds: float = 0.0
    optimal_retention: float | None = None  # the desired retention with least work per card known

    @property
    def enough(self) -> bool:
        return self.items >= MIN_ITEMS

    @property
    def improved(self) -> bool:
        """Anki's rule: the fit is kept only when its RMSE(bins) is lower, here beyond float32
        noise (fsrs-rs sums its bins in no fixed order)."""
        return (
            self.current is not None
            and self.fitted is not None
            and self.fitted.parameters != self.current.parameters
            and self.fitted.rmse_bins < self.current.rmse_bins - SCORE_NOISE
        )

    @property
    def kept(self) -> Scored | None:
        return self.fitted if self.improved else self.current

    def changes(self) -> list[tuple[int, float, float]]:
        """(index, current, fitted) for every parameter the fit moved."""
        if self.current is None or self.fitted is None:
            return []
        return [
            (k, a, b)
            for k, (a, b) in enumerate(zip(self.current.parameters, self.fitted.parameters, strict=True))
            if a != b
        ]


def default_parameters() -> tuple[float, ...]:
    import fsrs_rs_python as rs

    return _rounded(rs.DEFAULT_PARAMETERS)


def _rounded(parameters: Iterable[float]) -> tuple[float, ...]:
    """Four decimals, as Anki shows and stores them: what is written is what was scored."""
    return tuple(round(float(w), 4) for w in parameters)


def current_parameters(config: ReviewConfig) -> tuple[float, ...]:
    """What the scheduler uses: the config's parameters (checked and completed to FSRS-6 when
    read) or the defaults."""
    return default_parameters() if config.parameters is None else _rounded(config.parameters)


def score(parameters: tuple[float, ...], items: list) -> Scored:
    """Raises ValueError when fsrs-rs cannot score the items with these parameters."""
    import fsrs_rs_python as rs

    evaluation = rs.FSRS(list(parameters)).evaluate(items)
    return Scored(parameters, evaluation.log_loss, evaluation.rmse_bins)


def fit_parameters(items: list) -> tuple[float, ...]:
    """fsrs-rs's optimizer on items in review order (its recency weighting relies on it)."""
    import fsrs_rs_python as rs

    return _rounded(rs.FSRS([]).compute_parameters(items))


def optimize(
    reviews: Iterable[Review],
    config: ReviewConfig,
    *,
    tz: tzinfo | None = None,
    source: str | None = None,
    clock: Callable[[], float] = timer.perf_counter,
) -> Optimization:
    """Fit, score current and fitted parameters on the same log, and find the optimal retention.

    ``source`` names the config file in errors about its parameters."""
    reviews = list(reviews)
    seen = samples(reviews, tz, config.day_starts_at)
    train = [h for h in seen if h.trains]
    if len(train) < MIN_ITEMS:
        return Optimization(len(reviews), len(train), None, None)
    items = [fsrs_item(h.steps) for h in train]
    try:
        current = score(current_parameters(config), items)
    except ValueError as exc:
        raise ConfigError(f"[review] parameters cannot predict this log ({exc})", path=source) from exc
    t0 = clock()
    try:
        fitted_parameters = fit_parameters(items)
        seconds = clock() - t0
        fitted = score(fitted_parameters, items)
    except ValueError as exc:
        raise UsageError(f"fsrs-rs could not fit this review log ({exc})") from exc
    result = Optimization(len(reviews), len(train), current, fitted, seconds)
    assert result.kept is not None
    return replace(result, optimal_retention=optimal_retention(seen, result.kept.parameters, config))


SIMULATED_CARDS = 1000  # a larger deck changes the answer little and the time a lot (34 s at 10,000)


def optimal_retention(
    seen: list[Sample], parameters: tuple[float, ...], config: ReviewConfig
) -> float | None:
    """fsrs-rs's simulation of a year of reviews, searching 0.70-0.95 for the desired retention
    with the least review time per card remembered; grading habits come from the log (blended
    with fsrs-rs's defaults until there are many). None if the simulation cannot run."""
    import fsrs_rs_python as rs

    sim = rs.default_simulator_config()
    firsts = [h.rating for h in seen if len(h.steps) == 1]
    recalls = [h.rating for h in seen if h.trains and h.rating > 1]
    sim.first_rating_prob = _blend(firsts, range(1, 5), sim.first_rating_prob)
    sim.review_rating_prob = _blend(recalls, range(2, 5), sim.review_rating_prob)
    sim.deck_size = max(1, min(len(firsts), SIMULATED_CARDS))
    sim.learn_limit = max(1, config.new_per_day)
    sim.review_limit = max(1, config.reviews_per_day)
    sim.max_ivl = float(max(1, config.maximum_interval))
    sim.learning_step_count = len(config.learning_steps)
    sim.relearning_step_count = len(config.relearning_steps)
    try:
        value = rs.optimal_retention(sim, list(parameters))
    except ValueError:
        return None
    return round(value, 2) if math.isfinite(value) else None


def _blend(ratings: list[int], buttons: range, default: list[float]) -> list[float]:
    """The log's share of each button (+1 each), weighted n / (n + 50) against the default."""
    counts = [ratings.count(b) + 1 for b in buttons]
    n = sum(counts)
    weight = len(ratings) / (len(ratings) + 50)
    return [c / n * weight + d * (1 - weight) for c, d in zip(counts, default, strict=True)]
