"""The per-request SQL sandbox: a principal's query sees only the rows of its own sites.

Each `Sandbox.run` gets an in-memory DuckDB connection of its own in which, for each
lake table the statement names, a view `namespace.table` keeps only the rows whose
`site_id` is one of the principal's (a connection made for the same sites over the same
snapshots is reused, see `clicklake.query.pool`), and the answer of a statement already
run for the same sites over the same snapshots is given again from memory (see
`clicklake.query.answers`). Nothing else is reachable:

- the statement must be one SELECT; its parse tree (`json_serialize_sql`) may name only
  those views and its own CTEs, and no table function but `range`, `generate_series`
  and `unnest` (so no `read_parquet` of a lake file, no `query()`, no `duckdb_views`);
- the connection has no external access beyond the data files of the views, no
  extension loading, no Python replacement scans, and its configuration is locked, so
  `SET`, `PRAGMA`, `ATTACH`, `COPY`, `INSTALL` and `LOAD` fail even if they were parsed;
- a timer interrupts a query that runs longer than `timeout_s`, DuckDB stops at
  `memory_limit`, and at most `max_rows` rows are returned (the answer says it was cut).

A refused or failed query raises `SandboxError` with the reason; `status` is the HTTP
status an API answers with (400 for a bad query, 422 for one stopped by a limit).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from clicklake.lake.views import ident, register_view
from clicklake.query.answers import Answers
from clicklake.query.engine import QueryError, one_statement
from clicklake.query.pool import Key, Pool, Warm

#: Table functions that read nothing but their arguments.
SAFE_TABLE_FUNCTIONS: Final = frozenset({"range", "generate_series", "unnest"})
_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RAW: Final = "__lake"
_EXAMPLE: Final = "gold.kpi_daily"
#: Namespaces whose tables a principal may read (each table must have a `site_id` column).
NAMESPACES: Final = ("bronze", "silver", "gold")


class SandboxError(QueryError):
    """A sandboxed query was refused or stopped; `status` is 400 (bad query) or 422 (a limit)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    """What one query may spend."""

    timeout_s: float = 10.0
    memory_limit: str = "1GB"
    max_rows: int = 10_000
    threads: int = 2


@dataclass(frozen=True)
class Result:
    """A sandboxed query's rows, whether `max_rows` cut them, and when each table read was last committed."""

    table: pa.Table
    truncated: bool
    freshness: dict[str, str] = field(default_factory=dict)


