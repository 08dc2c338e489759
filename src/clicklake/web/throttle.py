"""Login throttling: after a few failed logins, an e-mail (or a client address) must wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

MAX_FAILURES: Final = 5
WINDOW_S: Final = 15 * 60.0


class LoginThrottle:
    """Counts failed logins per key in a sliding window; `wait(key)` is the seconds until the next try."""

    def __init__(
        self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds until a login for these keys is tried again (0: now)."""
        now = self._clock()
        longest = 0.0
        with self._lock:
            for key in keys:
                recent = [t for t in self._failures.get(key, []) if t > now - self.window_s]
                self._failures[key] = recent
                if len(recent) >= self.max_failures:
                    longest = max(longest, recent[-self.max_failures] + self.window_s - now)
        return longest

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > 100_000:  # a flood of made-up keys must not grow memory without bound
                self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window_s}
            for key in keys:
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
