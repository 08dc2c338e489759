"""One transform at a time: an exclusive lock on a file in the data directory.

`fcntl.flock` is released by the kernel when the holder exits, even on SIGKILL, so a
crashed run never leaves a stale lock behind. The file holds the holder's pid, for the
message another run prints while it waits. The lock covers the processes of one
machine; transforms on several machines against one shared catalog are not supported.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path


class RunLock:
    """The lock file `path`; `hold` takes it for the length of a `with` block."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def hold(self, *, wait: bool, on_wait: Callable[[str], None] | None = None) -> Iterator[bool]:
        """Yield True once the lock is held; with `wait=False`, yield False at once if another holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not wait:
                        yield False
                        return
                    if on_wait is not None and not told:
                        holder = self.path.read_text(encoding="utf-8").strip() or "unknown"
                        on_wait(f"another transform (pid {holder}) is running; waiting for it to finish")
                        told = True
                    time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            try:
                yield True
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
