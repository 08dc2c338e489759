"""The transform stage: SQL models from bronze to silver and gold, an incremental runner, data-quality checks."""

from __future__ import annotations

from collections.abc import Callable

from clicklake.config import Settings
from clicklake.lake.catalog import catalog_from_settings
from clicklake.transform.metrics import TransformMetrics
from clicklake.transform.runner import Transformer, TransformReport

__all__ = ["TransformMetrics", "TransformReport", "Transformer", "transformer_from_settings"]


def transformer_from_settings(
    settings: Settings,
    *,
    metrics: TransformMetrics | None = None,
    progress: Callable[[str], None] | None = None,
) -> Transformer:
    """A transformer of the catalog that the settings name, with its lock and scratch space in `<data>/transform`."""
    return Transformer(
        catalog_from_settings(settings),
        settings.transform,
        settings.data_dir / "transform",
        metrics=metrics,
        progress=progress,
    )
