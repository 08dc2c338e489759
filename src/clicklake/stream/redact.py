"""Erasure in the embedded stream: records of one person overwritten in place, then the file compacted.

`LocalStream.redact` calls `redact_local`. `tombstone` is also what the NATS backend reads
back in place of a record it erased (`stream/nats.py`).

The stream keeps every record for `stream.retention_hours` after it was loaded, so an
erasure must reach it too. A record is never removed (offsets stay contiguous, and the
loader's position stays valid): its key and payload are replaced by a tombstone of the
same encoded size, a `rejected` payload with the reason `erased` and no bytes, padded with
JSON whitespace. A loader that has not read it yet keeps an empty quarantine row, which
says that something arrived and was erased before it was loaded; nothing of the person.

Chunks keep their sizes, so the byte accounting of the partitions does not move. Then
SQLite forgets the old bytes: `secure_delete` zeroes the pages the update frees, `VACUUM`
rewrites the file without free pages (earlier trims left the old chunks there), and a
`TRUNCATE` checkpoint empties the write-ahead log. Appends wait for the VACUUM (they
retry for the stream's busy timeout).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Final

import msgspec

from clicklake._filelock import pause
from clicklake.errors import TransientError
from clicklake.stream.base import RecordMatch
from clicklake.stream.local import DB_NAME

log = logging.getLogger(__name__)

REASON: Final = "erased"
_pairs = msgspec.msgpack.Decoder(list[tuple[str, bytes]])
_encode = msgspec.msgpack.Encoder().encode


def tombstone(site_id: str | None, size: int = 0) -> bytes:
    """A `rejected` payload with no bytes, exactly `size` bytes long when it fits (longer only when it cannot).

    `size=0`: no size to keep (the NATS backend's tombstones), so the site is always named.
    """
    body = msgspec.json.encode(
        {"kind": "rejected", "site_id": site_id, "received_ts": 0, "source": "erase", "reason": REASON, "raw": ""}
    )
    if size and len(body) > size:
        body = msgspec.json.encode(
            {"kind": "rejected", "site_id": None, "received_ts": 0, "source": "erase", "reason": REASON, "raw": ""}
        )
    return body + b" " * max(0, size - len(body))


def redact_local(path: Path, site_id: str, match: RecordMatch, *, busy_timeout: float = 30.0) -> int:
    """Overwrite the records of the local stream at `path` that `match` names; how many were overwritten."""
    import pyarrow as pa

    con = sqlite3.connect(path / DB_NAME, timeout=busy_timeout, isolation_level=None)
    try:
        con.execute("PRAGMA secure_delete=ON")
        overwritten = 0
        rows = con.execute("SELECT part, first_offset FROM chunks ORDER BY part, first_offset").fetchall()
        for part, first in rows:
            con.execute("BEGIN IMMEDIATE")
            try:
                found = con.execute(
                    "SELECT codec, nbytes, data FROM chunks WHERE part = ? AND first_offset = ?", (part, first)
                ).fetchone()
                if found is None:  # trimmed meanwhile
                    con.execute("COMMIT")
                    continue
                codec, nbytes, data = found
                raw = (
                    pa.decompress(data, decompressed_size=nbytes, codec="lz4", asbytes=True) if codec == "lz4" else data
                )
                pairs = _pairs.decode(raw)
                changed = 0
                for i, (key, payload) in enumerate(pairs):
                    if match(key, payload):
                        pairs[i] = ("-" * len(key.encode()), tombstone(site_id, len(payload)))
                        changed += 1
                if changed:
                    new_raw = _encode(pairs)
                    new_codec, new_data = "none", new_raw
                    if codec == "lz4":
                        new_codec, new_data = "lz4", pa.compress(new_raw, codec="lz4", asbytes=True)
                    con.execute(
                        "UPDATE chunks SET codec = ?, nbytes = ?, data = ? WHERE part = ? AND first_offset = ?",
                        (new_codec, len(new_raw), new_data, part, first),
                    )
                    overwritten += changed
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        if not compact_sqlite(con):
            raise TransientError(
                f"the stream at {path} stayed busy while its erased records were being compacted away; "
                "run the erasure again"
            )
        return overwritten
    finally:
        con.close()


def compact_sqlite(con: sqlite3.Connection, attempts: int = 100) -> bool:
    """VACUUM and empty the WAL of an open SQLite database, retrying while other connections are busy.

    The WAL keeps old page images until it is reset, and free pages keep deleted rows: both
    go, so that no byte of a deleted row stays in the files. False when other connections
    kept it busy through every attempt (about ten seconds).
    """
    for attempt in range(attempts):
        try:
            con.execute("VACUUM")
            break
        except sqlite3.OperationalError as exc:
            if attempt == attempts - 1:
                log.warning("could not VACUUM a SQLite database (%s); its free pages may keep deleted rows", exc)
                return False
            pause(0.1)
    for _ in range(attempts):
        busy, _log, _done = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return True
        pause(0.1)
    log.warning("could not empty the write-ahead log of a SQLite database: other connections kept it busy")
    return False


def compact_sqlite_file(path: Path, busy_timeout: float = 30.0) -> bool:
    """`compact_sqlite` on the database file at `path` (True when there is none)."""
    if not path.is_file():
        return True
    con = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        return compact_sqlite(con)
    finally:
        con.close()
