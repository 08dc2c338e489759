"""Per-site retention and erasure receipts, kept in the metadata database beside the sites.

Two tables, created on first use in the database `clicklake.collect.metadata.Metadata` opens:

- `site_retention(site_id, bronze_days, quarantine_days, silver_days)`: a site's own
  retention; a null column falls back to the setting (`lake.retention_*_days`), and 0 keeps
  rows for ever.
- `erasures`: one receipt per erasure: when, which site, how many rows left each table, how
  many files were deleted. The person is never stored in clear: `subject` is
  SHA-256(salt + id) with a random salt of its own, so a receipt can later confirm that a
  given id was erased (`matches`) but cannot name whom it erased.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from clicklake.collect.metadata import Metadata, sites_table
from clicklake.config import LakeSettings
from clicklake.errors import InputError

_schema = sa.MetaData()

retention_table: Final = sa.Table(
    "site_retention",
    _schema,
    sa.Column("site_id", sa.String(32), primary_key=True),
    sa.Column("bronze_days", sa.Integer, nullable=True),
    sa.Column("quarantine_days", sa.Integer, nullable=True),
    sa.Column("silver_days", sa.Integer, nullable=True),
)

erasures_table: Final = sa.Table(
    "erasures",
    _schema,
    sa.Column("erasure_id", sa.String(32), primary_key=True),
    sa.Column("site_id", sa.String(32), nullable=False, index=True),
    sa.Column("started_ts", sa.BigInteger, nullable=False),
    sa.Column("finished_ts", sa.BigInteger, nullable=False),
    sa.Column("salt", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("rows", sa.JSON, nullable=False),
    sa.Column("files_deleted", sa.BigInteger, nullable=False),
    sa.Column("bytes_deleted", sa.BigInteger, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=True),
)

#: The retention keys, as `sites update --retention-<key>-days` and the API name them.
KINDS: Final = ("bronze", "quarantine", "silver")


class Retention(msgspec.Struct, frozen=True, kw_only=True):
    """Days each layer of one site is kept; 0 keeps it for ever. `own` says which the site set itself."""

    site_id: str
    bronze_days: int
    quarantine_days: int
    silver_days: int
    own: tuple[str, ...] = ()


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    """What an erasure did; never the person's id."""

    erasure_id: str
    site_id: str
    started_ts: int
    finished_ts: int
    rows: dict[str, int]
    files_deleted: int
    bytes_deleted: int
    requested_by: str | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _ensure(metadata: Metadata) -> None:
    # two requests at once (the dashboard's Settings asks for retention and receipts together,
    # maybe in two worker processes) may both find no table and one lose the race to create it:
    # looking again finds it made (a few times: there are two tables to race for)
    for attempt in range(5):
        try:
            _schema.create_all(metadata.engine)
            return
        except sa.exc.DatabaseError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))


def retention_of(metadata: Metadata, lake: LakeSettings, site_id: str) -> Retention:
    """The retention that applies to `site_id`: its own values, else the settings'."""
    _ensure(metadata)
    with metadata.engine.connect() as con:
        row = con.execute(retention_table.select().where(retention_table.c.site_id == site_id)).first()
    return _retention(site_id, row._mapping if row is not None else {}, lake)


def retentions(metadata: Metadata, lake: LakeSettings) -> dict[str, Retention]:
    """The retention of every site, by site id."""
    _ensure(metadata)
    with metadata.engine.connect() as con:
        own = {r.site_id: r._mapping for r in con.execute(retention_table.select())}
    return {s.site_id: _retention(s.site_id, own.get(s.site_id, {}), lake) for s in metadata.sites()}


def _retention(site_id: str, row: Any, lake: LakeSettings) -> Retention:
    values: dict[str, int] = {}
    own = []
    for kind in KINDS:
        value = row.get(f"{kind}_days") if row else None
        if value is not None:
            own.append(kind)
        values[f"{kind}_days"] = int(value) if value is not None else int(getattr(lake, f"retention_{kind}_days"))
    return Retention(site_id=site_id, own=tuple(own), **values)


def set_retention(metadata: Metadata, lake: LakeSettings, site_id: str, days: dict[str, int | None]) -> Retention:
    """Set a site's own retention for the kinds in `days` (None: back to the setting); the retention now.

    Raises:
        InputError: an unknown site or kind, or a negative number of days.
    """
    _ensure(metadata)
    if metadata.site(site_id) is None:
        raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
    values: dict[str, int | None] = {}
    for kind, value in days.items():
        if kind not in KINDS:
            raise InputError(f"Unknown retention {kind!r}; one of: {', '.join(KINDS)}.")
        if value is not None and value < 0:
            raise InputError(f"Retention of {kind} must be 0 (keep for ever) or a number of days, got {value}.")
        values[f"{kind}_days"] = value
    if values:
        with metadata.engine.begin() as con:
            found = con.execute(
                retention_table.update().where(retention_table.c.site_id == site_id).values(**values)
            ).rowcount
            if not found:
                con.execute(retention_table.insert().values(site_id=site_id, **values))
    return retention_of(metadata, lake, site_id)


# -- receipts -------------------------------------------------------------------


def subject_hash(salt: str, subject: str) -> str:
    return hashlib.sha256((salt + subject).encode("utf-8")).hexdigest()


def add_receipt(
    metadata: Metadata,
    *,
    site_id: str,
    subject: str,
    started_ts: int,
    rows: dict[str, int],
    files_deleted: int,
    bytes_deleted: int,
    requested_by: str | None = None,
) -> Receipt:
    """Keep the receipt of an erasure of `subject` (stored salted and hashed only)."""
    _ensure(metadata)
    salt = secrets.token_hex(16)
    receipt = Receipt(
        erasure_id=uuid.uuid4().hex,
        site_id=site_id,
        started_ts=started_ts,
        finished_ts=int(time.time() * 1000),
        rows=rows,
        files_deleted=files_deleted,
        bytes_deleted=bytes_deleted,
        requested_by=requested_by,
    )
    with metadata.engine.begin() as con:
        con.execute(
            erasures_table.insert().values(
                salt=salt, subject=subject_hash(salt, subject), **msgspec.structs.asdict(receipt)
            )
        )
    return receipt


def receipts(metadata: Metadata, site_id: str | None = None, subject: str | None = None) -> list[Receipt]:
    """Receipts, newest first; of one site, and of one person's id when `subject` is given."""
    _ensure(metadata)
    query = erasures_table.select().order_by(erasures_table.c.started_ts.desc())
    if site_id is not None:
        query = query.where(erasures_table.c.site_id == site_id)
    with metadata.engine.connect() as con:
        rows = list(con.execute(query))
    out = []
    for row in rows:
        fields = {str(k): v for k, v in row._asdict().items()}
        salt, hashed = fields.pop("salt"), fields.pop("subject")
        if subject is not None and subject_hash(salt, subject) != hashed:
            continue
        out.append(msgspec.convert(fields, Receipt))
    return out


def known_site(metadata: Metadata, site_id: str) -> None:
    """Raise InputError unless `site_id` is a site."""
    with metadata.engine.connect() as con:
        found = con.execute(sa.select(sites_table.c.site_id).where(sites_table.c.site_id == site_id)).first()
    if found is None:
        raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
