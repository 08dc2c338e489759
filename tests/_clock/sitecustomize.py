"""Imported at start-up by every Python process of `make test`'s shifted-clock run (on PYTHONPATH).

That run fakes the wall clock with Debian's libfaketime 0.9.10. Left to fake CLOCK_MONOTONIC
too, it makes Python's timed waits (`threading.Event.wait`, `Lock.acquire(timeout=...)`)
block for the whole shift; with `FAKETIME_DONT_FAKE_MONOTONIC=1`, which the run sets, its
`clock_nanosleep` wrapper answers EINVAL to every `time.sleep`. So `time.sleep` waits in
`select()` on the real monotonic clock instead. Nothing here runs outside that run.
"""

from __future__ import annotations

import os
import select
import time

if os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1" and "FAKETIME" in os.environ:

    def _sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
