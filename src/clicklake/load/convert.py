"""Stream payloads to an Arrow table with the `bronze.events` schema, a micro-batch at a time.

The fast path hands the whole micro-batch to DuckDB's vectorised JSON reader with the
column types of the table (derived from the contract), so no Python object is made per
event. DuckDB coerces where it can (a number for a string column becomes its text), so
it is only given payloads that carry the exact record version this code writes
(`RECORD_PREFIX`); anything else, and any batch DuckDB refuses, is judged one payload at
a time by msgspec against the `Record` Struct, which is strict. Payloads that fail are
returned with the reason, for `bronze.quarantine`.

Measured on the bench machine (`bench/loader.py`): DuckDB parses these ~1.3 KB records
several times faster than decoding them with msgspec into Structs and converting those
with `pyarrow.Table.from_pylist`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, NamedTuple

import duckdb
import msgspec
import pyarrow as pa

from clicklake.lake.tables import EVENTS_SCHEMA
from clicklake.schema.arrow import duckdb_type
from clicklake.schema.envelope import RECORD_PREFIX, Rejected, decode_payload
from clicklake.schema.record import Record

log = logging.getLogger(__name__)


#: The `columns` argument of `read_json`: a DuckDB struct literal of column name → type.
_COLUMNS: Final = (
    "{" + ", ".join(f"'{f.name}': '{duckdb_type(f.type, time_as_number=True)}'" for f in EVENTS_SCHEMA) + "}"
)


@contextmanager
def _scratch_file(work_dir: Path, data: bytes) -> Iterator[str]:
    """A path DuckDB can read `data` from: an anonymous in-memory file on Linux, else a temporary file."""
    if hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir():
        fd = os.memfd_create("clicklake-batch", os.MFD_CLOEXEC)
        try:
            _write_all(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, name = tempfile.mkstemp(dir=work_dir, prefix="batch-", suffix=".ndjson")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield name
    finally:
        os.unlink(name)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Converted(NamedTuple):
    """The rows that converted (input order), and `(index, reason)` for each payload that did not."""

    table: pa.Table
    failed: list[tuple[int, str]]


class Converter:
    """Turns micro-batches of payloads into Arrow; one per loader (it holds a DuckDB connection)."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        work_dir.mkdir(parents=True, exist_ok=True)
        # One thread: the parse is a few ms per micro-batch, and DuckDB's default (a thread per core)
        # spent more CPU on it in all (8.2 against 6.7 us a record, measured) and took every core
        # in bursts, away from the collector's workers, whose answers then waited.
        self._db = duckdb.connect(config={"preserve_insertion_order": True, "threads": 1})
        self._strict = msgspec.json.Decoder(Record)
        self._encode = msgspec.json.Encoder().encode

    def close(self) -> None:
        self._db.close()

    def convert(self, payloads: list[bytes]) -> Converted:
        """Arrow rows of `bronze.events` for `payloads`, in their order, and the reasons for the rest."""
        if not payloads:
            return Converted(EVENTS_SCHEMA.empty_table(), [])
        prefix = RECORD_PREFIX
        if all(p.startswith(prefix) and b"\n" not in p for p in payloads):
            try:
                return Converted(self._parse(payloads), [])
            except (duckdb.Error, pa.ArrowInvalid) as exc:
                log.warning("a micro-batch of %d records needs checking one by one: %s", len(payloads), exc)
        return self._convert_each(payloads)

    def _parse(self, payloads: list[bytes]) -> pa.Table:
        """One DuckDB scan of the payloads as newline-delimited JSON."""
        data = b"\n".join(payloads)
        with _scratch_file(self.work_dir, data) as path:
            escaped = path.replace("'", "''")
            sql = (
                f"SELECT * FROM read_json('{escaped}', format = 'newline_delimited', auto_detect = false, "
                f"maximum_object_size = 1048576, columns = {_COLUMNS})"
            )
            table = self._db.sql(sql).to_arrow_table()
        if table.num_rows != len(payloads):
            raise pa.ArrowInvalid(f"DuckDB read {table.num_rows} rows of {len(payloads)} records")
        return table.cast(EVENTS_SCHEMA)

    def _convert_each(self, payloads: list[bytes]) -> Converted:
        """Check every payload with msgspec; parse the good ones, report the others."""
        good: list[bytes] = []
        failed: list[tuple[int, str]] = []
        for i, payload in enumerate(payloads):
            try:
                decoded = decode_payload(payload)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                failed.append((i, f"not a record this loader can read: {exc}"))
                continue
            if isinstance(decoded, Rejected):
                failed.append((i, "a rejection where a record was expected"))
            else:
                good.append(self._encode(decoded))  # canonical: one line, known key order
        if not good:
            return Converted(EVENTS_SCHEMA.empty_table(), failed)
        try:
            return Converted(self._parse(good), failed)
        except (duckdb.Error, pa.ArrowInvalid) as exc:
            # Not expected once msgspec accepted every record; Arrow from Python objects is slow but exact.
            log.warning("DuckDB refused %d checked records (%s); converting them from Python objects", len(good), exc)
            rows = msgspec.to_builtins([self._strict.decode(p) for p in good])
            return Converted(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA), failed)
