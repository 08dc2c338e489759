"""Public read keys: one per site, for a storefront to ask for recommendations from the browser.

A read key (`rk_...`) is as public as a write key: it sits in the page. It reads only a
site's recommendations, and a request that carries an `Origin` must come from one of the
site's allowed origins (`clicklake sites update S --origin ...`), like the collector's. It
is kept in the metadata database (table `recommend_read_keys`), so every process sees it.
"""

from __future__ import annotations

import secrets
import time
from typing import Final

import sqlalchemy as sa

PREFIX: Final = "rk_"

tables = sa.MetaData()

read_keys_table = sa.Table(
    "recommend_read_keys",
    tables,
    sa.Column("site_id", sa.String(32), primary_key=True),
    sa.Column("read_key", sa.String(64), nullable=False, unique=True),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
)

served_table = sa.Table(
    "recommendations_served",
    tables,
    sa.Column("site_id", sa.String(32), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("served", sa.BigInteger, nullable=False),
)


def create_tables(engine: sa.Engine) -> None:
    try:
        tables.create_all(engine)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
        tables.create_all(engine)  # another process created them between our check and our CREATE


def read_key(engine: sa.Engine, site_id: str) -> str | None:
    """The site's read key, None if it has none yet."""
    with engine.connect() as con:
        found = con.execute(
            sa.select(read_keys_table.c.read_key).where(read_keys_table.c.site_id == site_id)
        ).scalar_one_or_none()
    return found


def ensure_read_key(engine: sa.Engine, site_id: str, *, rotate: bool = False) -> str:
    """The site's read key, made now when it has none (or a new one, with `rotate`)."""
    existing = read_key(engine, site_id)
    if existing is not None and not rotate:
        return existing
    key = PREFIX + secrets.token_urlsafe(24)
    with engine.begin() as con:
        con.execute(sa.delete(read_keys_table).where(read_keys_table.c.site_id == site_id))
        con.execute(
            sa.insert(read_keys_table).values(site_id=site_id, read_key=key, created_ts=time.time_ns() // 1_000_000)
        )
    return key


def add_served(engine: sa.Engine, counts: dict[tuple[str, str], int]) -> None:
    """Add `counts` ((site, UTC day) → answers served) to the totals."""
    if not counts:
        return
    with engine.begin() as con:
        for (site_id, day), n in counts.items():
            match = (served_table.c.site_id == site_id) & (served_table.c.day == day)
            done = con.execute(sa.update(served_table).where(match).values(served=served_table.c.served + n))
            if done.rowcount == 0:
                con.execute(sa.insert(served_table).values(site_id=site_id, day=day, served=n))


def served(engine: sa.Engine, site_id: str, first_day: str, last_day: str) -> dict[str, int]:
    """Answers served per UTC day (YYYY-MM-DD) from `first_day` to `last_day`."""
    with engine.connect() as con:
        rows = con.execute(
            sa.select(served_table.c.day, served_table.c.served).where(
                served_table.c.site_id == site_id, served_table.c.day.between(first_day, last_day)
            )
        ).all()
    return {day: int(n) for day, n in rows}
