"""Answers of sandboxed queries kept in memory while the lake has not changed under them.

A dashboard asks the same statements again and again (a reload, a colleague opening the
same view, the `data_until` every tile of a page asks). An answer is kept under the exact
statement and the sandbox's pool `Key`: the exact set of sites the caller may read, and
each table the statement reads named by the metadata file of its current snapshot (a new
snapshot, and any other commit to a table, writes a new metadata file). So an answer is
only ever given for the same SQL over the same rows; a new snapshot of any table it read
makes a new key, and the answers naming an older metadata file of that table are dropped
as soon as the newer one is seen.

Statements that read the clock or chance (`now()`, `current_date`, `random()`, ...) are
never kept. At most `max_entries` answers and `max_bytes` of Arrow buffers are kept, the
least recently used dropped first. While one request computes an answer, a second for the
same key waits for it instead of running the statement again (the tiles of one page ask
the same `data_until` at the same moment).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Final, Generic, TypeVar

from clicklake.query.pool import Key

#: What a statement may not call for its answer to be kept: its answer depends on more than the rows.
_VOLATILE: Final = re.compile(
    r"\b(now|current_date|current_time|current_timestamp|today|get_current_time|get_current_timestamp|"
    r"localtime|localtimestamp|random|gen_random_uuid|uuid|setseed|transaction_timestamp)\b",
    re.IGNORECASE,
)
MAX_ENTRIES: Final = 512
MAX_BYTES: Final = 64 * 1024 * 1024

T = TypeVar("T")
AnswerKey = tuple[str, Key]


def cacheable(sql: str) -> bool:
    """Whether `sql`'s answer depends on the rows it reads alone."""
    return _VOLATILE.search(sql) is None


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.failed = False


class Answers(Generic[T]):
    """A bounded map from (statement, pool key) to an answer; `size(answer)` is its bytes."""

    def __init__(self, size: Callable[[T], int], max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.size = size
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._kept: OrderedDict[AnswerKey, tuple[T, int]] = OrderedDict()
        self._bytes = 0
        self._latest: dict[tuple[str, str], str] = {}
        self._pending: dict[AnswerKey, _Pending] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._kept)

    def get_or_compute(self, sql: str, key: Key, compute: Callable[[], T]) -> T:
        """The kept answer of `sql` under `key`, else `compute()`'s, kept (an error is raised, not kept)."""
        if self.max_entries <= 0 or not cacheable(sql):
            return compute()
        akey: AnswerKey = (sql, key)
        while True:
            with self._lock:
                self._see(key)
                kept = self._kept.get(akey)
                if kept is not None:
                    self._kept.move_to_end(akey)
                    self.hits += 1
                    return kept[0]
                pending = self._pending.get(akey)
                if pending is None:
                    pending = self._pending[akey] = _Pending()
                    self.misses += 1
                    break
            pending.done.wait()  # the same statement is being run: its answer is ours
            if pending.failed:
                return compute()  # its error is its own to raise; ours is found by running it
        try:
            answer = compute()
        except BaseException:
            with self._lock:
                pending.failed = True
                del self._pending[akey]
            pending.done.set()
            raise
        with self._lock:
            del self._pending[akey]
            self._keep(akey, answer)
        pending.done.set()
        return answer

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._bytes = 0

    def _see(self, key: Key) -> None:
        """Note the tables' metadata files in `key`; drop the answers that name an older one."""
        stale = False
        for namespace, name, location in key[1]:
            if self._latest.get((namespace, name)) != location:
                stale = stale or (namespace, name) in self._latest
                self._latest[(namespace, name)] = location
        if stale:
            for akey in [k for k in self._kept if any(self._latest.get((n, t)) != loc for n, t, loc in k[1][1])]:
                self._drop(akey)

    def _keep(self, akey: AnswerKey, answer: T) -> None:
        if any(self._latest.get((n, t)) != loc for n, t, loc in akey[1][1]):
            return  # a newer snapshot was seen while it ran
        size = self.size(answer)
        if size > self.max_bytes:
            return
        self._kept[akey] = (answer, size)
        self._bytes += size
        while len(self._kept) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._kept)))

    def _drop(self, akey: AnswerKey) -> None:
        _, size = self._kept.pop(akey)
        self._bytes -= size
