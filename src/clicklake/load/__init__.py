"""The loader: stream → Arrow → Iceberg `bronze.events` and `bronze.quarantine`, exactly once."""

from __future__ import annotations

from pyiceberg.catalog import Catalog

from clicklake.config import Settings
from clicklake.lake.catalog import open_catalog
from clicklake.lake.maintain import MaintainReport, maintain
from clicklake.load.loader import GROUP, Loader, LoadStats
from clicklake.stream import Stream, TrimResult, open_stream

__all__ = ["GROUP", "LoadStats", "Loader", "loader_from_settings", "maintain_all", "stream_from_settings"]


def stream_from_settings(settings: Settings) -> Stream:
    """Open (or create) the stream that the settings name, with their limits."""
    s = settings.stream
    return open_stream(
        settings.stream_uri,
        new_partitions=s.partitions,
        fsync=s.fsync,
        max_bytes=s.max_bytes,
        max_lag_records=s.max_lag_records,
    )


def loader_from_settings(settings: Settings, stream: Stream) -> Loader:
    """A loader of `stream` into the catalog that the settings name (tables created if missing)."""
    load = settings.load
    return Loader(
        stream,
        open_catalog(settings.data_dir, settings.catalog_uri),
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
