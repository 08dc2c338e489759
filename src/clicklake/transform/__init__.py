"""The transform stage: SQL models from bronze to silver and gold, an incremental runner, data-quality checks.

`clicklake.wiring.transformer_from_settings` builds one from the settings.
"""

from __future__ import annotations

from clicklake.transform.metrics import TransformMetrics
from clicklake.transform.runner import Transformer, TransformReport

__all__ = ["TransformMetrics", "TransformReport", "Transformer"]
