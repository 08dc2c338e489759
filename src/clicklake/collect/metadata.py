"""The collector's metadata database: sites and their write keys, tracked links, daily salts.

SQLAlchemy Core over SQLite (`<data>/metadata.sqlite3`, WAL mode) by default, or
PostgreSQL through `collect.metadata_uri`. The tables are created on open:

- `sites`: one row per website or shop that sends events, with its write key,
  the browser origins allowed to send with that key, whether Do Not Track
  and Global Privacy Control are honoured, its own rate limit (events/s per
  collector process; null: none of its own), and the IANA time zone the Stats API
  counts its days in (null in a row of an older version: UTC).
- `changes`: a counter per kind of row that collectors cache (`sites`), bumped in the
  transaction of every change, so that a running collector notices a changed site
  within `SITE_CHANGE_CHECK_S` by reading one number.
- `links`: tracked redirects (`/r/<link_id>`), affiliate links or QR codes.
- `consent_denied`: per site and UTC day, how many events were dropped because
  analytics consent was false (the events themselves are never stored).
- `salts`: one random salt per UTC day for cookieless visitor ids. Salts of days
  that ended more than 48 h ago are destroyed, so those ids cannot be re-derived.

Every write is one short transaction that is safe to run from several
processes at once: counters and salts use the dialect's
`INSERT ... ON CONFLICT`, never read-modify-write. A database made by an older
version gets the columns it lacks on open (`ALTER TABLE ... ADD COLUMN`).
"""

from __future__ import annotations

import enum
import math
import re
import secrets
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, get_args
from urllib.parse import urlsplit

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from clicklake.errors import ConfigError, InputError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from clicklake.config import Settings

METADATA_FILE: Final = "metadata.sqlite3"
SITE_KEY_TTL_S: Final = 30.0
#: How often `site_by_key` asks whether any site changed (one small query), dropping what it
#: remembers when one did: a changed origin list or rate reaches running collectors this fast.
SITE_CHANGE_CHECK_S: Final = 2.0
SALT_KEEP_MS: Final = 48 * 3600 * 1000
BUSY_TIMEOUT_S: Final = 30.0
_SITE_CACHE_MAX: Final = 4096
_ID_ATTEMPTS: Final = 5
_MAX_URL: Final = 2048
_DIALECTS: Final = ("sqlite", "postgresql")
#: A site's time zone unless it was given one (and that of a site made by an older version).
DEFAULT_TIMEZONE: Final = "UTC"

LinkKind = Literal["affiliate", "qr"]
LINK_KINDS: Final[tuple[str, ...]] = get_args(LinkKind)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE: Final = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_DAY_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

schema = sa.MetaData()

