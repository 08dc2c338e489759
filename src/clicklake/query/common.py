"""What every report's request and SQL share: decoding the body, the sites, and the days in a time zone.

A report's `date_range` is its first and last day in time zone `tz` (a site's, see
`clicklake.query.periods`): `within` keeps the instants between the range's bounds and reads
the UTC days (`event_dt`) that hold them; `local` turns a timestamp into the wall-clock time
of `tz`, for day, week and hour buckets. A `date_range` may be a shorthand ("7d", ...),
resolved in `tz` (`days`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final, Protocol, TypeVar

import msgspec
from msgspec import Meta

from clicklake.errors import InputError
from clicklake.query.periods import SHORTHANDS, UTC_NAME, DateRange, Shorthand, event_days, resolve, utc_bounds
from clicklake.query.stats import literal

#: The source of a visit or event: its `utm_source`, else its referrer host, else `direct`.
SOURCE: Final = "coalesce(utm_source, referrer_host, 'direct')"
NOT_BOT: Final = "not coalesce(is_bot, false)"
Sites = Annotated[list[str], Meta(min_length=1)]
#: A report's days: `[from, to]` (both included) or a shorthand of `clicklake.query.periods`.
Days = tuple[date, date] | Shorthand


class _Dated(Protocol):
    @property
    def date_range(self) -> Days: ...


T = TypeVar("T", bound=_Dated)


def decode(body: bytes, kind: type[T], what: str) -> T:
    """The body as a `kind`; raises `InputError` naming what is wrong, or a `date_range` that ends before it starts."""
    try:
        query = msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        hint = f" (date_range is [from, to] or one of {', '.join(SHORTHANDS)})" if "date_range" in str(exc) else ""
        raise InputError(f"bad {what}: {exc}{hint}") from None
    except msgspec.DecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    if not isinstance(query.date_range, str):
        start, end = query.date_range
        if end < start:
            raise InputError(f"date_range ends ({end}) before it starts ({start})")
    return query


def days(query: _Dated, tz: str) -> DateRange:
    """The query's first and last day, a shorthand resolved now in zone `tz`."""
    return resolve(query.date_range, tz)


def sites(site_ids: list[str]) -> str:
    """The site ids as a SQL list, for `site_id in (...)`."""
    return ", ".join(literal(s) for s in sorted(set(site_ids)))


def day(d: date) -> str:
    return f"date {literal(str(d))}"


def instant(moment: datetime) -> str:
    """An aware datetime as a SQL `timestamptz` (UTC)."""
    return f"timestamptz {literal(moment.strftime('%Y-%m-%d %H:%M:%S+00'))}"


def local(ts: str, tz: str) -> str:
    """The timestamp column `ts` as the wall-clock time (a `timestamp` without zone) of zone `tz`."""
    return f"timezone({literal(tz)}, {ts})"


def within(ts: str, start: date, end: date, tz: str = UTC_NAME) -> str:
    """`event_dt` in the UTC days that can hold the days `start`..`end` of zone `tz` (inclusive),
    and the timestamp column `ts` between their first and last instants."""
    begin, after = utc_bounds((start, end), tz)
    lo, hi = event_days((start, end), tz)
    return f"event_dt between {day(lo)} and {day(hi)}\n      and {ts} >= {instant(begin)} and {ts} < {instant(after)}"
