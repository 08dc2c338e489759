"""Group commit: the records of requests that arrive together go to the stream in one append.

Each stream append is one durable transaction, and its fixed cost (the writer lock, the
commit, the hop to a thread) is most of what a one-event beacon costs. So the requests
of one process share appends: while one append runs, the requests that arrive queue
their records, and the next append takes all of them at once. Alone, a request is
appended at once, as before; under load, appends grow instead of queueing, and the
transaction cost is spread over many requests.

Each request still waits for the append that holds its records, so a 200 still means
durable. When an append is refused (full, unavailable), every request in it gets the
error and answers 503; none of them is claimed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final

import anyio.to_thread

#: Most records in one append; beyond it the queue waits for the next one.
MAX_GROUP_RECORDS: Final = 20_000

Records = list[tuple[str, bytes]]


class GroupAppender:
    """Appends for one event loop; `append_now` is the blocking append (run in a worker thread)."""

    def __init__(self, append_now: Callable[[Records], None]) -> None:
        self._append_now = append_now
        self._queue: deque[tuple[Records, asyncio.Future[None]]] = deque()
        self._drainer: asyncio.Task[None] | None = None

    async def append(self, records: Records) -> None:
        """Return when `records` are durable; raise what the stream raised if they are not."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((records, future))
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                group: list[tuple[Records, asyncio.Future[None]]] = []
                size = 0
                while self._queue and (not group or size + len(self._queue[0][0]) <= MAX_GROUP_RECORDS):
                    records, future = self._queue.popleft()
                    group.append((records, future))
                    size += len(records)
                combined = [r for records, _ in group for r in records]
                try:
                    await anyio.to_thread.run_sync(self._append_now, combined)
                except BaseException as exc:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                else:
                    for _, future in group:
                        if not future.done():
                            future.set_result(None)
        finally:
            self._drainer = None
