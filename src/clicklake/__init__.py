"""clicklake: self-hosted clickstream analytics on an open lakehouse."""

from __future__ import annotations

from importlib.metadata import version

__version__ = version("clicklake")
