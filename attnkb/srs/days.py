"""Study days. Anki counts *days*, not 24-hour windows: a review at 23:00 and one at 08:00 the
next morning are a day apart, and a day starts at a rollover hour (4 am local time by default)
so that a late-night session still belongs to the evening it started in. Elapsed days for FSRS,
"due today", daily limits and streaks all count days this way.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

DEFAULT_ROLLOVER_HOUR = 4


def study_day(moment: datetime, tz: tzinfo | None = None, rollover_hour: int = DEFAULT_ROLLOVER_HOUR) -> date:
    """The study day ``moment`` belongs to, in ``tz`` (else the moment's own zone)."""
    local = moment.astimezone(tz) if tz is not None else moment
    return (local - timedelta(hours=rollover_hour)).date()


def day_start(day: date, tz: tzinfo | None, rollover_hour: int = DEFAULT_ROLLOVER_HOUR) -> datetime:
    """The instant study day ``day`` begins."""
    return datetime.combine(day, time(rollover_hour), tzinfo=tz)


def elapsed_days(
    earlier: datetime, later: datetime, tz: tzinfo | None, rollover_hour: int = DEFAULT_ROLLOVER_HOUR
) -> int:
    """Whole study days between two moments (0 for the same day), as FSRS counts them."""
    return (study_day(later, tz, rollover_hour) - study_day(earlier, tz, rollover_hour)).days
