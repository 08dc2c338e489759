"""`clicklake export postgres --dsn DSN [--schema S]`."""

from __future__ import annotations

import argparse

import msgspec

from clicklake.config import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = commands.add_parser(
        "export",
        help="copy the gold tables and silver.sessions to a warehouse",
        description=(
            "Copy what changed in the gold tables and silver.sessions since the last export into a "
            "PostgreSQL schema (upserts on each table's keys; rows gone from the lake are deleted). One run is "
            "one transaction: a run that is killed leaves the warehouse as the run before left it."
        ),
    )
    targets = export.add_subparsers(dest="export_command", metavar="TARGET", required=True)
    postgres = targets.add_parser(
        "postgres",
        help="export to PostgreSQL",
        description=(
            "Export once to PostgreSQL. The DSN and schema default to the settings export.dsn and export.schema; "
            "'clicklake up' exports every export.interval_s seconds when export.dsn is set."
        ),
    )
    postgres.add_argument("--dsn", help="postgresql://user@host:5432/db (default: setting export.dsn)")
    postgres.add_argument("--schema", help="the warehouse schema (default: setting export.schema, 'clicklake')")
    postgres.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    postgres.set_defaults(func=_postgres)


def _postgres(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.errors import InputError
    from clicklake.export import export_postgres
    from clicklake.lake.catalog import CATALOG_FILE, catalog_from_settings

    dsn = args.dsn or settings.export.dsn
    if not dsn:
        raise InputError("no warehouse given: pass --dsn postgresql://user@host:5432/db or set export.dsn")
    data = settings.data_dir.resolve()
    if settings.catalog_uri is None and not (data / CATALOG_FILE).is_file():  # the lake is only read
        raise InputError(f"no lake catalog at {data}; set CLICKLAKE_DATA to the data directory 'clicklake up' writes")
    catalog = catalog_from_settings(settings)
    report = export_postgres(catalog, dsn, args.schema or settings.export.schema)
    if args.format == "json":
        out = msgspec.to_builtins(report)
        out["changed"] = report.changed
        print(msgspec.json.encode(out).decode())
        return 0
    width = max(len(report.schema) + 1 + len(t.target) for t in report.tables)
    head = f"{'table':<28} {'warehouse table':<{width}} {'days':>5} {'read':>8} {'inserted':>9} {'updated':>8}"
    print(head + f" {'deleted':>8}")
    for t in report.tables:
        days = t.partitions_changed + t.partitions_removed
        print(
            f"{t.table:<28} {report.schema + '.' + t.target:<{width}} {days:>5} {t.rows_read:>8} "
            f"{t.inserted:>9} {t.updated:>8} {t.deleted:>8}"
        )
    print(f"{report.changed} rows changed in {report.seconds:.1f} s")
    return 0
