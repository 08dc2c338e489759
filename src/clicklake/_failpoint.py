"""Named crash points for the crash tests: `CLICKLAKE_FAILPOINT=name` kills the process there.

A stage calls `failpoint("load.after_events_commit")` at each step whose crash matters.
When the environment variable `CLICKLAKE_FAILPOINT` names that point (optionally
`name@N`: on its N-th hit, counting from 1), the process sends itself SIGKILL, which
is what a power cut or the OOM killer does: no `finally`, no flush. Unset (always, in
production) a failpoint costs one string comparison.
"""

from __future__ import annotations

import os
import signal
from typing import Final

ENV: Final = "CLICKLAKE_FAILPOINT"


def _armed() -> tuple[str, int]:
    spec = os.environ.get(ENV, "")
    name, _, nth = spec.partition("@")
    return name, int(nth) if nth else 1


_NAME, _NTH = _armed()
_hits = 0


def failpoint(name: str) -> None:
    """Die by SIGKILL here if the environment armed `name` and this is its chosen hit."""
    global _hits
    if name != _NAME:
        return
    _hits += 1
    if _hits == _NTH:
        os.kill(os.getpid(), signal.SIGKILL)
