"""What every report's request and SQL share: decoding the body, the sites, and the days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Final, Protocol, TypeVar

import msgspec
from msgspec import Meta

from clicklake.errors import InputError
from clicklake.query.stats import literal

#: The source of a visit or event: its `utm_source`, else its referrer host, else `direct`.
SOURCE: Final = "coalesce(utm_source, referrer_host, 'direct')"
NOT_BOT: Final = "not coalesce(is_bot, false)"
Sites = Annotated[list[str], Meta(min_length=1)]


class _Dated(Protocol):
    date_range: tuple[date, date]


T = TypeVar("T", bound=_Dated)


def decode(body: bytes, kind: type[T], what: str) -> T:
    """The body as a `kind`; raises `InputError` naming what is wrong, or a `date_range` that ends before it starts."""
    try:
        query = msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise InputError(f"bad {what}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    start, end = query.date_range
    if end < start:
        raise InputError(f"date_range ends ({end}) before it starts ({start})")
    return query


def sites(site_ids: list[str]) -> str:
    """The site ids as a SQL list, for `site_id in (...)`."""
    return ", ".join(literal(s) for s in sorted(set(site_ids)))


def day(d: date) -> str:
    return f"date {literal(str(d))}"


def midnight(d: date) -> str:
    """The start of day `d` (UTC) as a SQL timestamp."""
    return f"timestamptz {literal(f'{d} 00:00:00+00')}"


def within(ts: str, start: date, end: date) -> str:
    """`event_dt` and the timestamp column `ts` both in the days `start`..`end` (UTC, inclusive)."""
    return (
        f"event_dt between {day(start)} and {day(end)}\n"
        f"      and {ts} >= {midnight(start)} and {ts} < {midnight(end + timedelta(days=1))}"
    )
