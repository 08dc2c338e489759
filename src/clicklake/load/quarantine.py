"""`bronze.quarantine`: list what was refused, and replay what the current code accepts.

Every refused event is kept with its reason: events the collector refused (`source`
"http" and other door sources; `raw` is the event's JSON as sent), and stream records the
loader could not convert (`source` "loader"; `raw` is the stream payload, e.g. a record
version this loader does not know).

Replay judges each row not yet replayed with the current code. A fixable row goes back
through the front door of the pipeline, the stream, so the loader loads it exactly like
any other record; then the row is marked `replayed` in one Iceberg commit per run.

- A door row is fixable when it now passes validation (a newer contract, or a rule
  relaxed). It becomes a record with the site of the row, its original receive time as
  `ingest_ts`, and its own `event_id` or, without one, an id derived from its stream
  position, so replaying the same row twice is caught by the loader's duplicate window.
  The IP address was never stored, so there is no cookieless visitor id for it. Its
  fields get the door's privacy again (`scrub_event`): rows kept by versions that did
  not scrub refused bytes yet hold them as sent.
- A loader row is fixable when its payload now reads as a record of this version.

Order: stream first, then the mark. A crash between the two leaves rows unmarked that
were re-appended; the next replay appends them again with the same event ids, and the
loader drops the copy when it falls within its duplicate window (`load.dedup_window_s`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.table import Table

from clicklake.collect.ingest import scrub_event
from clicklake.errors import ContractError, TransientError
from clicklake.lake.maintain import discard_files, replace_files, rewrite_files
from clicklake.lake.position import carry_position
from clicklake.lake.tables import BRONZE_QUARANTINE
from clicklake.schema import SCHEMA_HASH, decode_event, to_record
from clicklake.schema.envelope import Rejected, decode_payload, encode_payload
from clicklake.schema.record import Record
from clicklake.stream import Stream

log = logging.getLogger(__name__)

#: Namespace of the event ids made for replayed events that had none.
REPLAY_NAMESPACE: Final = uuid.UUID("7f1f3d0e-5b7a-4d55-9c1e-6a3c1c1e0b11")
_ATTEMPTS: Final = 5


class QuarantineEntry(msgspec.Struct):
    """One row of `bronze.quarantine`, as `clicklake quarantine list` shows it."""

    received_ts: int
    site_id: str | None
    source: str
    reason: str
    raw: bytes
    stream_partition: int | None
    stream_offset: int | None
    replayed: bool


class ReplayReport(msgspec.Struct):
    """What one replay did: rows looked at, re-appended, and left with their (new) reason."""

    examined: int = 0
    replayed: int = 0
    still_refused: int = 0
    #: up to 20 (position, reason) of rows that are still refused
    samples: list[str] = msgspec.field(default_factory=list)


def _scan(table: Table, site: str | None, include_replayed: bool) -> pa.Table:
    conditions = []
    if not include_replayed:
        conditions.append("replayed = false")
    if site is not None:
        conditions.append(f"site_id = '{site.replace(chr(39), chr(39) * 2)}'")
    row_filter = " and ".join(conditions) or "true"
    return table.scan(row_filter=row_filter).to_arrow()


def list_quarantine(
    catalog: Catalog, *, site: str | None = None, limit: int = 50, include_replayed: bool = False
) -> tuple[int, list[QuarantineEntry]]:
    """(rows matching, the newest `limit` of them)."""
    rows = _scan(catalog.load_table(BRONZE_QUARANTINE), site, include_replayed)
    total = rows.num_rows
    if total:
        rows = rows.sort_by([("received_ts", "descending"), ("stream_offset", "descending")]).slice(0, limit)
    entries = [
        QuarantineEntry(
            received_ts=int(r["received_ts"].timestamp() * 1000),
            site_id=r["site_id"],
            source=r["source"],
            reason=r["reason"],
            raw=r["raw"],
            stream_partition=r["stream_partition"],
            stream_offset=r["stream_offset"],
            replayed=r["replayed"],
        )
        for r in rows.to_pylist()
    ]
    return total, entries


def _revive(entry: QuarantineEntry) -> Record:
    """The record the current code makes of a quarantined row; raises ContractError with the reason if none."""
    if entry.source == "loader":
        try:
            payload = decode_payload(entry.raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ContractError(f"still not a record this loader can read: {exc}") from None
        if isinstance(payload, Rejected):
            raise ContractError("a rejection, not a record")
        return payload
    if entry.site_id is None:
        raise ContractError("no site: the collector refused it before knowing the site")
    event, ts_ms = decode_event(entry.raw)
    # a row kept before refused bytes were scrubbed at the door gets the door's privacy now
    scrub_event(event)
    given = getattr(event, "event_id", None)
    event_id = given.lower() if isinstance(given, str) else None
    if event_id is None:
        event_id = str(uuid.uuid5(REPLAY_NAMESPACE, f"{entry.stream_partition}:{entry.stream_offset}"))
    return to_record(
        event,
        ts_ms,
        site_id=entry.site_id,
        ingest_ts=entry.received_ts,
        event_id=event_id,
        schema_hash=SCHEMA_HASH,
    )


def replay(catalog: Catalog, stream: Stream, *, site: str | None = None, dry_run: bool = False) -> ReplayReport:
    """Re-validate every row not yet replayed; append the fixable ones to the stream and mark them."""
    table = catalog.load_table(BRONZE_QUARANTINE)
    _, entries = list_quarantine(catalog, site=site, limit=1 << 62)
    report = ReplayReport(examined=len(entries))
    revived: list[tuple[str, bytes]] = []
    done: list[tuple[int | None, int | None]] = []
    for entry in entries:
        try:
            record = _revive(entry)
        except ContractError as exc:
            report.still_refused += 1
            if len(report.samples) < 20:
                report.samples.append(f"{entry.stream_partition}:{entry.stream_offset}: {exc}")
            continue
        revived.append((record.session.session_id or record.event_id, encode_payload(record)))
        done.append((entry.stream_partition, entry.stream_offset))
    report.replayed = len(revived)
    if dry_run or not revived:
        return report
    for i in range(0, len(revived), 1000):
        stream.append(revived[i : i + 1000])
    _mark_replayed(table, done)
    log.info("replayed %d quarantined events into the stream", len(done))
    return report


def _mark_replayed(table: Table, positions: Sequence[tuple[int | None, int | None]]) -> None:
    """Set `replayed` on the rows at `positions`: their days' files replaced in one snapshot.

    Committed without pyiceberg's own retry, which would put this snapshot's copy of the
    stream position on top of a newer loader commit; each attempt plans again instead.
    """
    wanted = pa.array(sorted({f"{p}:{o}" for p, o in positions}))

    def keys(rows: pa.Table) -> pa.ChunkedArray:
        parts = [pc.cast(rows[c], pa.string()) for c in ("stream_partition", "stream_offset")]
        return pc.binary_join_element_wise(*parts, ":")

    def mark(rows: pa.Table) -> pa.Table:
        replayed = pc.or_(rows["replayed"], pc.is_in(keys(rows), value_set=wanted))
        return rows.set_column(rows.schema.get_field_index("replayed"), "replayed", replayed)

    for attempt in range(_ATTEMPTS):
        table.refresh()
        base = table.current_snapshot()
        if base is None:
            return
        every = table.scan(selected_fields=("received_dt", "stream_partition", "stream_offset")).to_arrow()
        days = sorted(set(pc.filter(every["received_dt"], pc.is_in(keys(every), value_set=wanted)).to_pylist()))
        if not days:
            return
        day_filter = " or ".join(f"received_dt = '{d.isoformat()}'" for d in days)
        tasks = list(table.scan(row_filter=day_filter, snapshot_id=base.snapshot_id).plan_files())
        written, _ = rewrite_files(table, tasks, ("received_ts",), mark)
        try:
            replace_files(table, [t.file for t in tasks], written, carry_position(table))
            return
        except (CommitFailedException, ValidationException) as exc:
            discard_files(table.io, written)
            if attempt == _ATTEMPTS - 1:
                raise TransientError(f"could not mark replayed rows in {BRONZE_QUARANTINE}: {exc}") from exc
            time.sleep(0.05 * 2**attempt)
