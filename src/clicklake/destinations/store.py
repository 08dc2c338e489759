"""The destinations and their dead letters, in the metadata database (beside sites and alert rules).

- `destinations`: one row per destination: its name (also its consumer group on the stream,
  `destination:<name>`), its kind (`webhook` or `ga4`), the URL it posts to, the site whose
  events it gets (null: every site), its kind's options as JSON (GA4's measurement id and API
  secret, a webhook's signing secret), whether it is enabled, and running totals of events
  delivered and dead-lettered (ever; what is still pending is in the dead-letter list).
- `destination_dead_letters`: batches that failed `destinations.max_attempts` deliveries, kept
  with the last error and the events themselves (the stream payloads, after privacy at the
  door), until `clicklake destinations replay` delivers them or `... dead-letters --purge` drops them.

The tables are created on open; every write is one short transaction.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

import msgspec
import sqlalchemy as sa

from clicklake.errors import InputError

if TYPE_CHECKING:
    from clicklake.config import Settings

Kind = Literal["webhook", "ga4"]
KINDS: Final[tuple[str, ...]] = get_args(Kind)
GROUP_PREFIX: Final = "destination:"
_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

schema = sa.MetaData()

destinations_table = sa.Table(
    "destinations",
    schema,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("site_id", sa.String(32), nullable=True),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("delivered", sa.BigInteger, nullable=False),
    sa.Column("dead_lettered", sa.BigInteger, nullable=False),
)

dead_letters_table = sa.Table(
    "destination_dead_letters",
    schema,
    sa.Column("letter_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("destination", sa.String(63), nullable=False, index=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("events", sa.Integer, nullable=False),
    # a JSON array of the stream payloads, as they were on the stream
    sa.Column("payloads", sa.LargeBinary, nullable=False),
)


class Destination(msgspec.Struct, frozen=True, kw_only=True):
    """A configured destination; `options` hold its kind's settings."""

    name: str
    kind: str
    url: str
    site_id: str | None
    options: dict[str, str]
    enabled: bool
    created_ms: int
    delivered: int = 0
    dead_lettered: int = 0

    @property
    def group(self) -> str:
        """Its consumer group on the stream."""
        return GROUP_PREFIX + self.name

    def public(self) -> dict[str, Any]:
        """What `destinations list` shows: secrets masked."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["options"] = {k: ("***" if "secret" in k else v) for k, v in self.options.items()}
        out["group"] = self.group
        return out


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    letter_id: int
    destination: str
    created_ms: int
    attempts: int
    error: str
    events: int


class Store:
    """Destinations and dead letters over one SQLAlchemy engine (the metadata database's)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        try:
            schema.create_all(engine)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
            schema.create_all(engine)  # another process created them between our check and our CREATE

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """The store in the metadata database the settings name."""
        from clicklake.collect.metadata import Metadata

        return cls(Metadata.open(settings).engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- destinations --------------------------------------------------------------------------

    def add(
        self, name: str, kind: str, url: str, *, site_id: str | None = None, options: dict[str, str] | None = None
    ) -> Destination:
        """Add an enabled destination; raises `InputError` for a bad or taken name."""
        if not _NAME_RE.match(name):
            raise InputError(
                f"destination name {name!r}: use 1-63 of a-z, 0-9, '-' and '_', starting with a letter or digit"
            )
        if kind not in KINDS:
            raise InputError(f"destination kind {kind!r}: one of {', '.join(KINDS)}")
        if not url.startswith(("http://", "https://")):
            raise InputError(f"destination URL {url!r}: an http:// or https:// URL")
        destination = Destination(
            name=name,
            kind=kind,
            url=url,
            site_id=site_id,
            options=dict(options or {}),
            enabled=True,
            created_ms=int(time.time() * 1000),
        )
        row = msgspec.to_builtins(destination)
        row["options"] = msgspec.json.encode(destination.options).decode()
        try:
            with self.engine.begin() as con:
                con.execute(destinations_table.insert().values(**row))
        except sa.exc.IntegrityError:
            raise InputError(
                f"a destination named {name!r} exists already; remove it first or pick another name"
            ) from None
        return destination

    def get(self, name: str) -> Destination:
        with self.engine.connect() as con:
            row = con.execute(destinations_table.select().where(destinations_table.c.name == name)).mappings().first()
        if row is None:
            raise InputError(f"no destination named {name!r}; 'clicklake destinations list' shows them")
        return _destination(row)

    def all(self) -> list[Destination]:
        with self.engine.connect() as con:
            rows = con.execute(destinations_table.select().order_by(destinations_table.c.name)).mappings().all()
        return [_destination(r) for r in rows]

    def set_enabled(self, name: str, enabled: bool) -> Destination:
        self.get(name)
        with self.engine.begin() as con:
            con.execute(destinations_table.update().where(destinations_table.c.name == name).values(enabled=enabled))
        return self.get(name)

    def remove(self, name: str) -> tuple[Destination, int]:
        """Delete a destination and its dead letters; returns it and how many dead letters went."""
        destination = self.get(name)
        with self.engine.begin() as con:
            letters = con.execute(dead_letters_table.delete().where(dead_letters_table.c.destination == name)).rowcount
            con.execute(destinations_table.delete().where(destinations_table.c.name == name))
        return destination, int(letters)

    def count_delivered(self, name: str, n: int) -> None:
        with self.engine.begin() as con:
            con.execute(
                destinations_table.update()
                .where(destinations_table.c.name == name)
                .values(delivered=destinations_table.c.delivered + n)
            )

    # -- dead letters --------------------------------------------------------------------------

    def dead_letter(self, name: str, payloads: list[bytes], attempts: int, error: str) -> int:
        """Keep a batch that could not be delivered; returns its letter id."""
        body = b"[" + b",".join(payloads) + b"]"
        with self.engine.begin() as con:
            letter_id = con.execute(
                dead_letters_table.insert().values(
                    destination=name,
                    created_ms=int(time.time() * 1000),
                    attempts=attempts,
                    error=error[:2000],
                    events=len(payloads),
                    payloads=body,
                )
            ).inserted_primary_key
            con.execute(
                destinations_table.update()
                .where(destinations_table.c.name == name)
                .values(dead_lettered=destinations_table.c.dead_lettered + len(payloads))
            )
        assert letter_id is not None
        return int(letter_id[0])

    def dead_letters(self, name: str | None = None) -> list[DeadLetter]:
        t = dead_letters_table
        query = sa.select(t.c.letter_id, t.c.destination, t.c.created_ms, t.c.attempts, t.c.error, t.c.events)
        if name is not None:
            query = query.where(t.c.destination == name)
        with self.engine.connect() as con:
            rows = con.execute(query.order_by(t.c.letter_id)).mappings().all()
        return [DeadLetter(**r) for r in rows]

    def pending(self) -> dict[str, int]:
        """Events waiting in dead letters, by destination."""
        t = dead_letters_table
        with self.engine.connect() as con:
            rows = con.execute(sa.select(t.c.destination, sa.func.sum(t.c.events)).group_by(t.c.destination)).all()
        return {name: int(n or 0) for name, n in rows}

    def letter_payloads(self, letter_id: int) -> list[bytes]:
        """The stream payloads of one dead letter, each as it was on the stream."""
        with self.engine.connect() as con:
            body = con.execute(
                sa.select(dead_letters_table.c.payloads).where(dead_letters_table.c.letter_id == letter_id)
            ).scalar_one()
        return [msgspec.json.encode(p) for p in msgspec.json.decode(body, type=list[msgspec.Raw])]

    def replace_letter(self, letter_id: int, payloads: list[bytes], attempts: int, error: str) -> None:
        """Keep only `payloads` (those still undelivered) in a dead letter, with its latest error."""
        with self.engine.begin() as con:
            con.execute(
                dead_letters_table.update()
                .where(dead_letters_table.c.letter_id == letter_id)
                .values(
                    payloads=b"[" + b",".join(payloads) + b"]",
                    events=len(payloads),
                    attempts=attempts,
                    error=error[:2000],
                )
            )

    def erase(self, site_id: str, ids: Collection[str]) -> int:
        """Drop one person's events from every dead letter (an erasure request); returns how many went.

        `ids` are the person's: the hashed user id and the anonymous ids found with it. An event
        of the site is theirs when its `user.user_id_hash`, `user.anonymous_id` or
        `user.visitor_id` (the hashed user id, else the anonymous id) is one of them.
        """
        dropped = 0
        for letter in self.dead_letters():
            payloads = self.letter_payloads(letter.letter_id)
            kept = [p for p in payloads if not _belongs(p, site_id, ids)]
            if len(kept) == len(payloads):
                continue
            dropped += len(payloads) - len(kept)
            if kept:
                self.replace_letter(letter.letter_id, kept, letter.attempts, letter.error)
            else:
                self.delete_letter(letter.letter_id)
        return dropped

    def delete_letter(self, letter_id: int) -> None:
        """Drop a dead letter (replayed or purged)."""
        with self.engine.begin() as con:
            con.execute(dead_letters_table.delete().where(dead_letters_table.c.letter_id == letter_id))


class _Person(msgspec.Struct):
    user_id_hash: str | None = None
    anonymous_id: str | None = None
    visitor_id: str | None = None


class _Owner(msgspec.Struct):
    site_id: str | None = None
    user: _Person = msgspec.field(default_factory=_Person)


_owner = msgspec.json.Decoder(_Owner)


def _belongs(payload: bytes, site_id: str, ids: Collection[str]) -> bool:
    owner = _owner.decode(payload)
    user = owner.user
    return owner.site_id == site_id and any(i in ids for i in (user.user_id_hash, user.anonymous_id, user.visitor_id))


def _destination(row: Any) -> Destination:
    values = dict(row)
    values["options"] = msgspec.json.decode(values["options"])
    values["enabled"] = bool(values["enabled"])
    return Destination(**values)
