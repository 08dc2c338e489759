"""What the stream carries between the collector and the loader.

Three kinds of payload, told apart by their first bytes:

- `{"kind":"event/1",...}`: one enriched `Record` as JSON, one row of `bronze.events`. The
  number is `RECORD_KIND`'s version; a loader reads the version it was built with, and
  quarantines any other with a reason that says so (nothing is dropped during a rolling
  upgrade).
- `{"kind":"rejected",...}`: an event the collector refused, kept with its reason for
  `bronze.quarantine` (the raw bytes as received, base64 in the JSON).
- `arrow:event/1:` and a fingerprint of the lake's columns for that record version, a
  newline, then one Arrow IPC record batch message: a chunk of many records as
  `bronze.events` rows (`CHUNK_PREFIX`). The schema is not repeated in every chunk (it
  would cost more than the rows of a small one to write and to read); the fingerprint
  names it, and a loader quarantines a chunk whose fingerprint is not its own.

A busy collector appends chunks: `pack` turns the records of one group commit into one
chunk per stream partition once there are `CHUNK_MIN_RECORDS` of them, and into JSON
records below that. A chunk costs the collector a few microseconds an event to build
(`clicklake.schema.columnar`) and saves the loader parsing JSON, which costs it more than
writing the Parquet; one event alone is cheaper as JSON, whose fixed cost is nil. Any
consumer can read both: JSON with any JSON parser, chunks with any Arrow library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

import msgspec
import pyarrow as pa
from msgspec import Struct

from clicklake.schema.columnar import records_to_table
from clicklake.schema.record import RECORD_KIND, Record
from clicklake.stream.base import partition_for


class Rejected(Struct, kw_only=True, tag="rejected", tag_field="kind"):
    """An event refused at the door: where it came from, why, and its bytes as received."""

    site_id: str | None
    #: epoch ms, UTC
    received_ts: int
    #: who refused it, e.g. "http" (the collector) or "loader"
    source: str
    reason: str
    raw: bytes


Payload = Record | Rejected

#: Every JSON payload of the current record version starts with these bytes.
RECORD_PREFIX: Final = b'{"kind":"' + RECORD_KIND.encode() + b'",'


def _events_schema() -> pa.Schema:
    from clicklake.lake.tables import EVENTS_SCHEMA  # the lake imports this package's Structs

    return EVENTS_SCHEMA


def _events_schema_id() -> str:
    """A fingerprint of the Arrow columns of the current record version (a chunk carries no schema)."""
    return hashlib.sha256(str(_events_schema()).encode()).hexdigest()[:16]


#: Every chunk payload, of any version, starts with these bytes.
CHUNK_MARK: Final = b"arrow:"
#: Every chunk payload of the current record version and lake columns starts with these bytes.
CHUNK_PREFIX: Final = CHUNK_MARK + RECORD_KIND.encode() + b":" + _events_schema_id().encode() + b"\n"
#: Below this many records in one append, records go as JSON, one payload each.
CHUNK_MIN_RECORDS: Final = 32

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Payload] = msgspec.json.Decoder(Payload)


def encode_payload(payload: Payload) -> bytes:
    """The stream payload of a record or a rejection."""
    return _encoder.encode(payload)


def decode_payload(data: bytes) -> Payload:
    """Decode one payload strictly; raises `msgspec.ValidationError` or `msgspec.DecodeError`."""
    return _decoder.decode(data)


def encode_chunk(rows: pa.Table) -> bytes:
    """The chunk payload of `bronze.events` rows (in `EVENTS_SCHEMA`)."""
    batch = rows.combine_chunks().to_batches()
    if len(batch) != 1:
        raise ValueError(f"a chunk holds one or more rows; got {rows.num_rows}")
    data: bytes = CHUNK_PREFIX + batch[0].serialize().to_pybytes()
    return data


def decode_chunk(data: bytes) -> pa.Table:
    """The rows of a chunk payload; raises `ValueError` when it is not a chunk this code can read."""
    if not data.startswith(CHUNK_PREFIX):
        raise ValueError(
            f"not a chunk of {RECORD_KIND} records with columns {_events_schema_id()}: it starts {data[:48]!r}"
        )
    try:
        batch = pa.ipc.read_record_batch(pa.py_buffer(memoryview(data)[len(CHUNK_PREFIX) :]), _events_schema())
        batch.validate()  # the sizes of buffers; the loader checks the values of all chunks at once
    except (pa.ArrowException, EOFError, OSError) as exc:
        raise ValueError(f"an unreadable {RECORD_KIND} chunk: {exc}") from None
    return pa.Table.from_batches([batch])


def pack(
    items: Sequence[tuple[str, Record | bytes]], partitions: int, *, min_chunk: int = CHUNK_MIN_RECORDS
) -> list[tuple[str, bytes]]:
    """Stream payloads of records and already-encoded payloads, keyed for `Stream.append`.

    With `min_chunk` records or more, the records become one chunk per partition,
    keyed by one of its records' keys (all of them map to that partition, so the order
    of each key's records is kept); otherwise one JSON payload each. Bytes pass as they are.
    """
    keyed = [(key, item) for key, item in items if isinstance(item, Record)]
    if len(keyed) < min_chunk:
        return [(key, item if isinstance(item, bytes) else encode_payload(item)) for key, item in items]
    out = [(key, item) for key, item in items if isinstance(item, bytes)]
    by_partition: dict[int, list[tuple[str, Record]]] = {}
    for key, record in keyed:
        by_partition.setdefault(partition_for(key, partitions), []).append((key, record))
    ordered = [pair for part in sorted(by_partition) for pair in by_partition[part]]
    rows = records_to_table([record for _, record in ordered])
    start = 0
    for part in sorted(by_partition):
        count = len(by_partition[part])
        out.append((by_partition[part][0][0], encode_chunk(rows.slice(start, count))))
        start += count
    return out
