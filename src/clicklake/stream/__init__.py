"""The durable event stream between the collector and the loader (the embedded Kinesis).

`open_stream(uri)` picks a backend from a URI and imports it only then:

- `local:///abs/path` or a plain path: `LocalStream`, a SQLite log under that directory;
- `nats://host:port/NAME`: NATS JetStream (`NatsStream`, one JetStream stream per partition).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
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

if TYPE_CHECKING:
    from clicklake.config import Settings

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
    "stream_from_settings",
]


def open_stream(uri: str | Path, **opts: Any) -> Stream:
    """Open the stream that `uri` names; `opts` go to the backend (partitions, fsync, limits)."""
    text = str(uri)
    scheme = urlsplit(text).scheme if "://" in text else ""
    if scheme in ("", "file", "local"):
        path = Path(unquote(urlsplit(text).path)) if scheme else Path(text)
        if scheme and (not path.is_absolute() or urlsplit(text).netloc):
            raise ConfigError(f"stream URI {text!r} must be local:///absolute/path (three slashes)")
        from clicklake.stream.local import LocalStream

        return LocalStream(path, **opts)
    if scheme in ("nats", "tls"):
        from clicklake.stream.nats import open_nats

        return open_nats(text, **opts)
    raise ConfigError(
        f"stream URI {text!r}: unknown scheme {scheme!r}; use local:///path, a plain path or nats://host:port/NAME"
    )


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
