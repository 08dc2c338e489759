"""Where the web stage gets the recommendation index: read from the lake, and swapped when the transform
publishes a newer one.

`IndexStore.current()` answers from the index it holds. At most every `CHECK_S` seconds a
request makes it look at the three tables' current snapshots (a read of the catalog, no data)
in a thread of its own; when they changed, that thread reads the tables, builds a new `Index`
and swaps it in with one assignment, so a request sees the old index or the new one, never a
mix. The catalog is the meeting point: the web stage finds the transform's commits whether it
runs in the same process or on another machine. The three tables are taken together only when
their snapshots were written by the same transform run (the run id in their summaries), so an
index never mixes two runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from clicklake.recommend.index import Index, build_index
from clicklake.transform.plan import RUN_KEY
from clicklake.transform.tables import GOLD_ITEM_NEIGHBOURS, GOLD_ITEM_POPULARITY, GOLD_USER_ITEMS

log = logging.getLogger(__name__)

#: Seconds between two looks at the tables' snapshots.
CHECK_S: Final = 2.0
TABLES: Final = (GOLD_ITEM_NEIGHBOURS, GOLD_ITEM_POPULARITY, GOLD_USER_ITEMS)


def _run_of(table: Table) -> str | None:
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return None
    return snapshot.summary.additional_properties.get(RUN_KEY)


def load_index(catalog: Catalog, known: tuple[int | None, ...] | None = None) -> Index | None:
    """The index of the tables' current snapshots; None when they are `known` already, or are
    not all from one transform run yet."""
    try:
        tables = [catalog.load_table(name) for name in TABLES]
    except NoSuchTableError:
        return Index({}, ()) if known is None else None
    snapshots = tuple(t.metadata.current_snapshot_id for t in tables)
    if snapshots == known:
        return None
    runs = {_run_of(t) for t in tables}
    if len(runs) > 1 and known is not None:
        return None  # the transform is between two commits: look again later
    neighbours, popularity, users = (t.scan().to_arrow() for t in tables)
    return build_index(neighbours, popularity, users, snapshots)


class IndexStore:
    """The current index of one process (see the module docstring)."""

    def __init__(self, catalog: Callable[[], Catalog], check_s: float = CHECK_S) -> None:
        self._open = catalog
        self._catalog: Catalog | None = None
        self.check_s = check_s
        self._index: Index | None = None
        self._checked = 0.0
        self._lock = threading.Lock()  # one load at a time
        self.loads = 0

    def _load(self) -> None:
        if self._catalog is None:
            self._catalog = self._open()
        known = self._index.snapshots if self._index is not None else None
        found = load_index(self._catalog, known)
        if found is not None:
            self._index = found  # the swap: one assignment
            self.loads += 1
            log.info("recommendation index loaded: snapshots %s", found.snapshots)

    def current(self) -> Index:
        """The index; the first call reads it (blocking), later ones start a check when one is due."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._checked = time.monotonic()
                    self._load()
        elif time.monotonic() - self._checked >= self.check_s and self._lock.acquire(blocking=False):
            self._checked = time.monotonic()
            threading.Thread(target=self._check, name="recommend-refresh", daemon=True).start()
        assert self._index is not None
        return self._index

    def _check(self) -> None:
        try:
            self._load()
        except Exception:  # a failed look keeps the index we have; the next one tries again
            log.exception("reading the recommendation tables failed")
        finally:
            self._lock.release()

    def refresh(self) -> Index:
        """Look now (blocking) and return the index (what the CLI and tests call)."""
        with self._lock:
            self._checked = time.monotonic()
            self._load()
        assert self._index is not None
        return self._index
