"""An exclusive lock on a file (`fcntl.flock`), held for a `with` block, shared by the processes of one machine.

The kernel releases it when the holder exits, even on SIGKILL, so a crash never leaves it held.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold the lock on `path` (created if missing) for the block, waiting for another holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def pause(seconds: float) -> None:
    """Wait `seconds` on the monotonic clock (a timed wait, which a process whose wall clock is faked
    by libfaketime can still do; its `time.sleep` may fail there)."""
    threading.Event().wait(seconds)
