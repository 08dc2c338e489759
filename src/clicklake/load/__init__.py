"""The loader: stream → Arrow → Iceberg `bronze.events` and `bronze.quarantine`, exactly once."""

from __future__ import annotations

from pyiceberg.catalog import Catalog

from clicklake.config import Settings
from clicklake.lake.catalog import catalog_from_settings
from clicklake.lake.maintain import MaintainReport, maintain
from clicklake.load.loader import GROUP, Loader, LoadStats
from clicklake.stream import Stream, TrimResult, stream_from_settings

__all__ = ["GROUP", "LoadStats", "Loader", "loader_from_settings", "maintain_all", "stream_from_settings"]


def loader_from_settings(settings: Settings, stream: Stream) -> Loader:
    """A loader of `stream` into the catalog that the settings name (tables created if missing)."""
    load = settings.load
    return Loader(
        stream,
        catalog_from_settings(settings),
        settings.data_dir / "load",
        flush_interval_s=load.flush_interval_s,
        flush_records=load.flush_records,
        flush_bytes=load.flush_bytes,
        dedup_window_s=load.dedup_window_s,
        keep_snapshots=settings.lake.keep_snapshots,
    )


def maintain_all(settings: Settings, catalog: Catalog, stream: Stream) -> tuple[MaintainReport, TrimResult]:
    """Lake maintenance (compaction, snapshot expiry, file removal), then stream retention.

    The stream keeps records for `stream.retention_hours`, and never drops by age what
    the loader has not loaded yet.
    """
    report = maintain(catalog, settings.lake)
    trimmed = stream.trim(max_age_s=settings.stream.retention_hours * 3600)
    return report, trimmed
