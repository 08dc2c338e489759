"""Date ranges of the Stats API: shorthands resolved at a given `now` in a time zone, comparisons, bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clicklake.errors import InputError
from clicklake.query import periods

# 2026-03-01 00:30 UTC: already March in Berlin (01:30), still February in New York (19:30 on the 28th)
NOW = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "tz", "expected"),
    [
        ("today", "Europe/Berlin", ("2026-03-01", "2026-03-01")),
        ("today", "America/New_York", ("2026-02-28", "2026-02-28")),
        ("yesterday", "Europe/Berlin", ("2026-02-28", "2026-02-28")),
        ("yesterday", "America/New_York", ("2026-02-27", "2026-02-27")),
        ("7d", "Europe/Berlin", ("2026-02-23", "2026-03-01")),
        ("30d", "Europe/Berlin", ("2026-01-31", "2026-03-01")),
        ("30d", "America/New_York", ("2026-01-30", "2026-02-28")),
        ("month", "Europe/Berlin", ("2026-03-01", "2026-03-01")),
        ("month", "America/New_York", ("2026-02-01", "2026-02-28")),
        ("last_month", "Europe/Berlin", ("2026-02-01", "2026-02-28")),
        ("last_month", "America/New_York", ("2026-01-01", "2026-01-31")),
        ("12mo", "Europe/Berlin", ("2025-04-01", "2026-03-01")),
        ("12mo", "America/New_York", ("2025-03-01", "2026-02-28")),
        ("last_month", "UTC", ("2026-02-01", "2026-02-28")),
    ],
)
def test_shorthands_at_a_given_now(spec: str, tz: str, expected: tuple[str, str]) -> None:
    assert periods.resolve(spec, tz, NOW) == tuple(date.fromisoformat(d) for d in expected)


def test_shorthands_now_match_the_clock_in_the_zone() -> None:
    for tz in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
        now = datetime.now(UTC)
        today = now.astimezone(ZoneInfo(tz)).date()
        assert periods.resolve("today", tz, now) == (today, today)
        assert periods.resolve("7d", tz, now) == (today - timedelta(days=6), today)
        first = today.replace(day=1)
        assert periods.resolve("month", tz, now) == (first, today)
        last = first - timedelta(days=1)
        assert periods.resolve("last_month", tz, now) == (last.replace(day=1), last)


def test_a_pair_is_kept_as_it_is() -> None:
    pair = (date(2026, 11, 20), date(2026, 11, 22))
    assert periods.resolve(pair, "Europe/Berlin", NOW) == pair


def test_comparisons() -> None:
    assert periods.compared((date(2026, 11, 20), date(2026, 11, 22)), "previous_period") == (
        date(2026, 11, 17),
        date(2026, 11, 19),
    )
    assert periods.compared((date(2026, 3, 1), date(2026, 3, 31)), "previous_year") == (
        date(2025, 3, 1),
        date(2025, 3, 31),
    )
    # 29 February has no day a year before: the 28th
    assert periods.compared((date(2028, 2, 29), date(2028, 3, 1)), "previous_year") == (
        date(2027, 2, 28),
        date(2027, 3, 1),
    )
    with pytest.raises(InputError, match="unknown compare"):
        periods.compared((date(2026, 1, 1), date(2026, 1, 1)), "previous_decade")


def test_utc_bounds_and_event_days() -> None:
    day = (date(2026, 11, 21), date(2026, 11, 21))
    assert periods.utc_bounds(day, "Europe/Berlin") == (
        datetime(2026, 11, 20, 23, tzinfo=UTC),
        datetime(2026, 11, 21, 23, tzinfo=UTC),
    )
    # the day summer time ends in Berlin has 25 hours
    assert periods.utc_bounds((date(2026, 10, 25), date(2026, 10, 25)), "Europe/Berlin") == (
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 23, tzinfo=UTC),
    )
    assert periods.event_days(day, "Europe/Berlin") == (date(2026, 11, 20), date(2026, 11, 22))
    assert periods.event_days(day, "UTC") == day


def test_the_time_zone_of_several_sites() -> None:
    assert periods.common_timezone({"a": "Europe/Berlin", "b": "Europe/Berlin"}) == ("Europe/Berlin", None)
    tz, note = periods.common_timezone({"a": "Europe/Berlin", "b": "UTC"})
    assert tz == "UTC" and note is not None and "Europe/Berlin" in note
