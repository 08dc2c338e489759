"""The realtime stage: reads the stream tail with consumer group `realtime`, beside the loader.

On start it does not read from the group's committed offset nor from zero: it finds, in
every partition, the first record appended `rebuild_minutes` ago (a binary search on the
records' append times, through the stream contract alone) and reads from there, so the
windows are rebuilt with the same figures they had before a restart. Its committed offsets
only report its lag (`clicklake stream stats`, `/metrics`).

A thread reads every partition in turn and counts each record into `Windows`; `start` and
`stop` run it beside other stages in one process (`clicklake up`), `run` alone
(`clicklake realtime`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

import msgspec

from clicklake.realtime.windows import LiveEvent, LiveRejection, Windows, decoder
from clicklake.schema.envelope import CONSENT_DROPPED
from clicklake.stream import Stream

log = logging.getLogger(__name__)

GROUP: Final = "realtime"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Realtime:
    """Live windows over one stream; see the module docstring."""

    def __init__(
        self,
        stream: Stream,
        *,
        rebuild_minutes: float = 30.0,
        read_records: int = 5_000,
        idle_wait: float = 0.05,
        commit_interval_s: float = 1.0,
    ) -> None:
        self.stream = stream
        self.rebuild_ms = int(rebuild_minutes * 60_000)
        self.read_records = read_records
        self.idle_wait = idle_wait
        self.commit_interval_s = commit_interval_s
        self.windows = Windows()
        self.records_read = 0
        self._next: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.changed = threading.Condition()

    # -- where to start ---------------------------------------------------------------------

    def _first_at_or_after(self, partition: int, first: int, end: int, cutoff_ms: int) -> int:
        """The first offset in `[first, end)` appended at or after `cutoff_ms` (`end` when none is)."""
        lo, hi = first, end
        while lo < hi:
            mid = (lo + hi) // 2
            got = self.stream.read(partition, mid, 1)
            if not got:
                return end
            if got[0].offset > mid:  # trimmed meanwhile: restart from what is retained
                lo = max(lo, got[0].offset)
                if lo >= hi:
                    break
                continue
            if got[0].append_ts >= cutoff_ms:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _seek(self, now_ms: int) -> None:
        cutoff = now_ms - self.rebuild_ms
        self.windows.complete_from = cutoff
        for part in self.stream.stats().partitions:
            p = part.partition
            self._next[p] = self._first_at_or_after(p, part.first_offset, part.next_offset, cutoff)
        log.info(
            "realtime: rebuilding the windows from the stream records of the last %d minutes", self.rebuild_ms // 60_000
        )

    # -- reading ----------------------------------------------------------------------------

    def poll(self) -> int:
        """Count what the stream holds beyond the last read; returns the records read."""
        if not self._next:
            self._seek(_now_ms())
        read = 0
        now = _now_ms()
        for p in range(self.stream.partitions):
            batch = self.stream.read(p, self._next.get(p, 0), self.read_records)
            if not batch:
                continue
            for record in batch:
                self._count(record.payload, now, record.append_ts)
            self._next[p] = batch[-1].offset + 1
            read += len(batch)
        if read:
            self.records_read += read
            with self.changed:
                self.changed.notify_all()
        return read

    def _count(self, payload: bytes, now_ms: int, append_ts: int) -> None:
        try:
            item = decoder.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return  # another record version: the loader quarantines it with the reason
        if isinstance(item, LiveEvent):
            self.windows.add(item, now_ms, append_ts)
        elif isinstance(item, LiveRejection):
            self.windows.reject(item.site_id, item.reason.endswith(CONSENT_DROPPED), append_ts)

    def commit(self) -> None:
        """Record the read position as group `realtime`'s offsets (for lag reporting)."""
        for partition, offset in self._next.items():
            self.stream.commit(GROUP, partition, offset)

    def run(self, stop: threading.Event) -> None:
        """Read until `stop` is set, evicting old minutes and committing the position every second."""
        last_commit = time.monotonic()
        while not stop.is_set():
            read = self.poll()
            if time.monotonic() - last_commit >= self.commit_interval_s:
                self.windows.evict(_now_ms())
                self.commit()
                last_commit = time.monotonic()
            if read == 0:
                stop.wait(self.idle_wait)
        if self._next:
            self.commit()

    def run_supervised(self, stop: threading.Event, max_backoff: float = 30.0) -> None:
        """`run`, restarted after an error with a growing pause (the windows are kept)."""
        backoff = 1.0
        while True:
            try:
                self.run(stop)
                return
            except Exception:
                if stop.is_set():
                    raise
                log.exception("the realtime stage failed; it goes on in %.0f s", backoff)
                if stop.wait(backoff):
                    return
                backoff = min(backoff * 2, max_backoff)

    # -- one process: start and stop ----------------------------------------------------

    def start(self) -> None:
        """Run in a thread of its own until `stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_supervised, args=(self._stop,), name="realtime", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread started by `start` (it commits its position first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snapshot(self, site_id: str) -> dict[str, object]:
        """The live figures of one site now (see `Windows.snapshot`)."""
        return self.windows.snapshot(site_id, _now_ms())

    def wait_for_change(self, timeout: float) -> None:
        """Block until new records were counted or `timeout` passed (for a thread, not the event loop)."""
        with self.changed:
            self.changed.wait(timeout)
