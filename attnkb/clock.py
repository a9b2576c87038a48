"""The one clock. ``ATTNKB_NOW`` lets tests and users replay a given day."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time

from attnkb.errors import ConfigError


def parse_instant(text: str) -> datetime:
    """An ISO date or datetime as an aware datetime; a bare date means local midnight."""
    text = text.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time())
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.astimezone()  # year 1 or 9999 cannot always be placed in a zone
    except (ValueError, OverflowError) as exc:
        raise ConfigError(f"not an ISO date or datetime: {text!r}") from exc
    return moment


def now() -> datetime:
    """``ATTNKB_NOW`` if set, else the current time. A bare date there means noon of that day:
    midnight would still belong to the previous *study* day (days start at 4 am)."""
    override = os.environ.get("ATTNKB_NOW")
    if override:
        try:
            moment = parse_instant(override)
        except ConfigError as exc:
            raise ConfigError(f"ATTNKB_NOW: {exc.message}") from exc
        if len(override.strip()) == 10:
            moment = moment.replace(hour=12)
        return moment
    return datetime.now(UTC).astimezone()


def today() -> date:
    return now().date()
