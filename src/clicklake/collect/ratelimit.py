"""Rate limits per site and per client IP: token buckets kept in the collector process.

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
    """Token buckets by key; `rate` <= 0 turns the limiter off."""

    def __init__(self, rate: float, burst_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(rate * burst_s, 1.0)
        self._clock = clock
        #: key -> (tokens, time of the last refill)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` tokens from `key`'s bucket: 0.0 when paid, else the seconds to wait (nothing taken).

        A cost above the bucket's capacity can never be paid at once; it is charged as the
        whole capacity, so a large batch waits for a full bucket rather than forever.
        """
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        cost = min(cost, self.capacity)
        tokens, last = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= cost:
            tokens -= cost
            wait = 0.0
        else:
            wait = (cost - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_BUCKETS:
            self._forget(now)
        return wait

    def _forget(self, now: float) -> None:
        """Drop buckets that have refilled (they are the same as no bucket), then the oldest beyond the cap."""
        full = [k for k, (tokens, last) in self._buckets.items() if tokens + (now - last) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


def retry_after(wait_s: float) -> int:
    """The `Retry-After` value for a wait: whole seconds, at least 1."""
    return max(1, math.ceil(wait_s))
