"""The counters of a realtime stage in another process, read over its `GET /sites` (`serve.py`).

In the process tree of `clicklake up` the realtime stage is a child of its own; the web's
`/metrics` and the alert rules (`no_events`) read its per-site counters through
`RemoteCounters`, which answers like `Windows` does. A read is kept for `MAX_AGE_S`, so a
scrape or an evaluation of many rules asks once. A realtime stage that does not answer
reads as no sites (and its start as now): no alert fires on a stage being restarted.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

import httpx
import msgspec

log = logging.getLogger(__name__)

MAX_AGE_S: Final = 1.0


class _Sites(msgspec.Struct):
    complete_from: int
    records_read: int
    sites: dict[str, tuple[int, int]]


_decoder = msgspec.json.Decoder(_Sites)


class RemoteCounters:
    """`Windows.site_counters`, `last_append` and `complete_from` of a `clicklake realtime` at `base_url`."""

    def __init__(self, base_url: str, timeout_s: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s, trust_env=False)
        self._lock = threading.Lock()
        self._read_at = -MAX_AGE_S
        self._last = _Sites(complete_from=0, records_read=0, sites={})

    def _read(self) -> _Sites:
        with self._lock:
            if time.monotonic() - self._read_at < MAX_AGE_S:
                return self._last
            try:
                r = self._client.get("/sites")
                r.raise_for_status()
                self._last = _decoder.decode(r.content)
            except (httpx.HTTPError, msgspec.DecodeError) as exc:
                log.warning("the realtime stage at %s did not answer: %s", self.base_url, exc)
                self._last = _Sites(complete_from=int(time.time() * 1000), records_read=0, sites={})
            self._read_at = time.monotonic()
            return self._last

    @property
    def complete_from(self) -> int:
        return self._read().complete_from

    @property
    def records_read(self) -> int:
        return self._read().records_read

    def site_counters(self) -> dict[str, tuple[int, int]]:
        return dict(self._read().sites)

    def last_append(self, site_id: str) -> int | None:
        pair = self._read().sites.get(site_id)
        return pair[1] if pair is not None and pair[1] else None

    def close(self) -> None:
        self._client.close()
