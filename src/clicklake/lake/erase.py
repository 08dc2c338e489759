"""One person in the lake: who they are (their ids), their rows in every table, and taking those rows out.

A person is named by the `user_id_hash` a site sent (or an e-mail address, hashed the way
the browser SDK's `identifyEmail` hashes it). Their rows are, on that site, the rows with
that `user_id_hash`, and the rows of the anonymous ids the same events carried (what they
did before they logged in on that browser): `Subject.ids`. Every table of the catalog
whose columns name a person (`user_id_hash`, `anonymous_id`, `visitor_id`, top level or in
bronze's `user` struct) is searched, so a table added later is covered without a change
here; `bronze.quarantine` keeps raw bytes, searched for the ids as text.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysFalse, AlwaysTrue, And, BooleanExpression, EqualTo, In, Or, Reference
from pyiceberg.expressions.literals import literal
from pyiceberg.table import Table

from clicklake.lake.rows import Deleted, Match, delete_rows
from clicklake.lake.tables import BRONZE_EVENTS, BRONZE_QUARANTINE

#: Columns that name a person, in the order they are looked for.
PERSON_COLUMNS: Final = ("user_id_hash", "anonymous_id", "visitor_id")

#: What ECMAScript's String.prototype.trim removes (WhiteSpace and LineTerminator), which
#: differs from Python's str.strip (which also strips U+001C..U+001F and U+0085, not U+FEFF).
_JS_SPACE: Final = (
    "\u0009\u000a\u000b\u000c\u000d\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def email_hash(email: str) -> str:
    """The `user_id_hash` the browser SDK's `identifyEmail(email)` sends: `sha256:` and the hex digest of
    the trimmed, lower-cased address in UTF-8 (a lone surrogate becomes U+FFFD, as TextEncoder does)."""
    text = email.strip(_JS_SPACE).lower()
    text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    data = text.encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Subject:
    """A person on one site: the id given and the anonymous ids found with it."""

    site_id: str
    user_id_hash: str
    anonymous_ids: frozenset[str] = frozenset()

    @property
    def ids(self) -> frozenset[str]:
        return frozenset({self.user_id_hash, *self.anonymous_ids})


def _column(data: pa.Table, name: str) -> pa.ChunkedArray | None:
    if name in data.column_names:
        return data[name]
    user = data.schema.field("user").type if "user" in data.column_names else None
    if user is not None and pa.types.is_struct(user) and user.get_field_index(name) >= 0:
        return pc.struct_field(data["user"], name)
    return None


def person_columns(table: Table) -> list[str]:
    """The person columns `table` has, flat or in a `user` struct."""
    schema = table.schema()
    return [c for c in PERSON_COLUMNS if _has(schema, c) or _has(schema, f"user.{c}")]


def _has(schema: Any, name: str) -> bool:
    try:
        schema.find_field(name)
    except ValueError:
        return False
    return True


def row_match(subject: Subject) -> Match:
    """A mask of the rows of `subject` in a table with person columns (and `site_id`)."""
    ids = pa.array(sorted(subject.ids), pa.string())
    user = pa.scalar(subject.user_id_hash, pa.string())

    def match(data: pa.Table) -> pa.ChunkedArray | pa.Array:
        mask: Any = None
        for name in PERSON_COLUMNS:
            column = _column(data, name)
            if column is None:
                continue
            hit = pc.equal(column, user) if name == "user_id_hash" else pc.is_in(column, value_set=ids)
            mask = hit if mask is None else pc.or_kleene(mask, hit)
        if mask is None:
            return pa.array([False] * data.num_rows)
        if "site_id" in data.column_names:
            mask = pc.and_kleene(mask, pc.equal(data["site_id"], pa.scalar(subject.site_id, pa.string())))
        return mask

    return match


def raw_match(subject: Subject) -> Match:
    """A mask of the quarantined rows of `subject`: of the site (or of no site) and with an id in the raw bytes."""
    needles = [i.encode() for i in subject.ids]

    def match(data: pa.Table) -> pa.Array:
        sites = data["site_id"].to_pylist()
        raws = data["raw"].to_pylist()
        return pa.array(
            [
                (site is None or site == subject.site_id) and raw is not None and any(n in raw for n in needles)
                for site, raw in zip(sites, raws, strict=True)
            ]
        )

    return match


def payload_match(subject: Subject) -> Callable[[str, bytes], bool]:
    """For the stream: whether a (key, payload) record is `subject`'s (an event of theirs, or a rejection
    whose bytes name them)."""
    site = b'"' + subject.site_id.encode() + b'"'
    quoted = [b'"' + i.encode() + b'"' for i in subject.ids]
    plain = [i.encode() for i in subject.ids]

    def match(key: str, payload: bytes) -> bool:
        if key in subject.ids:
            return True
        if site not in payload and b'"site_id":null' not in payload:
            return False
        if any(q in payload for q in quoted):
            return True
        if payload.startswith(b'{"kind":"rejected"'):
            start = payload.find(b'"raw":"')
            if start >= 0:
                end = payload.find(b'"', start + 7)
                try:
                    raw = base64.b64decode(payload[start + 7 : end])
                except ValueError:
                    return False
                return any(p in raw for p in plain)
        return False

    return match


def _site_filter(table: Table, site_id: str) -> BooleanExpression:
    return _eq("site_id", site_id) if _has(table.schema(), "site_id") else AlwaysTrue()


def _eq(name: str, value: str) -> BooleanExpression:
    return EqualTo(term=Reference(name), value=literal(value))


def _person_filter(table: Table, subject: Subject) -> BooleanExpression:
    """The files that may hold `subject`'s rows, by the column bounds of the manifests and the site."""
    schema = table.schema()
    expr: BooleanExpression = AlwaysFalse()
    for column in PERSON_COLUMNS:
        name = column if _has(schema, column) else f"user.{column}" if _has(schema, f"user.{column}") else None
        if name is not None:
            expr = Or(expr, In(term=Reference(name), values={literal(i) for i in subject.ids}))
    return And(_site_filter(table, subject.site_id), expr)


