"""The login throttle in the metadata database: two engines (as two processes would have) count the same failures."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clicklake.web.throttle import LoginThrottle, create_tables


def engines(uri: str) -> tuple[sa.Engine, sa.Engine]:
    first, second = sa.create_engine(uri), sa.create_engine(uri)
    create_tables(first)
    create_tables(second)  # a second process finds the table there
    return first, second


def check_shared_counts(first: sa.Engine, second: sa.Engine) -> None:
    now = [1_000_000.0]
    a = LoginThrottle(first, "email", max_failures=3, window_s=60, clock=lambda: now[0])
    b = LoginThrottle(second, "email", max_failures=3, window_s=60, clock=lambda: now[0])
    other_kind = LoginThrottle(second, "peer", max_failures=3, window_s=60, clock=lambda: now[0])
    a.failed("ana@example.org")  # t0
    now[0] += 10
    b.failed("ana@example.org")  # t0 + 10
    assert a.wait("ana@example.org") == 0 and b.wait("ana@example.org") == 0
    now[0] += 10
    a.failed("ana@example.org")  # t0 + 20: the third; the first leaves the window at t0 + 60
    assert a.wait("ana@example.org") == pytest.approx(40) and b.wait("ana@example.org") == pytest.approx(40)
    assert other_kind.wait("ana@example.org") == 0 and b.wait("bo@example.org") == 0
    now[0] += 41  # t0 + 61: two failures left in the window
    assert a.wait("ana@example.org") == 0
    b.failed("ana@example.org")  # three again, the oldest (t0 + 10) leaves at t0 + 70
    assert a.wait("ana@example.org") == pytest.approx(9)
    b.succeeded("ana@example.org")
    assert a.wait("ana@example.org") == 0
    a.failed("bo@example.org")
    with first.connect() as con:  # ana's went with her success; none out of the window is kept
        assert con.execute(sa.text("select count(*) from login_failures")).scalar() == 1


def test_sqlite_engines_share_the_counts(tmp_path: object) -> None:
    first, second = engines(f"sqlite:///{tmp_path}/metadata.sqlite3")
    try:
        check_shared_counts(first, second)
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.postgres
def test_postgresql_engines_share_the_counts(postgres_uri: str) -> None:
    first, second = engines(postgres_uri)
    try:
        check_shared_counts(first, second)
    finally:
        first.dispose()
        second.dispose()
