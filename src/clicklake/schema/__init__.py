"""The event contract: ingest Structs, validation, the enriched record, its schemas."""

from __future__ import annotations

from typing import Final

from clicklake.schema.events import EVENT_TYPES, EXTENSION_EVENT_TYPES, SEED_EVENT_TYPES, Event
from clicklake.schema.jsonschema import json_schema, json_schema_bytes
from clicklake.schema.record import Record, schema_fingerprint, to_record
from clicklake.schema.validate import Batch, Rejection, decode_batch, decode_event

#: `metadata.schema_hash` of every record: a fingerprint of the published schema.
SCHEMA_HASH: Final = schema_fingerprint(json_schema_bytes())

__all__ = [
    "EVENT_TYPES",
    "EXTENSION_EVENT_TYPES",
    "SCHEMA_HASH",
    "SEED_EVENT_TYPES",
    "Batch",
    "Event",
    "Record",
    "Rejection",
    "decode_batch",
    "decode_event",
    "json_schema",
    "json_schema_bytes",
    "to_record",
]
