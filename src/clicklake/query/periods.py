"""The days a Stats API answer covers: date ranges, their shorthands and comparisons, in a site's time zone.

A range is the first and last day, both included, counted in a time zone: `utc_bounds`
gives the instants it spans, `event_days` the UTC days (`event_dt` partitions) that can
hold them. A shorthand ("7d", "month", ...) is resolved against `now` in that zone, so
"today" in Europe/Berlin starts at 23:00 UTC the evening before.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

from clicklake.errors import InputError

Shorthand = Literal["today", "yesterday", "7d", "30d", "month", "last_month", "12mo"]
SHORTHANDS: Final[tuple[str, ...]] = get_args(Shorthand)
Compare = Literal["previous_period", "previous_year"]
COMPARES: Final[tuple[str, ...]] = get_args(Compare)
UTC_NAME: Final = "UTC"

DateRange = tuple[date, date]


def resolve(spec: DateRange | str, tz: str, now: datetime | None = None) -> DateRange:
    """The first and last day of `spec`, a `[from, to]` pair or a shorthand resolved at `now` in zone `tz`.

    - today, yesterday: that one day;
    - 7d, 30d: the 7 (30) days that end today, today included;
    - month: the current month up to today; last_month: the whole month before it;
    - 12mo: the 12 calendar months that end with the current one, up to today.
    """
    if not isinstance(spec, str):
        return spec
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    today = moment.astimezone(ZoneInfo(tz)).date()
    first = today.replace(day=1)
    match spec:
        case "today":
            return today, today
        case "yesterday":
            return today - timedelta(days=1), today - timedelta(days=1)
        case "7d":
            return today - timedelta(days=6), today
        case "30d":
            return today - timedelta(days=29), today
        case "month":
            return first, today
        case "last_month":
            last = first - timedelta(days=1)
            return last.replace(day=1), last
        case "12mo":
            return _add_months(first, -11), today
    raise InputError(f"unknown date_range {spec!r}; give [from, to] or one of {', '.join(SHORTHANDS)}")


def compared(date_range: DateRange, how: str) -> DateRange:
    """The range a comparison is made with: the previous period of the same length, or the same days a year before."""
    start, end = date_range
    if how == "previous_period":
        days = (end - start).days + 1
        return start - timedelta(days=days), start - timedelta(days=1)
    if how == "previous_year":
        return _add_months(start, -12), _add_months(end, -12)
    raise InputError(f"unknown compare {how!r}; expected one of {', '.join(COMPARES)}")


def previous_period(start: date, end: date) -> DateRange:
    """The range of the same length that ends the day before `start`."""
    return compared((start, end), "previous_period")


def utc_bounds(date_range: DateRange, tz: str) -> tuple[datetime, datetime]:
    """The instants (UTC) where the range starts and where the day after it starts, in zone `tz`."""
    zone = ZoneInfo(tz)
    start, end = date_range
    begin = datetime.combine(start, time(0), tzinfo=zone).astimezone(UTC)
    after = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return begin, after


def event_days(date_range: DateRange, tz: str) -> DateRange:
    """The UTC days (`event_dt`) that hold the instants of the range: one more on each side outside UTC."""
    start, end = date_range
    if tz == UTC_NAME:
        return start, end
    return start - timedelta(days=1), end + timedelta(days=1)


def common_timezone(zones: Mapping[str, str]) -> tuple[str, str | None]:
    """The zone to count in for these sites (site id → zone), and a note when they disagree and UTC is used."""
    names = sorted(set(zones.values()))
    if len(names) == 1:
        return names[0], None
    if not names:
        return UTC_NAME, None
    return UTC_NAME, f"the sites are in different time zones ({', '.join(names)}), so days and hours are UTC"


def _add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), the month's last day where it is shorter (29 Feb → 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
