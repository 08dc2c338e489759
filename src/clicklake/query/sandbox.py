"""The per-request SQL sandbox: a principal's query sees only the rows of its own sites.

Each `Sandbox.run` opens a fresh in-memory DuckDB connection and registers, for each
lake table the statement names, a view `namespace.table` that keeps only the rows whose
`site_id` is one of the principal's. Nothing else is reachable:

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

import json
import re
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from clicklake.lake.views import ident, register_view
from clicklake.query.engine import QueryError, one_statement

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
    """Runs principals' SQL over the lake; share one per process (each run has its own connection)."""

    def __init__(self, catalog: Catalog, limits: Limits | None = None) -> None:
        self.catalog = catalog
        self.limits = limits or Limits()

    def run(self, site_ids: Collection[str], sql: str) -> Result:
        """Run one SELECT as a principal that may read `site_ids`.

        Raises:
            SandboxError: the statement is refused, fails, or is stopped by a limit.
        """
        limits = self.limits
        con = duckdb.connect(":memory:", config={"python_enable_replacements": False})
        timer = threading.Timer(limits.timeout_s, con.interrupt)
        try:
            tables = referenced_tables(sql, con)
            freshness = self._prepare(con, sorted(tables), sorted(set(site_ids)))
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
            except duckdb.InterruptException:
                raise SandboxError(_too_long(limits), 422) from None
            except duckdb.OutOfMemoryException:
                raise SandboxError(f"the query needed more than {limits.memory_limit} of memory", 422) from None
            except duckdb.Error as exc:
                if not timer.is_alive() and "interrupt" in str(exc).lower():
                    raise SandboxError(_too_long(limits), 422) from None
                raise SandboxError(_reason(exc)) from None
            table = pa.Table.from_batches(batches, schema=reader.schema)
            return Result(table.slice(0, limits.max_rows), rows > limits.max_rows, freshness)
        finally:
            timer.cancel()
            con.close()

    def _prepare(
        self, con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], site_ids: list[str]
    ) -> dict[str, str]:
        limits = self.limits
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{limits.memory_limit}'")
        con.execute(f"SET threads = {int(limits.threads)}")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute(f"CREATE SCHEMA {_RAW}")
        allowed: list[str] = []
        freshness: dict[str, str] = {}
        keep = "(" + ", ".join("'" + s.replace("'", "''") + "'" for s in site_ids) + ")" if site_ids else None
        for namespace, name in tables:
            try:
                table = self.catalog.load_table((namespace, name))
            except NoSuchTableError:
                raise SandboxError(f"there is no table {namespace}.{name}") from None
            if "site_id" not in {f.name for f in table.schema().fields}:
                raise SandboxError(f"{namespace}.{name} is not a per-site table, so it cannot be read here")
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
        return freshness


def _too_long(limits: Limits) -> str:
    return f"the query ran longer than {limits.timeout_s:g} s and was stopped"


def _reason(exc: duckdb.Error) -> str:
    text = str(exc)
    # the raw views are an implementation detail: speak of the tables the user named
    return text.replace(f"{_RAW}.", "").replace(_RAW, "lake")
