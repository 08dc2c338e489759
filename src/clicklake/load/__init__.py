"""The loader: stream → Arrow → Iceberg `bronze.events` and `bronze.quarantine`, exactly once."""

from __future__ import annotations

import re

from pyiceberg.catalog import Catalog

from clicklake.config import Settings
from clicklake.errors import ConfigError
from clicklake.lake.catalog import catalog_from_settings
from clicklake.lake.maintain import MaintainReport, maintain
from clicklake.lake.retention import Limits
from clicklake.load.loader import GROUP, Loader, LoadStats
from clicklake.stream import Stream, TrimResult, stream_from_settings

__all__ = [
    "GROUP",
    "LoadStats",
    "Loader",
    "loader_from_settings",
    "maintain_all",
    "parse_partitions",
    "stream_from_settings",
]


def parse_partitions(spec: str, count: int) -> list[int] | None:
    """`0-3`, `0,2`, `1-2,5` → sorted partition numbers; empty → None (all). Raises ConfigError."""
    if not spec.strip():
        return None
    out: set[int] = set()
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None or int(match[2] or match[1]) < int(match[1]):
            raise ConfigError(f"load partitions {spec!r}: expected numbers and ranges such as 0-3 or 0,2")
        out.update(range(int(match[1]), int(match[2] or match[1]) + 1))
    if not out or min(out) < 0 or max(out) >= count:
        raise ConfigError(f"load partitions {spec!r}: the stream has partitions 0..{count - 1}")
    return sorted(out)


def loader_from_settings(settings: Settings, stream: Stream, partitions: str | None = None) -> Loader:
    """A loader of `stream` into the catalog that the settings name (tables created if missing).

    `partitions` (else the setting `load.partitions`) limits it to some partitions, for many loaders.
    """
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
        partitions=parse_partitions(load.partitions if partitions is None else partitions, stream.partitions),
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
