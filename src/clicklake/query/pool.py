"""Warm sandbox connections, kept between requests for the same sites over the same snapshots.

A sandboxed DuckDB connection costs more to make than most dashboard queries cost to
run: opening it, planning each table's files and, on the first query, reading every
Parquet footer. A connection is only ever handed to a request for the same
`Key` (the exact set of sites, and each table named with the metadata file of its
current snapshot), so its views show that request nothing it could not see in a fresh
one, and its locked configuration cannot have been changed by an earlier request (only
SELECT statements run there). A new snapshot of a table makes a new key; connections of
keys that name an older snapshot are closed as soon as a newer one is seen.

A connection is checked out by one request at a time. One that raised an error or was
interrupted is closed rather than returned.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import duckdb

#: (sites, ((namespace, table, metadata location), ...)), both sorted.
Key = tuple[tuple[str, ...], tuple[tuple[str, str, str], ...]]

#: Idle connections kept at most, over all keys (the least recently used are closed first).
MAX_IDLE: Final = 16


@dataclass
class Warm:
    """A prepared connection and what was learnt preparing it."""

    con: duckdb.DuckDBPyConnection
    freshness: dict[str, str]


class Pool:
    """Idle prepared connections by key; `checkout` hands one out, or makes one with `make`."""

    def __init__(self, max_idle: int = MAX_IDLE) -> None:
        self.max_idle = max_idle
        self._idle: OrderedDict[Key, list[Warm]] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def checkout(self, key: Key, make: Callable[[], Warm]) -> Iterator[Warm]:
        """A connection for `key`, returned to the pool after the block unless the block raised."""
        warm = self._take(key)
        if warm is None:
            warm = make()
        try:
            yield warm
        except BaseException:
            warm.con.close()
            raise
        self._give(key, warm)

    def idle(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._idle.values())

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, OrderedDict()
        for warms in idle.values():
            for warm in warms:
                warm.con.close()

    def _take(self, key: Key) -> Warm | None:
        stale: list[Warm] = []
        with self._lock:
            current = {(ns, name): location for ns, name, location in key[1]}
            for other in list(self._idle):
                if any(current.get((ns, name), location) != location for ns, name, location in other[1]):
                    stale += self._idle.pop(other)
            warms = self._idle.get(key)
            warm = warms.pop() if warms else None
            if warms is not None and not warms:
                del self._idle[key]
        for old in stale:
            old.con.close()
        return warm

    def _give(self, key: Key, warm: Warm) -> None:
        evicted: list[Warm] = []
        with self._lock:
            self._idle.setdefault(key, []).append(warm)
            self._idle.move_to_end(key)
            while sum(len(v) for v in self._idle.values()) > self.max_idle:
                oldest = next(iter(self._idle))
                evicted.append(self._idle[oldest].pop(0))
                if not self._idle[oldest]:
                    del self._idle[oldest]
        for old in evicted:
            old.con.close()
