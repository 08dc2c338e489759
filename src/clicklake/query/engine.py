"""Read-only SQL over the lake: DuckDB views on the current snapshot of every Iceberg table.

Each table `ns.name` of the catalog becomes a DuckDB view `ns.name` over the
Parquet data files of its current snapshot, so a query sees the latest commit
at the time `query` is called. A statement other than one SELECT (WITH, FROM,
SHOW, DESCRIBE, SUMMARIZE) or a plain EXPLAIN is refused before it runs, and the
connection is in memory with file access limited to those data files and its
configuration locked, so a query can neither write nor read anything else.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

import duckdb
import msgspec

from clicklake.errors import ClicklakeError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog

Format = Literal["table", "csv", "json"]
FORMATS: Final[tuple[Format, ...]] = ("table", "csv", "json")

_EXPLAIN: Final = re.compile(r"^\s*explain\s+", re.IGNORECASE)
_ANALYZE: Final = re.compile(r"^\s*analy[sz]e\b", re.IGNORECASE)
_MAX_CELL: Final = 80
#: Statements that list or describe the lake rather than name its tables: they see every view.
_LISTS_TABLES: Final = re.compile(r"\b(show|describe|summarize|information_schema|duckdb_\w+)\b", re.IGNORECASE)


class QueryError(ClicklakeError, ValueError):
    """A query was refused or failed; the message says why."""


def one_statement(sql: str, error: type[QueryError] = QueryError) -> duckdb.Statement:
    """The one statement `sql` holds; raise `error` if it does not parse or holds more or fewer."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise error(f"cannot parse the query: {exc}") from exc
    if len(statements) != 1:
        raise error(f"expected exactly one SQL statement, got {len(statements)}")
    return statements[0]


def check_read_only(sql: str) -> None:
    """Raise `QueryError` unless `sql` is exactly one read-only statement."""
    kind = one_statement(sql).type
    if kind == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs its statement, so only plain EXPLAIN of a read passes
        inner = _EXPLAIN.sub("", sql, count=1)
        if _ANALYZE.match(inner):
            raise QueryError("only read-only queries are allowed: EXPLAIN ANALYZE is refused")
        check_read_only(inner)
        return
    if kind != duckdb.StatementType.SELECT:
        raise QueryError(f"only read-only queries are allowed (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); got {kind.name}")


def tables_named(sql: str) -> set[str] | None:
    """The `namespace.table` names a statement reads, or None when it may read any (or cannot be told)."""
    if _LISTS_TABLES.search(sql):
        return None
    try:
        names = duckdb.get_table_names(sql, qualified=True)
    except duckdb.Error:
        return None
    # DuckDB gives "bronze.events AS e" for an aliased table
    return {name.split(" AS ", 1)[0].strip().replace('"', "") for name in names}


def query(catalog: Catalog | Callable[[], Catalog], sql: str) -> pa.Table:
    """Run one read-only statement over the lake tables, named `namespace.table`, and return its result.

    `catalog` may be a function that opens it: it is called only when the statement names a
    table, so `select 1` costs no catalog, and only the tables it names are opened.
    """
    check_read_only(sql)
    with lake_connection(catalog, tables_named(sql)) as con:
        try:
            return con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc


@contextmanager
def lake_connection(
    catalog: Catalog | Callable[[], Catalog], tables: set[str] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with a view per lake table, locked down to reading them.

    With `tables`, only those of them that exist get a view (none: the catalog is not opened).
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        allowed: list[str] = []
        if tables is None or tables:
            from clicklake.lake.views import ident, register_view

            opened = catalog() if callable(catalog) else catalog
            for namespace in opened.list_namespaces():
                schema_name = ".".join(namespace)
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema_name)}")
                for identifier in opened.list_tables(namespace):
                    if tables is None or ".".join(identifier) in tables:
                        allowed += register_view(con, schema_name, identifier[-1], opened.load_table(identifier))
        con.execute("SET allowed_paths = ?", [allowed])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


# -- output -----------------------------------------------------------------------


_JSON: Final = msgspec.json.Encoder(decimal_format="number")


def format_result(table: pa.Table, fmt: Format = "table") -> str:
    """Render a result as an aligned text table, CSV with a header, or a JSON array of row objects.

    Timestamps and dates are ISO 8601 strings; in CSV and the text table,
    nested values are JSON.
    """
    rows: list[dict[str, Any]] = table.to_pylist(maps_as_pydicts="lossy")
    if fmt == "json":
        # DuckDB sums BIGINT into HUGEINT, which Arrow carries as a decimal: a number to the reader.
        return _JSON.encode(rows).decode() + "\n"
    names: list[str] = table.column_names
    cells = [[_cell(row[n]) for n in names] for row in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(cells)
        return out.getvalue()
    if fmt == "table":
        return _text_table(names, cells, table.num_rows)
    raise QueryError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (datetime, date, time)):
        # the same RFC 3339 text as in JSON output
        return msgspec.json.encode(value).decode()[1:-1]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return msgspec.json.encode(value).decode()


def _text_table(names: list[str], cells: list[list[str]], count: int) -> str:
    shown = [[c if len(c) <= _MAX_CELL else c[: _MAX_CELL - 1] + "…" for c in row] for row in cells]
    shown = [[c.replace("\n", " ") for c in row] for row in shown]
    widths = [max([len(n), *(len(row[i]) for row in shown)]) for i, n in enumerate(names)]
    lines = [
        "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
        "  ".join("-" * w for w in widths),
        *("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in shown),
        f"({count} row{'' if count == 1 else 's'})",
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"
