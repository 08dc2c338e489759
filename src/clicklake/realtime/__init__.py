"""The realtime stage: live counters over the stream tail (the embedded Flink / streaming view).

`Realtime` reads the stream with its own consumer group beside the loader and keeps
per-site windows in memory (`windows.py`); `web/live.py` serves them at `/api/live`.
"""

from __future__ import annotations

from clicklake.config import Settings
from clicklake.realtime.stage import GROUP, Realtime
from clicklake.realtime.windows import Windows
from clicklake.stream import Stream

__all__ = ["GROUP", "Realtime", "Windows", "realtime_from_settings"]


def realtime_from_settings(settings: Settings, stream: Stream) -> Realtime:
    """The realtime stage over `stream`, with the settings' rebuild horizon."""
    return Realtime(stream, rebuild_minutes=settings.realtime.rebuild_minutes)
