"""The loader: stream → Arrow → Iceberg `bronze.events` and `bronze.quarantine`, exactly once."""

from __future__ import annotations

from pyiceberg.catalog import Catalog

from clicklake.config import Settings
from clicklake.lake.catalog import open_catalog
from clicklake.lake.maintain import MaintainReport, maintain
from clicklake.lake.retention import Limits
from clicklake.load.loader import GROUP, Loader, LoadStats
from clicklake.stream import Stream, TrimResult, stream_from_settings

__all__ = ["GROUP", "LoadStats", "Loader", "loader_from_settings", "maintain_all", "stream_from_settings"]


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
    the loader has not loaded yet. The lake's rows are kept as long as each site's retention
    says (`clicklake.lake.retention`).
    """
    report = maintain(catalog, settings.lake, retention=retention_limits(settings))
    trimmed = stream.trim(max_age_s=settings.stream.retention_hours * 3600)
    return report, trimmed


def retention_limits(settings: Settings) -> Limits:
    """Every site's retention from the metadata database, and the settings' for rows of any other site."""
    from clicklake.collect.metadata import Metadata
    from clicklake.lake.policy import KINDS, retentions

    lake = settings.lake
    default = {kind: int(getattr(lake, f"retention_{kind}_days")) for kind in KINDS}
    with Metadata.open(settings) as metadata:
        found = retentions(metadata, lake)
    sites = {site: {kind: int(getattr(r, f"{kind}_days")) for kind in KINDS} for site, r in found.items()}
    return Limits(sites=sites, default=default)