sites_table = sa.Table(
    "sites",
    schema,
    sa.Column("site_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("write_key", sa.String(64), nullable=False, unique=True),
    sa.Column("allowed_origins", sa.JSON, nullable=False),
    sa.Column("honor_dnt", sa.Boolean, nullable=False, default=True),
    sa.Column("honor_gpc", sa.Boolean, nullable=False, default=True),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
    sa.Column("rate_per_s", sa.Float, nullable=True),
    sa.Column("timezone", sa.String(64), nullable=True),
)

#: Columns added after the first release, with the type `ALTER TABLE` gives them.
_ADDED_COLUMNS: Final = (("sites", "rate_per_s"), ("sites", "timezone"))

changes_table = sa.Table(
    "changes",
    schema,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)

links_table = sa.Table(
    "links",
    schema,
    sa.Column("link_id", sa.String(16), primary_key=True),
    sa.Column("site_id", sa.String(32), sa.ForeignKey("sites.site_id"), nullable=False, index=True),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("payout_cents", sa.BigInteger, nullable=True),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
    sa.CheckConstraint("kind IN ('affiliate', 'qr')", name="links_kind"),
    sa.CheckConstraint("payout_cents IS NULL OR payout_cents >= 0", name="links_payout_cents"),
)

consent_denied_table = sa.Table(
    "consent_denied",
    schema,
    sa.Column("site_id", sa.String(32), sa.ForeignKey("sites.site_id"), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
)

salts_table = sa.Table(
    "salts",
    schema,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("salt", sa.LargeBinary(32), nullable=False),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
)


class Site(msgspec.Struct, frozen=True, kw_only=True):
    """A website or shop that sends events with its write key."""

    site_id: str
    name: str
    domain: str
    write_key: str
    allowed_origins: tuple[str, ...]
    honor_dnt: bool = True
    honor_gpc: bool = True
    created_ts: int
    #: Events per second this site may send to one collector process (429 beyond); 0 for no
    #: limit; None for none of its own (setting `collect.rate_per_site` applies, 0 by default).
    rate_per_s: float | None = None
    #: The IANA time zone the Stats API counts the site's days and hours in.
    timezone: str = DEFAULT_TIMEZONE


class _Keep(enum.Enum):
    KEEP = "keep"


#: `update_site`'s default for a field that is not to change.
KEEP: Final = _Keep.KEEP


class Link(msgspec.Struct, frozen=True, kw_only=True):
    """A tracked redirect: `GET /r/<link_id>` records a click and answers 302 to `target`."""

    link_id: str
    site_id: str
    target: str
    kind: LinkKind = "affiliate"
    payout_cents: int | None = None
    created_ts: int

    @property
    def path(self) -> str:
        """The tracked URL's path on the collector."""
        return f"/r/{self.link_id}"

    @property
    def qr_path(self) -> str:
        """The path of the link's QR code (an SVG of the tracked URL)."""
        return f"/r/{self.link_id}/qr.svg"


def default_uri(data_dir: Path) -> str:
    """The SQLite URI of the metadata database in the data directory."""
    return f"sqlite:///{data_dir.resolve() / METADATA_FILE}"


def utc_day(ts_ms: int) -> str:
    """The UTC day ('YYYY-MM-DD') of an epoch-milliseconds timestamp."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).date().isoformat()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Metadata:
    """The metadata database: open it once per process and share it between threads."""

    def __init__(
        self,
        uri: str,
        *,
        site_key_ttl_s: float = SITE_KEY_TTL_S,
        site_change_check_s: float = SITE_CHANGE_CHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uri = uri
        self.engine = _create_engine(uri)
        self._ttl = site_key_ttl_s
        self._check_every = site_change_check_s
        self._clock = clock
        self._sites_by_key: dict[str, tuple[float, Site | None]] = {}
        self._checked_at = -math.inf
        self._sites_seen: int | None = None
        self._salts: dict[str, bytes] = {}
        self._salt_lock = threading.Lock()
        try:
            _create_tables(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def open(cls, settings: Settings) -> Metadata:
        """The database that `collect.metadata_uri` names, or SQLite in the data directory."""
        uri = settings.collect.metadata_uri
        if not uri:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            uri = default_uri(settings.data_dir)
        return cls(uri)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- sites ----------------------------------------------------------------

    def create_site(
        self,
        name: str,
        domain: str,
        allowed_origins: Sequence[str] | None = None,
        *,
        honor_dnt: bool = True,
        honor_gpc: bool = True,
        rate_per_s: float | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> Site:
        """Create a site with a new write key.

        `allowed_origins` defaults to `https://<domain>` and `https://www.<domain>`;
        an empty list allows no browser origin (server-side senders only). `rate_per_s`
        is the site's own rate limit (see `Site.rate_per_s`); `timezone` an IANA name.

        Raises:
            InputError: the name is empty, the domain is not a host name, an origin is not
                `scheme://host[:port]`, the rate is not a number >= 0, or the time zone is unknown.
        """
        name = _check_name(name)
        rate_per_s = _check_rate(rate_per_s)
        timezone = check_timezone(timezone)
        domain = _check_domain(domain)
        origins = _default_origins(domain) if allowed_origins is None else _check_origins(allowed_origins)
        for _ in range(_ID_ATTEMPTS):
            site = Site(
                site_id="site_" + secrets.token_urlsafe(9),
                name=name,
                domain=domain,
                write_key="wk_" + secrets.token_urlsafe(18),
                allowed_origins=origins,
                honor_dnt=honor_dnt,
                honor_gpc=honor_gpc,
                created_ts=_now_ms(),
                rate_per_s=rate_per_s,
                timezone=timezone,
            )
            try:
                with self.engine.begin() as con:
                    con.execute(sites_table.insert().values(**msgspec.structs.asdict(site)))
                    self._bump(con, "sites")
            except sa.exc.IntegrityError:
                continue  # a random id or key that is taken (about never): draw again
            return site
        raise AssertionError(f"no free site id after {_ID_ATTEMPTS} random draws")

    def site(self, site_id: str) -> Site | None:
        """The site with this id, or None."""
        with self.engine.connect() as con:
            row = con.execute(sites_table.select().where(sites_table.c.site_id == site_id)).first()
        return None if row is None else _site(row)

    def sites(self) -> list[Site]:
        """Every site, oldest first."""
        with self.engine.connect() as con:
            rows = con.execute(sites_table.select().order_by(sites_table.c.created_ts, sites_table.c.site_id))
            return [_site(row) for row in rows]

    def update_site(
        self,
        site_id: str,
        *,
        name: str | None = None,
        allowed_origins: Sequence[str] | None = None,
        rate_per_s: float | _Keep | None = KEEP,
        honor_dnt: bool | None = None,
        honor_gpc: bool | None = None,
        timezone: str | None = None,
    ) -> Site:
        """Change what is given of a site (None, or `KEEP` for the rate, keeps a field); the site as it is now.

        `allowed_origins` replaces the list (empty: no browser origin); `rate_per_s` None
        removes the site's own limit. Collectors notice within `SITE_CHANGE_CHECK_S`.

        Raises:
            InputError: an unknown site, or a value `create_site` would refuse.
        """
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = _check_name(name)
        if allowed_origins is not None:
            values["allowed_origins"] = _check_origins(allowed_origins)
        if rate_per_s is not KEEP:
            values["rate_per_s"] = _check_rate(rate_per_s)
        if honor_dnt is not None:
            values["honor_dnt"] = honor_dnt
        if honor_gpc is not None:
            values["honor_gpc"] = honor_gpc
        if timezone is not None:
            values["timezone"] = check_timezone(timezone)
        with self.engine.begin() as con:
            if values:
                found = con.execute(
                    sites_table.update().where(sites_table.c.site_id == site_id).values(**values)
                ).rowcount
                if found:
                    self._bump(con, "sites")
            row = con.execute(sites_table.select().where(sites_table.c.site_id == site_id)).first()
        if row is None:
            raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
        site = _site(row)
        self._sites_by_key.pop(site.write_key, None)
        return site

    def delete_site(self, site_id: str) -> tuple[Site, int]:
        """Delete a site with its links and consent counts; (the site as it was, how many links went).

        Its write key stops working (in running collectors within `SITE_CHANGE_CHECK_S`); the
        events it sent stay in the lake.

        Raises:
            InputError: an unknown site.
        """
        with self.engine.begin() as con:
            row = con.execute(sites_table.select().where(sites_table.c.site_id == site_id)).first()
            if row is None:
                raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
            links = con.execute(links_table.delete().where(links_table.c.site_id == site_id)).rowcount
            con.execute(consent_denied_table.delete().where(consent_denied_table.c.site_id == site_id))
            con.execute(sites_table.delete().where(sites_table.c.site_id == site_id))
            self._bump(con, "sites")
        site = _site(row)
        self._sites_by_key.pop(site.write_key, None)
        return site, links

    def rotate_write_key(self, site_id: str) -> Site:
        """Give a site a new write key; the old one stops working (in running collectors within
        `SITE_CHANGE_CHECK_S`). The site as it is now.

        Raises:
            InputError: an unknown site.
        """
        t = sites_table
        old = self.site(site_id)
        if old is None:
            raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
        for _ in range(_ID_ATTEMPTS):
            try:
                with self.engine.begin() as con:
                    con.execute(
                        t.update().where(t.c.site_id == site_id).values(write_key="wk_" + secrets.token_urlsafe(18))
                    )
                    self._bump(con, "sites")
            except sa.exc.IntegrityError:
                continue  # a key that is taken (about never): draw again
            self._sites_by_key.pop(old.write_key, None)
            site = self.site(site_id)
            if site is None:
                raise InputError(f"Unknown site {site_id!r}: it was deleted meanwhile.")
            return site
        raise AssertionError(f"no free write key after {_ID_ATTEMPTS} random draws")

    def site_by_key(self, write_key: str) -> Site | None:
        """The site of a write key, or None; answers from memory for `site_key_ttl_s` (unknown keys too),
        and forgets what it remembers as soon as it sees a site changed (it looks every `SITE_CHANGE_CHECK_S`)."""
        now = self._clock()
        if now - self._checked_at >= self._check_every:
            self._checked_at = now
            with self.engine.connect() as con:
                seen = con.execute(sa.select(changes_table.c.n).where(changes_table.c.name == "sites")).scalar()
            seen = int(seen or 0)
            if seen != self._sites_seen:
                self._sites_by_key = {}
                self._sites_seen = seen
        cached = self._sites_by_key.get(write_key)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.engine.connect() as con:
            row = con.execute(sites_table.select().where(sites_table.c.write_key == write_key)).first()
        site = None if row is None else _site(row)
        if len(self._sites_by_key) >= _SITE_CACHE_MAX:
            # a flood of made-up keys must not grow memory without bound
            self._sites_by_key = {k: v for k, v in self._sites_by_key.items() if v[0] > now}
            if len(self._sites_by_key) >= _SITE_CACHE_MAX:
                self._sites_by_key = {}
        self._sites_by_key[write_key] = (now + self._ttl, site)
        return site

    # -- links ----------------------------------------------------------------

    def create_link(self, site_id: str, target: str, kind: str = "affiliate", payout_cents: int | None = None) -> Link:
        """Create a tracked link of a site.

        Raises:
            InputError: the site does not exist, the target is not an http(s) URL, the kind is
                not affiliate or qr, or the payout is negative.
        """
        target = _check_target(target)
        if kind not in LINK_KINDS:
            raise InputError(f"Link kind {kind!r} is not one of {', '.join(LINK_KINDS)}.")
        if payout_cents is not None and (
            isinstance(payout_cents, bool) or not isinstance(payout_cents, int) or not 0 <= payout_cents < 1 << 63
        ):
            raise InputError(f"Payout {payout_cents!r} is not a whole number of cents >= 0.")
        if self.site(site_id) is None:
            raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
        for _ in range(_ID_ATTEMPTS):
            link = msgspec.convert(
                {
                    "link_id": _link_id(),
                    "site_id": site_id,
                    "target": target,
                    "kind": kind,
                    "payout_cents": payout_cents,
                    "created_ts": _now_ms(),
                },
                Link,
            )
            try:
                with self.engine.begin() as con:
                    con.execute(links_table.insert().values(**msgspec.structs.asdict(link)))
            except sa.exc.IntegrityError:
                if self.site(site_id) is None:  # deleted since we looked
                    raise InputError(f"Unknown site {site_id!r}.") from None
                continue  # a link id that is taken: draw again
            return link
        raise AssertionError(f"no free link id after {_ID_ATTEMPTS} random draws")

    def link(self, link_id: str) -> Link | None:
        """The link with this id, or None."""
        with self.engine.connect() as con:
            row = con.execute(links_table.select().where(links_table.c.link_id == link_id)).first()
        return None if row is None else msgspec.convert(row, Link, from_attributes=True)

    # -- consent --------------------------------------------------------------

    def add_consent_denied(self, site_id: str, day: str, n: int = 1) -> None:
        """Add `n` to the count of events of `site_id` dropped on UTC `day` for want of consent."""
        _check_day(day)
        if n < 0:
            raise InputError(f"Cannot add {n!r} to a count: it only grows.")
        if n == 0:
            return
        t = consent_denied_table
        stmt = self._insert(t).values(site_id=site_id, day=day, count=n)
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.site_id, t.c.day], set_={"count": t.c.count + n})
        try:
            with self.engine.begin() as con:
                con.execute(stmt)
        except sa.exc.IntegrityError:
            raise InputError(f"Unknown site {site_id!r}.") from None

    def consent_denied(self, site_id: str, day: str | None = None) -> int:
        """The count of events dropped for want of consent on one day, or on every day."""
        t = consent_denied_table
        query = sa.select(sa.func.coalesce(sa.func.sum(t.c.count), 0)).where(t.c.site_id == site_id)
        if day is not None:
            query = query.where(t.c.day == _check_day(day))
        with self.engine.connect() as con:
            return int(con.execute(query).scalar_one())

    # -- salts ----------------------------------------------------------------

    def daily_salt(self, day: str) -> bytes:
        """The 32 random bytes of UTC `day`, created by whichever process asks first."""
        _check_day(day)
        salt = self._salts.get(day)
        if salt is not None:
            return salt
        t = salts_table
        insert = (
            self._insert(t)
            .values(day=day, salt=secrets.token_bytes(32), created_ts=_now_ms())
            .on_conflict_do_nothing(index_elements=[t.c.day])
        )
        with self.engine.begin() as con:
            con.execute(insert)
            salt = bytes(con.execute(sa.select(t.c.salt).where(t.c.day == day)).scalar_one())
        with self._salt_lock:
            self._salts[day] = salt
        return salt

    def destroy_old_salts(self, now_ms: int | None = None) -> list[str]:
        """Delete the salts of days that ended more than 48 h before `now_ms`; return those days."""
        now_ms = _now_ms() if now_ms is None else now_ms
        # A day ends at the next midnight: it is past the 48 h exactly when the instant just
        # before the cut-off falls on a later day.
        first_kept = utc_day(now_ms - SALT_KEEP_MS - 1)
        t = salts_table
        with self.engine.begin() as con:
            days = list(con.execute(sa.select(t.c.day).where(t.c.day < first_kept)).scalars())
            if days:
                con.execute(t.delete().where(t.c.day.in_(days)))
        with self._salt_lock:
            self._salts = {d: s for d, s in self._salts.items() if d >= first_kept}
        return sorted(days)

    # -- helpers --------------------------------------------------------------

    def _bump(self, con: sa.Connection, name: str) -> None:
        """Count a change of the rows called `name`, in the caller's transaction."""
        t = changes_table
        stmt = self._insert(t).values(name=name, n=1)
        con.execute(stmt.on_conflict_do_update(index_elements=[t.c.name], set_={"n": t.c.n + 1}))

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which has `on_conflict_do_update` and `on_conflict_do_nothing`."""
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


def _create_engine(uri: str) -> Engine:
    try:
        url = sa.engine.make_url(uri)
    except sa.exc.ArgumentError:
        raise ConfigError(
            f"Setting 'collect.metadata_uri' has a bad value {uri!r}: not a SQLAlchemy URI "
            "(e.g. postgresql+psycopg2://user@host/db)."
        ) from None
    if url.get_backend_name() not in _DIALECTS:
        raise ConfigError(
            f"Setting 'collect.metadata_uri' names a {url.get_backend_name()!r} database ({uri!r}); "
            f"the metadata database is one of: {', '.join(_DIALECTS)}."
        )
    try:
        if url.get_backend_name() == "sqlite":
            engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"Setting 'collect.metadata_uri' = {uri!r} needs a driver that is missing: {exc}.") from None
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _create_tables(engine: Engine) -> None:
    try:
        schema.create_all(engine)
        _add_columns(engine)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as first:
        # another process created the same tables (or columns) between our check and our CREATE
        try:
            schema.create_all(engine)
            _add_columns(engine)
        except sa.exc.DBAPIError:
            reason = " ".join(str(first.orig).split())
            raise ConfigError(f"Cannot open the metadata database {engine.url!r}: {reason}.") from None


def _add_columns(engine: Engine) -> None:
    """Add the columns of `_ADDED_COLUMNS` that a database made by an older version lacks (all nullable)."""
    inspector = sa.inspect(engine)
    for table_name, column_name in _ADDED_COLUMNS:
        if column_name in {c["name"] for c in inspector.get_columns(table_name)}:
            continue
        column = schema.tables[table_name].c[column_name]
        type_ = column.type.compile(engine.dialect)
        with engine.begin() as con:
            con.execute(sa.text(f"ALTER TABLE {table_name} ADD COLUMN {column_name} {type_}"))


def _link_id() -> str:
    """8 url-safe random characters, not starting with '-' or '_' (so never mistaken for an option)."""
    while True:
        link_id = secrets.token_urlsafe(6)
        if link_id[0].isalnum():
            return link_id


def _site(row: sa.Row[Any]) -> Site:
    fields = {str(k): v for k, v in row._mapping.items()}
    # a row written before sites had a time zone has none: the default
    fields["timezone"] = fields.get("timezone") or DEFAULT_TIMEZONE
    return msgspec.convert(fields, Site)


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows (e.g. Europe/Berlin); raise `InputError` if not."""
    try:
        if name and name == name.strip() and "\x00" not in name:
            zoneinfo.ZoneInfo(name)
            return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise InputError(f"Time zone {name!r} is unknown; give an IANA name, e.g. Europe/Berlin, America/New_York or UTC.")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InputError("A site needs a name, e.g. 'Shop'.")
    return name


def _check_rate(rate: float | None) -> float | None:
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or rate < 0:
        raise InputError(f"Rate {rate!r} is not a number of events per second >= 0 (0 for no limit).")
    return float(rate)


def _check_domain(domain: str) -> str:
    host = domain.strip().lower().rstrip(".")
    if not _HOST_RE.match(host):
        raise InputError(f"Domain {domain!r} is not a host name; give the bare name, e.g. shop.example (not a URL).")
    return host


def _default_origins(domain: str) -> tuple[str, ...]:
    bare = domain.removeprefix("www.")
    return (f"https://{bare}", f"https://www.{bare}")


def _check_origins(origins: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for origin in origins:
        normal = _normal_origin(origin)
        if normal not in out:
            out.append(normal)
    return tuple(out)


def _normal_origin(origin: str) -> str:
    """`scheme://host[:port]` as a browser sends it in `Origin`: lower case, no default port."""
    bad = InputError(f"Origin {origin!r} is not scheme://host[:port], e.g. https://shop.example.")
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        raise bad from None
    if (
        parts.scheme not in ("http", "https")
        or parts.hostname is None
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise bad
    host = parts.hostname
    if not (_HOST_RE.match(host) or re.fullmatch(r"[0-9.]+|[0-9a-f:]+", host)):
        raise bad
    if ":" in host:
        host = f"[{host}]"
    default_port = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + ("" if port in (None, default_port) else f":{port}")


def _check_target(target: str) -> str:
    bad = f"Link target {target!r} is not an http(s) URL, e.g. https://shop.example/product/42."
    if len(target) > _MAX_URL:
        raise InputError(f"Link target is longer than {_MAX_URL} characters.")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target):
        raise InputError(bad)
    try:
        parts = urlsplit(target)
        parts.port  # noqa: B018 (parses the port: raises on a bad one)
    except ValueError:
        raise InputError(bad) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(bad)
    return target


def _check_day(day: str) -> str:
    try:
        if not _DAY_RE.match(day):
            raise ValueError(day)
        date.fromisoformat(day)
    except (TypeError, ValueError):
        raise InputError(f"Day {day!r} is not a date 'YYYY-MM-DD'.") from None
    return day
