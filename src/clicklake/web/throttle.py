"""Login throttling: after a few failed logins, an e-mail (or a client address) must wait.

The failures are rows of `login_failures` in the metadata database (a key such as
`email:ana@example.org` or `peer:192.0.2.1`, and the time), so that every web worker of
one server, and every server on one metadata database, counts the same failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import sqlalchemy as sa

MAX_FAILURES: Final = 5
WINDOW_S: Final = 15 * 60.0
_MAX_KEY: Final = 400

tables = sa.MetaData()

failures_table = sa.Table(
    "login_failures",
    tables,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(_MAX_KEY), nullable=False),
    sa.Column("ts_ms", sa.BigInteger, nullable=False),
    sa.Index("login_failures_key_ts", "key", "ts_ms"),
)


def create_tables(engine: sa.Engine) -> None:
    try:
        tables.create_all(engine)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
        tables.create_all(engine)  # another process created it between our check and our CREATE


class LoginThrottle:
    """Counts failed logins per key in a sliding window; `wait(key)` is the seconds until the next try.

    `kind` prefixes the keys (`email`, `peer`, `share`), so throttles of different limits
    share the table without counting each other's failures.
    """

    def __init__(
        self,
        engine: sa.Engine,
        kind: str,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.kind = kind
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock  # wall time: processes on several machines compare it

    def _key(self, key: str) -> str:
        return f"{self.kind}:{key}"[:_MAX_KEY]

    def wait(self, *keys: str) -> float:
        """Seconds until a login for these keys is tried again (0: now)."""
        now_ms = int(self._clock() * 1000)
        since = now_ms - int(self.window_s * 1000)
        t = failures_table
        longest = 0.0
        with self.engine.connect() as con:
            for key in keys:
                # the max_failures-th most recent failure in the window: the try is free once it leaves the window
                nth = con.execute(
                    sa.select(t.c.ts_ms)
                    .where(t.c.key == self._key(key), t.c.ts_ms > since)
                    .order_by(t.c.ts_ms.desc())
                    .offset(self.max_failures - 1)
                    .limit(1)
                ).scalar()
                if nth is not None:
                    longest = max(longest, (nth + self.window_s * 1000 - now_ms) / 1000)
        return longest

    def failed(self, *keys: str) -> None:
        now_ms = int(self._clock() * 1000)
        t = failures_table
        with self.engine.begin() as con:
            # failures that left the window count no more: drop them, so the table stays small
            con.execute(t.delete().where(t.c.ts_ms <= now_ms - int(self.window_s * 1000)))
            con.execute(t.insert(), [{"key": self._key(k), "ts_ms": now_ms} for k in keys])

    def succeeded(self, *keys: str) -> None:
        t = failures_table
        with self.engine.begin() as con:
            con.execute(t.delete().where(t.c.key.in_([self._key(k) for k in keys])))
