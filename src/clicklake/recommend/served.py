"""Counting the recommendation answers served, for click-through: in memory, added to the metadata
database every few seconds.

Each answer adds one to its site's count of the UTC day. The counts go to
`recommendations_served` (`clicklake.recommend.keys.add_served`) at most `FLUSH_S` seconds
after the answer, from a thread, and when the process exits; a process that is killed loses
the counts of its last few seconds, never more. Every web process adds its own counts to
the same rows.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa

from clicklake.recommend.keys import add_served

log = logging.getLogger(__name__)

FLUSH_S: Final = 5.0


class ServedCounter:
    def __init__(self, engine: sa.Engine, flush_s: float = FLUSH_S) -> None:
        self.engine = engine
        self.flush_s = flush_s
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._last = time.monotonic()
        atexit.register(self.flush)

    def add(self, site_id: str) -> None:
        day = datetime.now(UTC).date().isoformat()
        with self._lock:
            self._counts[(site_id, day)] += 1
        if time.monotonic() - self._last >= self.flush_s and self._flushing.acquire(blocking=False):
            self._last = time.monotonic()
            threading.Thread(target=self._flush_held, name="recommend-served", daemon=True).start()

    def _flush_held(self) -> None:
        try:
            self._write()
        finally:
            self._flushing.release()

    def flush(self) -> None:
        """Write the counts now."""
        with self._flushing:
            self._write()

    def _write(self) -> None:
        with self._lock:
            counts, self._counts = dict(self._counts), Counter()
        if not counts:
            return
        try:
            add_served(self.engine, counts)
        except sa.exc.SQLAlchemyError:
            log.exception("counting served recommendations failed; the counts are kept for the next try")
            with self._lock:
                self._counts.update(counts)
