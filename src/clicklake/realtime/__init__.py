"""The realtime stage: live counters over the stream tail (the embedded Flink / streaming view).

`Realtime` reads the stream with its own consumer group beside the loader and keeps
per-site windows in memory (`windows.py`); `web/live.py` serves them at `/api/live`.
`clicklake.wiring.realtime_from_settings` builds one; `serve.py` serves its windows to other
processes, and `client.py` reads them there.
"""

from __future__ import annotations

from clicklake.realtime.stage import GROUP, Realtime
from clicklake.realtime.windows import Windows

__all__ = ["GROUP", "Realtime", "Windows"]
