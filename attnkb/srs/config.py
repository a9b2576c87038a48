"""``.attnkb/config.toml``: the review settings a user may change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from attnkb.config import number, whole
from attnkb.findings import Finding
from attnkb.srs.days import DEFAULT_ROLLOVER_HOUR

MAX_STEP = timedelta(days=365)


def parse_duration(text: object) -> timedelta:
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    if not isinstance(text, str):
        raise ValueError(f'{text!r} is not a duration such as "10m"')
    text = text.strip()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isascii() or not text[:-1].isdigit():
        raise ValueError(f"{text!r}: use a whole number with s, m, h or d (e.g. 10m)")
    number = int(text[:-1])
    if number > 10**6:
        raise ValueError(f"{text!r} is longer than {MAX_STEP.days} days")
    value = timedelta(**{units[text[-1]]: number})
    if value > MAX_STEP:
        raise ValueError(f"{text!r} is longer than {MAX_STEP.days} days")
    return value


@dataclass
class ReviewConfig:
    desired_retention: float = 0.9
    new_per_day: int = 20
    reviews_per_day: int = 200
    learning_steps: list[timedelta] = field(
        default_factory=lambda: [timedelta(minutes=1), timedelta(minutes=10)]
    )
    relearning_steps: list[timedelta] = field(default_factory=lambda: [timedelta(minutes=10)])
    maximum_interval: int = 36500
    fuzz: bool = True
    day_starts_at: int = DEFAULT_ROLLOVER_HOUR  # the hour a study day starts (attnkb.srs.days)
    parameters: tuple[float, ...] | None = None  # fitted FSRS weights (attnkb optimize); None: defaults
    learn_ahead: timedelta = timedelta(minutes=20)  # learning cards due this soon are shown now
    new_order: str = "links"  # links | path | created
    front_matter_summary: bool = True  # write last_reviewed, next_review, ... into notes
    warnings: list[Finding] = field(default_factory=list, compare=False)  # unknown keys


NEW_ORDERS = ("links", "path", "created")


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false (no quotes), not {value!r}")
    return value


def _steps(value: object) -> list[timedelta]:
    if not isinstance(value, list):
        raise ValueError(f'must be a list of durations such as ["1m", "10m"], not {value!r}')
    steps = [parse_duration(v) for v in value]
    if any(step <= timedelta() for step in steps):
        raise ValueError("a step must be longer than 0")
    return steps


def _learn_ahead(value: object) -> timedelta:
    ahead = parse_duration(value)
    if ahead > timedelta(days=1):
        raise ValueError(f"must be at most a day, not {value!r}")
    return ahead


def _order(value: object) -> str:
    if value not in NEW_ORDERS:
        raise ValueError(f"must be one of {', '.join(NEW_ORDERS)}, not {value!r}")
    return value


def _parameters(value: object) -> tuple[float, ...]:
    import math

    if not isinstance(value, list) or not all(
        isinstance(w, int | float) and not isinstance(w, bool) and math.isfinite(w) for w in value
    ):
        raise ValueError("must be a list of numbers")
    if len(value) not in (17, 19, 21):
        raise ValueError(f"must hold 17, 19 or 21 FSRS weights, not {len(value)}")
    from fsrs_rs_python import check_and_fill_parameters

    try:
        return tuple(check_and_fill_parameters([float(w) for w in value]))
    except ValueError as exc:
        raise ValueError("are not valid FSRS weights (attnkb optimize fits them)") from exc


CHECKS = {
    "desired_retention": number(0.7, 0.99),
    "new_per_day": whole(0, 100_000),
    "reviews_per_day": whole(0, 1_000_000),
    "maximum_interval": whole(1, 36500),
    "learning_steps": _steps,
    "relearning_steps": _steps,
    "fuzz": _bool,
    "day_starts_at": whole(0, 23),
    "parameters": _parameters,
    "learn_ahead": _learn_ahead,
    "new_order": _order,
    "front_matter_summary": _bool,
}


def load(state_dir: Path) -> ReviewConfig:
    """``[review]``; a wrong value is an error naming its key and line, an unknown key a warning."""
    from attnkb import config

    values, warnings = config.load(state_dir).section("review", CHECKS)
    return ReviewConfig(**values, warnings=warnings)  # type: ignore[arg-type]
