"""Every stage built from the settings: the one place that turns configuration into running parts.

The stages themselves take what they need as arguments (a stream, a catalog, a directory);
this module reads `Settings` and hands them over. The commands (`clicklake.cli`), the process
tree (`clicklake.up`, `clicklake.stages`) and the benchmarks build their stages here, so a
backend chosen by a URI is chosen in one place. It sits above every stage and may import any
of them; no stage imports it (`tests/test_layers.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from clicklake.config import Settings
from clicklake.stream import stream_from_settings

__all__ = [
    "catalog_from_settings",
    "loader_from_settings",
    "maintain_all",
    "metadata_from_settings",
    "realtime_from_settings",
    "retention_limits",
    "stream_from_settings",
    "transformer_from_settings",
    "web_from_settings",
]

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from clicklake.collect.metadata import Metadata
    from clicklake.lake.maintain import MaintainReport
    from clicklake.lake.retention import Limits
    from clicklake.load import Loader
    from clicklake.realtime import Realtime
    from clicklake.stream import Stream, TrimResult
    from clicklake.transform import Transformer, TransformMetrics
    from clicklake.web.app import Web


def catalog_from_settings(settings: Settings) -> Catalog:
    """The Iceberg catalog and warehouse that the settings name (SQL or REST; a local folder or S3)."""
    from clicklake.lake import catalog

    return catalog.catalog_from_settings(settings)


def metadata_from_settings(settings: Settings) -> Metadata:
    """The metadata database (sites, keys, accounts, alert rules) that the settings name."""
    from clicklake.collect.metadata import Metadata

    return Metadata.open(settings)


def loader_from_settings(settings: Settings, stream: Stream, partitions: str | None = None) -> Loader:
    """A loader of `stream` into the catalog that the settings name (tables created if missing).

    `partitions` (else the setting `load.partitions`) limits it to some partitions, for many loaders.
    """
    from clicklake.load import Loader, parse_partitions

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
    from clicklake.lake.maintain import maintain

    report = maintain(catalog, settings.lake, retention=retention_limits(settings))
    trimmed = stream.trim(max_age_s=settings.stream.retention_hours * 3600)
    return report, trimmed


def retention_limits(settings: Settings) -> Limits:
    """Every site's retention from the metadata database, and the settings' for rows of any other site."""
    from clicklake.collect.metadata import Metadata
    from clicklake.collect.policy import KINDS, retentions
    from clicklake.lake.retention import Limits

    lake = settings.lake
    default = {kind: int(getattr(lake, f"retention_{kind}_days")) for kind in KINDS}
    with Metadata.open(settings) as metadata:
        found = retentions(metadata, lake)
    sites = {site: {kind: int(getattr(r, f"{kind}_days")) for kind in KINDS} for site, r in found.items()}
    return Limits(sites=sites, default=default)


def transformer_from_settings(
    settings: Settings,
    *,
    metrics: TransformMetrics | None = None,
    progress: Callable[[str], None] | None = None,
) -> Transformer:
    """A transformer of the catalog that the settings name, with its lock and scratch space in `<data>/transform`."""
    from clicklake.transform import Transformer

    return Transformer(
        catalog_from_settings(settings),
        settings.transform,
        settings.data_dir / "transform",
        metrics=metrics,
        progress=progress,
    )


def realtime_from_settings(settings: Settings, stream: Stream) -> Realtime:
    """The realtime stage over `stream`, with the settings' rebuild horizon."""
    from clicklake.realtime import Realtime

    return Realtime(stream, rebuild_minutes=settings.realtime.rebuild_minutes)


def web_from_settings(settings: Settings, metadata: Metadata, *, ensure: bool = True) -> Web:
    """The web stage over the catalog and metadata database the settings name (with `ensure`, the lake
    tables are created if missing; the HTTP workers of `clicklake up` skip it, its prepare child did it)."""
    from clicklake.lake.tables import ensure_tables
    from clicklake.query.sandbox import Limits, Sandbox
    from clicklake.web.app import Web

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = catalog_from_settings(settings)
    if ensure:
        ensure_tables(catalog)
    q = settings.query
    limits = Limits(timeout_s=q.timeout_s, memory_limit=q.memory_limit, max_rows=q.max_rows, threads=q.threads)
    return Web(settings, metadata, Sandbox(catalog, limits))
