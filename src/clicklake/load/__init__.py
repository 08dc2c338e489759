"""The loader: stream → Arrow → Iceberg `bronze.events` and `bronze.quarantine`, exactly once.

`clicklake.wiring.loader_from_settings` builds one from the settings.
"""

from __future__ import annotations

from clicklake.load.loader import GROUP, Loader, LoadStats

__all__ = ["GROUP", "LoadStats", "Loader"]
