"""Rate limits per site and per client IP: token buckets kept in the collector process.

The per-IP limit is a setting (`collect.rate_per_ip`); a site's limit is the site's own
(`clicklake sites update SITE --rate N`), else `collect.rate_per_site`, which is 0 (no
limit) by default.

A bucket holds up to `rate * burst_s` tokens and refills at `rate` per second; a request
takes one token from its IP's bucket, and its events take one token each from the site's
bucket. When a bucket cannot pay, the request is answered 429 with `Retry-After` set to
the seconds until it could, and nothing of it is stored.

The buckets live in each collector process (no shared store on the hot path), so with N
worker processes a client can reach N times the rate; the settings say so. Tokens are
only taken when the whole request can be paid, so a refused request costs nothing.
Idle buckets are forgotten after they have refilled, which bounds the memory to the
clients of the last few seconds.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

#: Most buckets kept per limiter; the least recently used go first beyond it.
MAX_BUCKETS: Final = 100_000


class RateLimiter:
    """Token buckets by key; `rate` <= 0 turns the limiter off, unless a call names a rate of its own."""

    def __init__(self, rate: float, burst_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst_s = burst_s
        self.capacity = max(rate * burst_s, 1.0)
        self._clock = clock
        #: key -> (tokens, time of the last refill, the bucket's rate)
        self._buckets: OrderedDict[str, tuple[float, float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str, cost: float = 1.0, rate: float | None = None) -> float:
        """Take `cost` tokens from `key`'s bucket: 0.0 when paid, else the seconds to wait (nothing taken).

        `rate` is this key's own rate (a site's setting), None for the limiter's; <= 0 is no
        limit. A bucket whose rate changes keeps its tokens, up to the new capacity.
        A cost above the bucket's capacity can never be paid at once; it is charged as the
        whole capacity, so a large batch waits for a full bucket rather than forever.
        """
        if rate is None:
            rate = self.rate
        if rate <= 0:
            if key in self._buckets:
                del self._buckets[key]
            return 0.0
        capacity = max(rate * self.burst_s, 1.0)
        now = self._clock()
        cost = min(cost, capacity)
        tokens, last, _ = self._buckets.pop(key, (capacity, now, rate))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens >= cost:
            tokens -= cost
            wait = 0.0
        else:
            wait = (cost - tokens) / rate
        self._buckets[key] = (tokens, now, rate)
        if len(self._buckets) > MAX_BUCKETS:
            self._forget(now)
        return wait

    def _forget(self, now: float) -> None:
        """Drop buckets that have refilled (they are the same as no bucket), then the oldest beyond the cap."""
        full = [
            k
            for k, (tokens, last, rate) in self._buckets.items()
            if tokens + (now - last) * rate >= max(rate * self.burst_s, 1.0)
        ]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


def retry_after(wait_s: float) -> int:
    """The `Retry-After` value for a wait: whole seconds, at least 1."""
    return max(1, math.ceil(wait_s))