def tables(catalog: Catalog) -> list[Table]:
    """Every table of the catalog."""
    out = []
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            try:
                out.append(catalog.load_table(identifier))
            except NoSuchTableError:
                continue
    return sorted(out, key=lambda t: t.name())


def find_subject(catalog: Catalog, site_id: str, user_id_hash: str) -> Subject:
    """The person `user_id_hash` on `site_id`, with the anonymous ids their events carried."""
    anonymous: set[str] = set()
    for table in tables(catalog):
        columns = person_columns(table)
        if "user_id_hash" not in columns or "anonymous_id" not in columns:
            continue
        column = "user_id_hash" if _has(table.schema(), "user_id_hash") else "user.user_id_hash"
        flt = And(_site_filter(table, site_id), _eq(column, user_id_hash))
        data = table.scan(row_filter=flt).to_arrow()
        if not data.num_rows:
            continue
        hit = pc.fill_null(pc.equal(_column(data, "user_id_hash"), user_id_hash), False)
        if "site_id" in data.column_names:
            hit = pc.and_(hit, pc.fill_null(pc.equal(data["site_id"], site_id), False))
        found = _column(data.filter(hit), "anonymous_id")
        if found is not None:
            anonymous.update(a for a in pc.unique(found).to_pylist() if a)
    anonymous.discard(user_id_hash)
    return Subject(site_id, user_id_hash, frozenset(anonymous))


@dataclass
class LakeErasure:
    """What `erase_rows` did, table by table, and the event days the person's rows were on."""

    deleted: dict[str, Deleted] = field(default_factory=dict)
    days: set[date] = field(default_factory=set)
    bronze_days: set[date] = field(default_factory=set)


def erase_rows(
    catalog: Catalog,
    subject: Subject,
    *,
    operation: str = "erase",
    bronze_lock: Callable[[], AbstractContextManager[object]] | None = None,
    only: str | None = None,
) -> LakeErasure:
    """Delete every row of `subject` from every table of the catalog (bronze first).

    `bronze_lock` keeps the loader from committing to a bronze table while a delete commits there;
    `only` limits the search to the tables whose names start with it.
    """
    out = LakeErasure()
    ordered = sorted(tables(catalog), key=lambda t: (not ".".join(t.name()).startswith("bronze."), t.name()))
    for table in ordered:
        name = ".".join(table.name())
        if only is not None and not name.startswith(only):
            continue
        if name == BRONZE_QUARANTINE:
            out.deleted[name] = delete_rows(
                table, AlwaysTrue(), raw_match(subject), operation=operation, exclusive=bronze_lock
            )
            continue
        if not person_columns(table):
            continue
        match = row_match(subject)
        days = out.bronze_days if name == BRONZE_EVENTS else out.days
        out.deleted[name] = delete_rows(
            table,
            _person_filter(table, subject),
            _noting_days(match, days),
            operation=operation,
            exclusive=bronze_lock if name.startswith("bronze.") else None,
        )
    out.days |= out.bronze_days
    return out


def _noting_days(match: Match, days: set[date]) -> Match:
    """`match`, also adding the UTC days (of `ts`, else `event_dt`) of the rows it names to `days`."""

    def noting(data: pa.Table) -> pa.ChunkedArray | pa.Array:
        mask = match(data)
        hit = data.filter(pc.fill_null(mask, False))
        if hit.num_rows:
            if "ts" in hit.column_names:
                days.update(pc.unique(pc.cast(hit["ts"], pa.date32())).to_pylist())
            elif "event_dt" in hit.column_names:
                days.update(d for d in pc.unique(hit["event_dt"]).to_pylist() if d is not None)
        return mask

    return noting


def rows_of(catalog: Catalog, subject: Subject) -> dict[str, list[dict[str, Any]]]:
    """Every row of `subject` in every table, by table (GDPR article 15); tables without any are left out."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in tables(catalog):
        name = ".".join(table.name())
        flt: BooleanExpression
        if name == BRONZE_QUARANTINE:
            match, flt = raw_match(subject), AlwaysTrue()
        elif person_columns(table):
            match, flt = row_match(subject), _person_filter(table, subject)
        else:
            continue
        data = table.scan(row_filter=flt).to_arrow()
        if not data.num_rows:
            continue
        found = data.filter(pc.fill_null(match(data), False))
        if found.num_rows:
            out[name] = found.to_pylist()
    return out
