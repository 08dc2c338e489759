"""Erasing a person (GDPR art. 17) and exporting what is held about them (art. 15), across every stage.

It lives in `transform` because an erasure ends by rebuilding the silver and gold days
the person was on; it reaches left to the stream, the lake and the metadata database.

`erase_person`, while holding the transform lock (no transform runs meanwhile; the loader
and the collectors go on):

1. finds the person's ids (`clicklake.lake.erase.find_subject`);
2. erases their records in the stream (`Stream.redact`: overwritten in place in the
   embedded stream, securely deleted on NATS JetStream; either way a reader gets a tombstone
   at their offsets), then waits until the loader has committed everything the stream held
   at that moment, so that no copy of theirs is on its way into bronze (the wait ends early
   when no loader moves);
3. deletes their rows from every table, bronze first (copy-on-write commits retried on
   conflicts with the loader), rebuilds the silver and gold days they were on from bronze
   (gold's aggregates without them) and deletes again whatever arrived meanwhile;
4. expires every older snapshot and deletes the files only those snapshots read, and the
   uncommitted files that hold them;
5. rewrites the SQLite files (stream, catalog, metadata) without free pages or WAL, and
   keeps a receipt (`clicklake.collect.policy`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from clicklake._filelock import exclusive, pause
from clicklake.collect.metadata import METADATA_FILE, Metadata
from clicklake.collect.policy import Receipt, add_receipt, known_site, retentions
from clicklake.config import Settings
from clicklake.lake.catalog import CATALOG_FILE, catalog_from_settings
from clicklake.lake.erase import (
    Subject,
    erase_rows,
    find_subject,
    payload_match,
    person_columns,
    raw_match,
    row_match,
    rows_of,
    tables,
)
from clicklake.lake.rows import expire_all, referenced, sweep_files, sweep_orphans, table_name
from clicklake.lake.tables import BRONZE_QUARANTINE, ensure_tables
from clicklake.load.loader import COMMIT_LOCK
from clicklake.stream.redact import compact_sqlite_file
from clicklake.transform.plan import watermark_of
from clicklake.transform.runner import Transformer
from clicklake.transform.tables import GOLD_KPI_DAILY

log = logging.getLogger(__name__)

#: How long an erasure waits for the loader to take in what the stream held, at most.
LOADER_WAIT_S = 30.0


def erase_person(
    settings: Settings,
    site_id: str,
    user_id_hash: str,
    *,
    requested_by: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Receipt:
    """Erase `user_id_hash` from site `site_id` everywhere in the data directory; the receipt kept."""
    say = progress or (lambda message: log.info("%s", message))
    started = int(time.time() * 1000)
    with Metadata.open(settings) as metadata:
        known_site(metadata, site_id)
        bronze_cutoff = _bronze_cutoff(metadata, settings)
    catalog = catalog_from_settings(settings)
    ensure_tables(catalog)
    transformer = Transformer(catalog_from_settings(settings), settings.transform, settings.data_dir / "transform")
    rows: dict[str, int] = {}
    files = nbytes = 0
    commit_lock = settings.data_dir / "load" / COMMIT_LOCK

    def bronze_lock() -> AbstractContextManager[None]:
        return exclusive(commit_lock)

    with transformer.lock.hold(wait=True, on_wait=say):
        subject = find_subject(catalog, site_id, user_id_hash)
        say(f"erasing 1 user id and {len(subject.anonymous_ids)} anonymous id(s) of it on site {site_id}")
        stream_records = _erase_from_stream(settings, subject, say)
        if stream_records:
            rows["stream"] = stream_records
        before = {table_name(t): referenced(t) for t in tables(catalog)}
        say("deleting their rows from every table")
        first = erase_rows(catalog, subject, bronze_lock=bronze_lock)
        days = {d for d in first.days if bronze_cutoff is None or d >= bronze_cutoff}
        if days and _transformed(catalog):
            for start, end in _ranges(days):
                say(f"rebuilding silver and gold for {start} to {end}")
                transformer.run(between=(start, end), lock_held=True)
        say("looking for rows of theirs that arrived meanwhile")
        # the transform lock is held: only the loader can have added rows of theirs since
        second = erase_rows(catalog, subject, bronze_lock=bronze_lock, only="bronze.")
        for erased in (first, second):
            for name, deleted in erased.deleted.items():
                rows[name] = rows.get(name, 0) + deleted.rows
                before.setdefault(name, set()).update(deleted.old_paths)
        say("expiring older snapshots and deleting the files that held them")
        for table in tables(catalog):
            name = table_name(table)
            with bronze_lock() if name.startswith("bronze.") else contextlib.nullcontext():
                expire_all(table)  # not raced by the loader, whose pyiceberg retries would back off
            swept = sweep_files(table, before.get(name, set()))
            files, nbytes = files + swept.files, nbytes + swept.bytes
            if name == BRONZE_QUARANTINE or person_columns(table):
                match = raw_match(subject) if name == BRONZE_QUARANTINE else row_match(subject)
                orphans = sweep_orphans(table, match)
                files, nbytes = files + orphans.files, nbytes + orphans.bytes
    dead_letters = _erase_dead_letters(settings, site_id, subject.ids)
    if dead_letters:
        rows["destinations.dead_letters"] = dead_letters
    with Metadata.open(settings) as metadata:
        receipt = add_receipt(
            metadata,
            site_id=site_id,
            subject=user_id_hash,
            started_ts=started,
            rows={k: v for k, v in sorted(rows.items()) if v},
            files_deleted=files,
            bytes_deleted=nbytes,
            requested_by=requested_by,
        )
    _compact_databases(settings)
    say(f"erased {receipt.total_rows} rows; {files} files ({nbytes} bytes) deleted")
    return receipt


def export_person(settings: Settings, site_id: str, user_id_hash: str) -> dict[str, Any]:
    """Everything the lake holds about `user_id_hash` on `site_id`, as one JSON-ready document."""
    with Metadata.open(settings) as metadata:
        known_site(metadata, site_id)
    catalog = catalog_from_settings(settings)
    ensure_tables(catalog)
    subject = find_subject(catalog, site_id, user_id_hash)
    found = rows_of(catalog, subject)
    for row in found.get(BRONZE_QUARANTINE, []):
        raw = row.pop("raw", None)
        row["raw_text"] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return {
        "site_id": site_id,
        "user_id_hash": user_id_hash,
        "anonymous_ids": sorted(subject.anonymous_ids),
        "generated_at": datetime.now(UTC),
        "rows": {name: len(rows) for name, rows in found.items()},
        "tables": found,
    }


def _erase_from_stream(settings: Settings, subject: Subject, say: Callable[[str], None]) -> int:
    """Erase the person's records in the stream and wait for the loader; records erased."""
    from clicklake.load import GROUP
    from clicklake.stream import stream_from_settings

    stream = stream_from_settings(settings)
    try:
        stats = stream.stats()
        if stats.backend == "nats":
            say("deleting their records from the NATS JetStream stream (secure erase), every partition")
        else:
            say("overwriting their records in the embedded stream with tombstones")
        head = {p.partition: p.next_offset for p in stats.partitions}
        erased = stream.redact(subject.site_id, payload_match(subject))
        say(f"{erased} stream record(s) of theirs erased; a reader gets an empty tombstone in their place")
        _wait_for_loader(stream, GROUP, head, say)
    finally:
        stream.close()
    return erased


