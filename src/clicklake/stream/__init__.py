"""The durable event stream between the collector and the loader (the embedded Kinesis).

`open_stream(uri)` picks a backend from a URI and imports it only then:

- `local:///abs/path` or a plain path: `LocalStream`, a SQLite log under that directory;
- `nats://host:port`: NATS JetStream, not available yet (raises `ConfigError`).

`clicklake.wiring.stream_from_settings` opens the one the settings name, with their limits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from clicklake.errors import ConfigError
from clicklake.stream.base import (
    GroupStats,
    PartitionLag,
    PartitionStats,
    Stream,
    StreamRecord,
    StreamStats,
    TrimResult,
    partition_for,
)
from clicklake.stream.errors import StreamFullError, StreamUnavailableError

__all__ = [
    "GroupStats",
    "PartitionLag",
    "PartitionStats",
    "Stream",
    "StreamFullError",
    "StreamRecord",
    "StreamStats",
    "StreamUnavailableError",
    "TrimResult",
    "open_stream",
    "partition_for",
]


def open_stream(uri: str | Path, **opts: Any) -> Stream:
    """Open the stream that `uri` names; `opts` go to the backend (for local: partitions, fsync, limits)."""
    text = str(uri)
    scheme = urlsplit(text).scheme if "://" in text else ""
    if scheme in ("", "file", "local"):
        path = Path(unquote(urlsplit(text).path)) if scheme else Path(text)
        if scheme and (not path.is_absolute() or urlsplit(text).netloc):
            raise ConfigError(f"stream URI {text!r} must be local:///absolute/path (three slashes)")
        from clicklake.stream.local import LocalStream

        return LocalStream(path, **opts)
    if scheme in ("nats", "tls"):
        raise ConfigError(
            f"stream URI {text!r}: the NATS JetStream backend is not available yet; "
            "use local:///path/to/dir (or a plain path) for the embedded stream"
        )
    raise ConfigError(f"stream URI {text!r}: unknown scheme {scheme!r}; use local:///path or a plain path")
