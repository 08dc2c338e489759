"""What the stream carries between the collector and the loader: one JSON object per record.

Two kinds, told apart by the `kind` member that comes first in every payload:

- `"kind": "event/1"`: an enriched `Record`, one row of `bronze.events`. The number is
  `RECORD_KIND`'s version; a loader reads the version it was built with, and quarantines
  any other with a reason that says so (nothing is dropped during a rolling upgrade).
- `"kind": "rejected"`: an event the collector refused, kept with its reason for
  `bronze.quarantine` (its bytes, base64 in the JSON). Those bytes are the event as
  received after the collector's privacy (`clicklake.schema.privacy.scrub_refused`):
  PII redacted, IP addresses cut to their network. A `Rejected` scrubs its bytes
  whenever one is made or decoded, so no path can keep them unscrubbed: the collector
  (which also drops a refused event whose consent is false before making one), the
  loader (which decodes rejections from the stream, perhaps written by an older
  collector, and makes its own of unreadable records), and a replay.

JSON rather than a binary format, because the loader parses whole micro-batches of it at
once in DuckDB's vectorised reader, and because any consumer of the stream (the live
counters, an operator with the sqlite3 CLI) can read it.
"""

from __future__ import annotations

from typing import Final

import msgspec
from msgspec import Struct

from clicklake.schema.privacy import scrub_refused
from clicklake.schema.record import RECORD_KIND, Record

#: Appended to the reason of a rejection whose bytes were dropped for want of consent.
CONSENT_DROPPED: Final = " (its bytes are not kept: its analytics consent is false)"


class Rejected(Struct, kw_only=True, tag="rejected", tag_field="kind"):
    """An event refused at the door: where it came from, why, and its bytes as received."""

    site_id: str | None
    #: epoch ms, UTC
    received_ts: int
    #: who refused it, e.g. "http" (the collector) or "loader"
    source: str
    reason: str
    raw: bytes

    def __post_init__(self) -> None:
        """Privacy before anything is kept: the bytes scrubbed, or none at all when consent is false."""
        if not self.raw:
            return
        kept = scrub_refused(self.raw)
        if kept is None:
            self.raw = b""
            if not self.reason.endswith(CONSENT_DROPPED):
                self.reason += CONSENT_DROPPED
        elif kept is not self.raw:
            self.raw = kept


Payload = Record | Rejected

#: Every payload of the current record version starts with these bytes.
RECORD_PREFIX: Final = b'{"kind":"' + RECORD_KIND.encode() + b'",'

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Payload] = msgspec.json.Decoder(Payload)


def encode_payload(payload: Payload) -> bytes:
    """The stream payload of a record or a rejection."""
    return _encoder.encode(payload)


def decode_payload(data: bytes) -> Payload:
    """Decode one payload strictly; raises `msgspec.ValidationError` or `msgspec.DecodeError`."""
    return _decoder.decode(data)