def _wait_for_loader(stream: Any, group: str, head: dict[int, int], say: Callable[[str], None]) -> None:
    """Until `group` has committed every partition up to `head`, or has not moved for `LOADER_WAIT_S`."""
    last: dict[int, int] | None = None
    moved = time.monotonic()
    told = False
    while True:
        now = {p: stream.committed(group, p) for p in head}
        if all(now[p] >= head[p] for p in head):
            return
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > LOADER_WAIT_S:
            say("the loader is not taking in the stream; going on (what it loads later is already erased)")
            return
        if not told:
            say("waiting for the loader to take in what the stream holds")
            told = True
        pause(0.2)


def _erase_dead_letters(settings: Settings, site_id: str, ids: frozenset[str]) -> int:
    """Drop the person's events (by their user id or an anonymous id of theirs) from the destinations'
    dead letters (kept in the metadata database)."""
    from clicklake.destinations.store import Store

    store = Store.open(settings)
    try:
        return store.erase(site_id, ids)
    finally:
        store.close()


def _bronze_cutoff(metadata: Metadata, settings: Settings) -> date | None:
    """The first day bronze still holds for every site; days before it cannot be rebuilt from bronze."""
    days = [r.bronze_days for r in retentions(metadata, settings.lake).values() if r.bronze_days > 0]
    if settings.lake.retention_bronze_days > 0:
        days.append(settings.lake.retention_bronze_days)
    return datetime.now(UTC).date() - timedelta(days=min(days)) if days else None


def _transformed(catalog: Catalog) -> bool:
    """Whether the transform has built gold (else there is nothing to rebuild)."""
    try:
        return watermark_of(catalog.load_table(GOLD_KPI_DAILY)) is not None
    except NoSuchTableError:
        return False


def _ranges(days: set[date]) -> list[tuple[date, date]]:
    ordered = sorted(days)
    out: list[tuple[date, date]] = []
    for day in ordered:
        if out and day == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def _compact_databases(settings: Settings) -> None:
    """The SQLite files of the data directory without free pages or WAL (a deleted row's bytes can stay in both)."""
    data = settings.data_dir.resolve()
    if settings.catalog_uri is None:
        compact_sqlite_file(data / CATALOG_FILE)
    if not settings.collect.metadata_uri:
        compact_sqlite_file(data / METADATA_FILE)