def referenced_tables(sql: str, con: duckdb.DuckDBPyConnection | None = None) -> set[tuple[str, str]]:
    """The `(namespace, table)` pairs one SELECT reads; raise `SandboxError` if it names anything else.

    `con`, when given, parses it (a new connection costs about 20 ms); it runs nothing there.
    """
    tree = _parse(sql, con)
    ctes: set[str] = set()
    refs: list[dict[str, Any]] = []
    for node in _walk(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                name = str(entry.get("key", ""))
                if not _NAME.match(name):
                    raise SandboxError(f"CTE name {name!r} must be a plain identifier (letters, digits, _)")
                ctes.add(name.lower())
        kind = node.get("type")
        if "class" in node:
            continue
        if kind == "TABLE_FUNCTION":
            name = str(node.get("function", {}).get("function_name", "")).lower()
            if name not in SAFE_TABLE_FUNCTIONS:
                raise SandboxError(
                    f"table function {name}() is not allowed here; query the lake tables by name, e.g. silver.events"
                )
        elif kind == "BASE_TABLE":
            refs.append(node)
        elif kind == "SHOW_REF":
            raise SandboxError("DESCRIBE and SHOW are not allowed here; `GET /api/openapi.json` lists the tables")
    tables: set[tuple[str, str]] = set()
    for ref in refs:
        catalog, schema, name = (str(ref.get(k) or "") for k in ("catalog_name", "schema_name", "table_name"))
        if not catalog and not schema and name.lower() in ctes and _NAME.match(name):
            continue
        if catalog or schema.lower() not in NAMESPACES or not _NAME.match(name):
            shown = ".".join(p for p in (catalog, schema, name) if p)
            raise SandboxError(f"{shown!r} is not a table you can read; name one as namespace.table, e.g. {_EXAMPLE}")
        tables.add((schema.lower(), name.lower()))
    return tables


def _parse(sql: str, con: duckdb.DuckDBPyConnection | None) -> dict[str, Any]:
    kind = one_statement(sql, SandboxError).type
    if kind != duckdb.StatementType.SELECT:
        raise SandboxError(f"only SELECT queries are allowed here; got {kind.name}")
    if con is None:
        with duckdb.connect(":memory:") as own:
            text = own.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    else:
        text = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree: dict[str, Any] = json.loads(text[0] if text else "{}")
    if tree.get("error"):
        raise SandboxError(f"cannot parse the query: {tree.get('error_message', 'unsupported statement')}")
    return tree


def _walk(node: object) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class Sandbox:
    """Runs principals' SQL over the lake; share one per process.

    Each run gets a connection of its own for as long as it runs; a finished run's
    connection waits in a `Pool` for the next run over the same sites and snapshots.
    """

    def __init__(
        self,
        catalog: Catalog,
        limits: Limits | None = None,
        pool: Pool | None = None,
        answers: Answers[Result] | None = None,
    ) -> None:
        self.catalog = catalog
        self.limits = limits or Limits()
        self.pool = pool or Pool()
        #: the answers kept while the tables they read have no new snapshot (`clicklake.query.answers`)
        self.answers: Answers[Result] = answers if answers is not None else Answers(_result_bytes)

    def run(self, site_ids: Collection[str], sql: str) -> Result:
        """Run one SELECT as a principal that may read `site_ids`.

        Raises:
            SandboxError: the statement is refused, fails, or is stopped by a limit.
        """
        tables = {ref: self._load(*ref) for ref in sorted(_tables_of(sql))}
        sites = tuple(sorted(set(site_ids)))
        key: Key = (sites, tuple((ns, name, t.metadata_location) for (ns, name), t in tables.items()))

        def compute() -> Result:
            with self.pool.checkout(key, lambda: self._prepare(tables, sites)) as warm:
                table, truncated = self._execute(warm.con, sql)
                return Result(table, truncated, warm.freshness)

        return self.answers.get_or_compute(sql, key, compute)

    def close(self) -> None:
        """Close the idle connections."""
        self.pool.close()

    def _load(self, namespace: str, name: str) -> Table:
        try:
            table = self.catalog.load_table((namespace, name))
        except NoSuchTableError:
            raise SandboxError(f"there is no table {namespace}.{name}") from None
        if "site_id" not in {f.name for f in table.schema().fields}:
            raise SandboxError(f"{namespace}.{name} is not a per-site table, so it cannot be read here")
        return table

    def _execute(self, con: duckdb.DuckDBPyConnection, sql: str) -> tuple[pa.Table, bool]:
        limits = self.limits
        timer = threading.Timer(limits.timeout_s, con.interrupt)
        deadline = time.monotonic() + limits.timeout_s
        timer.start()
        try:
            reader = con.sql(sql).to_arrow_reader(min(limits.max_rows + 1, 100_000))
            batches: list[pa.RecordBatch] = []
            rows = 0
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if rows > limits.max_rows:
                    break
                if time.monotonic() > deadline:  # an interrupt that came before the query ran is lost
                    raise SandboxError(_too_long(limits), 422)
        except duckdb.InterruptException:
            raise SandboxError(_too_long(limits), 422) from None
        except duckdb.OutOfMemoryException:
            raise SandboxError(f"the query needed more than {limits.memory_limit} of memory", 422) from None
        except (duckdb.Error, OSError) as exc:
            # while the rows stream, DuckDB's errors come through Arrow's reader as OSError
            text = str(exc).lower()
            if not timer.is_alive() and "interrupt" in text:
                raise SandboxError(_too_long(limits), 422) from None
            if text.startswith("out of memory"):
                raise SandboxError(f"the query needed more than {limits.memory_limit} of memory", 422) from None
            raise SandboxError(_reason(exc)) from None
        finally:
            timer.cancel()
        table = pa.Table.from_batches(batches, schema=reader.schema)
        return table.slice(0, limits.max_rows), rows > limits.max_rows

    def _prepare(self, tables: dict[tuple[str, str], Table], site_ids: tuple[str, ...]) -> Warm:
        """A new connection whose only tables are `tables` restricted to `site_ids`, its configuration locked."""
        limits = self.limits
        con = duckdb.connect(":memory:", config={"python_enable_replacements": False})
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"SET memory_limit = '{limits.memory_limit}'")
            con.execute(f"SET threads = {int(limits.threads)}")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET parquet_metadata_cache = true")
            con.execute(f"CREATE SCHEMA {_RAW}")
            allowed: list[str] = []
            freshness: dict[str, str] = {}
            keep = "(" + ", ".join("'" + s.replace("'", "''") + "'" for s in site_ids) + ")" if site_ids else None
            for (namespace, name), table in tables.items():
                raw = f"{namespace}__{name}"
                allowed += register_view(con, _RAW, raw, table)
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(namespace)}")
                where = f"site_id IN {keep}" if keep else "false"
                con.execute(
                    f"CREATE VIEW {ident(namespace)}.{ident(name)} AS SELECT * FROM {_RAW}.{ident(raw)} WHERE {where}"
                )
                snapshot = table.current_snapshot()
                if snapshot is not None:
                    freshness[f"{namespace}.{name}"] = (
                        datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
                    )
            con.execute("SET allowed_paths = ?", [allowed])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        except BaseException:
            con.close()
            raise
        return Warm(con, freshness)


@functools.lru_cache(maxsize=512)
def _tables_of(sql: str) -> frozenset[tuple[str, str]]:
    """`referenced_tables` of `sql`, remembered: a dashboard asks the same statements again and again."""
    with _PARSER_LOCK:
        return frozenset(referenced_tables(sql, _parser()))


_PARSER_LOCK: Final = threading.Lock()


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    """One connection that only parses (`json_serialize_sql`); used under `_PARSER_LOCK`."""
    return duckdb.connect(":memory:", config={"python_enable_replacements": False})


def _result_bytes(result: Result) -> int:
    return int(result.table.nbytes)


def _too_long(limits: Limits) -> str:
    return f"the query ran longer than {limits.timeout_s:g} s and was stopped"


def _reason(exc: Exception) -> str:
    text = str(exc)
    # the raw views are an implementation detail: speak of the tables the user named
    return text.replace(f"{_RAW}.", "").replace(_RAW, "lake")
