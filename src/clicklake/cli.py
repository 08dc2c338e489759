"""The `clicklake` command: parses arguments, loads settings, calls a stage.

Subcommands appear here as their stages land; there is no placeholder that
pretends to work. `docs/cli.md` is generated from this parser's `--help`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

import msgspec

from clicklake import __version__
from clicklake.config import Settings, load_settings, settings_table
from clicklake.errors import ClicklakeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clicklake",
        description="Self-hosted clickstream analytics on an open lakehouse (Apache Iceberg).",
    )
    parser.add_argument("--version", action="version", version=f"clicklake {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="TOML settings file (default: ./clicklake.toml if present, or $CLICKLAKE_CONFIG)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="run every stage in one supervised process",
        description=(
            "Run the platform embedded: the HTTP server with every stage that exists so far. "
            "Ctrl-C or SIGTERM stops it cleanly and exits 0."
        ),
    )
    up.add_argument("--host", help="address to bind (setting server.host)")
    up.add_argument("--port", type=int, help="port to bind (setting server.port)")
    up.set_defaults(func=_up)

    config = commands.add_parser(
        "config",
        help="show the effective settings",
        description="Print every setting as loaded from defaults, clicklake.toml and CLICKLAKE_* variables.",
    )
    config.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    config.set_defaults(func=_config)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of one event",
        description=(
            "Print the published JSON Schema (Draft 2020-12) of one ingest event, as served at /schema/v1.json."
        ),
    )
    schema.set_defaults(func=_schema)

    query = commands.add_parser(
        "query",
        help="run a read-only SQL query over the lake tables",
        description=(
            "Run one read-only SQL statement (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN) in DuckDB over the latest "
            "snapshot of the lake tables, named namespace.table (bronze.events, bronze.quarantine, ...)."
        ),
    )
    query.add_argument("sql", metavar="SQL", help='the query, e.g. "select count(*) from bronze.events"')
    query.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="output format (json: an array of row objects)",
    )
    query.set_defaults(func=_query)

    maintain = commands.add_parser(
        "maintain",
        help="compact closed hours, expire old snapshots, delete unreferenced files",
        description=(
            "Run lake maintenance once, safe while the loader writes: rewrite every ingest hour of bronze.events "
            "(and day of bronze.quarantine) closed for lake.compact_after_minutes into one sorted file per "
            "partition, expire snapshots older than lake.snapshot_retention_hours (the current one stays), and "
            "delete data and manifest files that no snapshot uses and that are over an hour old."
        ),
    )
    maintain.add_argument("--format", choices=("table", "json"), default="table", help="output format of the report")
    maintain.set_defaults(func=_maintain)
    return parser


def _up(args: argparse.Namespace, settings: Settings) -> int:
    if args.host is not None:
        settings.server.host = args.host
    if args.port is not None:
        settings.server.port = args.port
    from clicklake import up

    asyncio.run(up.run(settings))
    return 0


def _config(args: argparse.Namespace, settings: Settings) -> int:
    rows = [(doc.key, _value(settings, doc.key)) for doc in settings_table()]
    if args.format == "json":
        print(msgspec.json.encode(dict(rows)).decode())
    else:
        width = max(len(key) for key, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}}  {msgspec.json.encode(value).decode()}")
    return 0


def _value(settings: Settings, key: str) -> object:
    obj: object = settings
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def _schema(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.schema import json_schema_bytes

    sys.stdout.write(json_schema_bytes().decode())
    return 0


def _query(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.lake.catalog import open_catalog
    from clicklake.lake.tables import ensure_tables
    from clicklake.query.engine import format_result, query

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = open_catalog(settings.data_dir, settings.catalog_uri)
    ensure_tables(catalog)  # a fresh data dir answers 0 rows, not "no such table"
    sys.stdout.write(format_result(query(catalog, args.sql), args.format))
    return 0


def _maintain(args: argparse.Namespace, settings: Settings) -> int:
    import pyarrow as pa

    from clicklake.lake.catalog import open_catalog
    from clicklake.lake.maintain import maintain
    from clicklake.lake.tables import ensure_tables
    from clicklake.query.engine import format_result

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = open_catalog(settings.data_dir, settings.catalog_uri)
    ensure_tables(catalog)
    report = maintain(catalog, settings.lake)
    if args.format == "json":
        print(msgspec.json.encode(report).decode())
    else:
        sys.stdout.write(format_result(pa.Table.from_pylist(report.rows()), "table"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config)
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return int(args.func(args, settings))
    except ClicklakeError as exc:
        print(f"clicklake: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
