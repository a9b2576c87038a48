"""``.attnkb/config.toml``: the review settings a user may change."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from attnkb.errors import ConfigError
from attnkb.srs.days import DEFAULT_ROLLOVER_HOUR

CONFIG_FILE = "config.toml"


def parse_duration(text: str) -> timedelta:
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    text = str(text).strip()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ConfigError(f"step {text!r}: use a whole number with s, m, h or d (e.g. 10m)")
    return timedelta(**{units[text[-1]]: int(text[:-1])})


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


def load(state_dir: Path) -> ReviewConfig:
    path = state_dir / CONFIG_FILE
    config = ReviewConfig()
    if not path.exists():
        return config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=str(path)) from exc
    review = data.get("review", {})
    try:
        if "desired_retention" in review:
            config.desired_retention = float(review["desired_retention"])
            if not 0 < config.desired_retention < 1:
                raise ValueError("desired_retention must be between 0 and 1")
        for key in ("new_per_day", "reviews_per_day", "maximum_interval"):
            if key in review:
                value = review[key]
                if not isinstance(value, int) or value < 0:
                    raise ValueError(f"{key} must be a whole number >= 0")
                setattr(config, key, value)
        for key in ("learning_steps", "relearning_steps"):
            if key in review:
                setattr(config, key, [parse_duration(s) for s in review[key]])
        if "fuzz" in review:
            config.fuzz = bool(review["fuzz"])
        if "day_starts_at" in review:
            hour = review["day_starts_at"]
            if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
                raise ValueError("day_starts_at must be an hour from 0 to 23")
            config.day_starts_at = hour
        if "parameters" in review:
            weights = review["parameters"]
            if not isinstance(weights, list) or not all(
                isinstance(w, int | float) and not isinstance(w, bool) for w in weights
            ):
                raise ValueError("parameters must be a list of numbers")
            config.parameters = tuple(float(w) for w in weights)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[review] {exc}", path=str(path)) from exc
    except ConfigError as exc:
        raise ConfigError(f"[review] {exc.message}", path=str(path)) from exc
    return config
