"""The transform stage: SQL models from bronze to silver and gold, an incremental runner, data-quality checks.

`clicklake.wiring.transformer_from_settings` builds one from the settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clicklake._lazy import exports

if TYPE_CHECKING:
    from clicklake.transform.metrics import TransformMetrics
    from clicklake.transform.runner import Transformer, TransformReport

__getattr__ = exports(
    __name__,
    {
        "TransformMetrics": "metrics",
        "Transformer": "runner",
        "TransformReport": "runner",
    },
)


__all__ = ["TransformMetrics", "TransformReport", "Transformer"]
