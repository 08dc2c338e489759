"""The `clicklake` command: parses arguments, loads settings, calls a stage.

Subcommands appear here as their stages land; there is no placeholder that
pretends to work. `docs/cli.md` is generated from this parser's `--help`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import msgspec

from clicklake import __version__
from clicklake.config import Settings, load_settings, settings_table, shown
from clicklake.errors import ClicklakeError, InputError, TerminalError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from clicklake.collect.metadata import Site
    from clicklake.load import Loader, LoadStats
    from clicklake.transform import TransformReport


_RATE_HELP = (
    "events per second the site may send to each collector process (429 beyond); 0 for no limit "
    "(default: none of its own, setting collect.rate_per_site applies, which is 0)"
)
_TIMEZONE_HELP = "the IANA time zone the Stats API counts the site's days and hours in, e.g. Europe/Berlin"


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
        help="run every stage as a supervised process tree",
        description=(
            "Run the platform on this machine: N HTTP workers (collector and dashboard on one port), the loader, "
            "realtime, and the scheduler of the transform, maintenance and alerts, each a child process restarted "
            "if it dies. Ctrl-C or SIGTERM stops it cleanly: the HTTP workers finish their requests, then the "
            "loader commits what the stream holds, and it exits 0."
        ),
    )
    up.add_argument("--host", help="address to bind (setting server.host)")
    up.add_argument("--port", type=int, help="port to bind (setting server.port)")
    up.add_argument(
        "--workers", type=int, metavar="N", help="HTTP worker processes (default: one per core this process may use)"
    )
    up.add_argument(
        "--demo",
        action="store_true",
        help="also send demo traffic to the site named 'demo' (created if missing): a burst, then a trickle",
    )
    up.set_defaults(func=_up)

    collect = commands.add_parser(
        "collect",
        help="run the collector alone, in N worker processes",
        description=(
            "Serve the collector's HTTP routes (POST /v1/events, /r/..., /i.gif, /healthz, /readyz, /metrics) "
            "without the loader or any other stage: N worker processes share one port, each with its own stream "
            "and metadata handles. Run 'clicklake load' beside it. Ctrl-C or SIGTERM stops every worker "
            "cleanly (requests in flight finish) and exits 0."
        ),
    )
    collect.add_argument("--host", help="address to bind (setting server.host)")
    collect.add_argument("--port", type=int, help="port to bind (setting server.port)")
    collect.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes, about one per core (default 1)"
    )
    collect.set_defaults(func=_collect)

    realtime = commands.add_parser(
        "realtime",
        help="run the realtime stage alone (live windows over the stream tail)",
        description=(
            "Read the stream's tail with consumer group 'realtime' and keep the live windows in memory, "
            "rebuilt from the last realtime.rebuild_minutes of the stream on start; serve them at "
            "GET /live?site=SITE_ID (no accounts: keep it on loopback and set the web stage's realtime.url "
            "to it). Ctrl-C or SIGTERM stops it."
        ),
    )
    realtime.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    realtime.add_argument("--port", type=int, default=8001, help="port to bind (default 8001)")
    realtime.set_defaults(func=_realtime)

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
            "snapshot of the lake tables, named namespace.table (bronze.events, bronze.quarantine, ...). "
            "It only reads: a data directory (CLICKLAKE_DATA) without a lake is an error (exit 2), and only "
            "the tables the statement names are opened."
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

    transform = commands.add_parser(
        "transform",
        help="build the silver and gold tables from bronze.events",
        description=(
            "Run the SQL models from bronze.events to the silver and gold tables (sessions, segments, funnels, "
            "affiliate clicks, orders, daily KPIs). A run rebuilds only the event days that changed since the last "
            "one, and the days around them that sessions reach; data-quality checks run before each table is "
            "published, and a failed blocking check leaves the previous snapshot published. Without --once it "
            "then keeps running every transform.interval_s seconds (as 'clicklake up' does) until Ctrl-C or "
            "SIGTERM. With --once it runs once, prints a report and exits (1 when a check blocked it)."
        ),
    )
    transform.add_argument("--once", action="store_true", help="run once, then exit")
    transform.add_argument("--full-refresh", action="store_true", help="rebuild every table from all of bronze.events")
    transform.add_argument(
        "--from",
        dest="from_day",
        metavar="DATE",
        type=_day,
        help="rebuild the event days from DATE (YYYY-MM-DD, UTC) on, with --to",
    )
    transform.add_argument("--to", dest="to_day", metavar="DATE", type=_day, help="the last event day to rebuild")
    transform.add_argument("--format", choices=("table", "json"), default="table", help="output format of the report")
    transform.set_defaults(func=_transform)

    load = commands.add_parser(
        "load",
        help="load the stream into bronze.events",
        description=(
            "Load records from the stream into the Iceberg tables bronze.events and bronze.quarantine, "
            "exactly once. Without --once it keeps loading (as 'clicklake up' does) until Ctrl-C or SIGTERM, "
            "then commits what it holds and exits 0. With --once it loads what is there now, commits, "
            "prints a summary and exits."
        ),
    )
    load.add_argument("--once", action="store_true", help="drain what the stream holds now, then exit")
    load.add_argument(
        "--partitions",
        metavar="SPEC",
        help="load only these stream partitions, e.g. 0-1 (another loader takes 2-3); default: setting load.partitions",
    )
    load.set_defaults(func=_load)

    stream = commands.add_parser(
        "stream",
        help="inspect the durable stream",
        description="Inspect the durable stream between the collector and the loader.",
    )
    stream_commands = stream.add_subparsers(dest="stream_command", metavar="SUBCOMMAND", required=True)
    stats = stream_commands.add_parser(
        "stats",
        help="partitions, offsets and lag per consumer group",
        description=(
            "Show each partition's retained offsets and size, and each consumer group's committed offset "
            "and lag in records and seconds (the age of its oldest unread record)."
        ),
    )
    stats.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    stats.set_defaults(func=_stream_stats)

    quarantine = commands.add_parser(
        "quarantine",
        help="list or replay refused events (bronze.quarantine)",
        description=(
            "Every event refused at the door or by the loader is kept in bronze.quarantine with its reason "
            "and its bytes as received."
        ),
    )
    quarantine_commands = quarantine.add_subparsers(dest="quarantine_command", metavar="SUBCOMMAND", required=True)
    q_list = quarantine_commands.add_parser(
        "list",
        help="show quarantined events, newest first",
        description="Show quarantined events not yet replayed, newest first, with the reason each was refused.",
    )
    q_list.add_argument("--site", help="only this site id")
    q_list.add_argument("--limit", type=int, default=50, help="show at most this many (default 50)")
    q_list.add_argument("--all", action="store_true", help="include events already replayed")
    q_list.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    q_list.set_defaults(func=_quarantine_list)
    q_replay = quarantine_commands.add_parser(
        "replay",
        help="re-validate quarantined events and load the ones that now pass",
        description=(
            "Judge every quarantined event not yet replayed with the current code; append the ones that now pass "
            "to the stream (the loader loads them like any other) and mark them replayed. The rest stay, "
            "with their reason."
        ),
    )
    q_replay.add_argument("--site", help="only this site id")
    q_replay.add_argument("--dry-run", action="store_true", help="only report what would be replayed")
    q_replay.set_defaults(func=_quarantine_replay)

    sites = commands.add_parser(
        "sites",
        help="create, list, show, change and delete the sites that send events",
        description=(
            "A site is a website or shop that sends events with its own write key; the collector accepts "
            "browser events from its allowed origins only, and at most its own rate if it has one. Sites live "
            "in the metadata database (<data>/metadata.sqlite3, or setting collect.metadata_uri); running "
            "collectors pick up a change within seconds."
        ),
    )
    sites_commands = sites.add_subparsers(dest="sites_command", metavar="SUBCOMMAND", required=True)
    s_create = sites_commands.add_parser(
        "create",
        help="create a site and print its id and write key",
        description=(
            "Create a site with a new write key and print its site id and write key. Browser events are "
            "accepted from https://DOMAIN and https://www.DOMAIN unless --origin names the origins."
        ),
    )
    s_create.add_argument("name", metavar="NAME", help="a name for people, e.g. 'Shop'")
    s_create.add_argument("--domain", required=True, help="the site's host name, e.g. shop.example")
    s_create.add_argument(
        "--origin",
        action="append",
        dest="origins",
        metavar="ORIGIN",
        help="an allowed browser origin, e.g. https://shop.example (repeat for more; replaces the default)",
    )
    s_create.add_argument("--ignore-dnt", action="store_true", help="do not honour Do Not Track (DNT: 1)")
    s_create.add_argument("--ignore-gpc", action="store_true", help="do not honour Global Privacy Control (Sec-GPC: 1)")
    s_create.add_argument("--rate", type=float, metavar="N", help=_RATE_HELP)
    s_create.add_argument("--timezone", default="UTC", metavar="TZ", help=_TIMEZONE_HELP + " (default: UTC)")
    s_create.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    s_create.set_defaults(func=_sites_create)
    s_list = sites_commands.add_parser(
        "list", help="show every site", description="Show every site with its write key and allowed origins."
    )
    s_list.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    s_list.set_defaults(func=_sites_list)
    s_show = sites_commands.add_parser(
        "show",
        help="show one site",
        description="Show one site: its write key, allowed origins, privacy signals, rate limit and time zone.",
    )
    s_show.add_argument("site", metavar="SITE", help="the site id (see 'clicklake sites list')")
    s_show.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    s_show.set_defaults(func=_sites_show)
    s_update = sites_commands.add_parser(
        "update",
        help="change a site's name, origins, rate limit, privacy signals or time zone",
        description=(
            "Change what the options name and keep the rest; print the site as it is now. Running collectors "
            "pick up the change within a few seconds, without a restart."
        ),
    )
    s_update.add_argument("site", metavar="SITE", help="the site id (see 'clicklake sites list')")
    s_update.add_argument("--name", help="a new name")
    s_update.add_argument(
        "--origin",
        action="append",
        dest="origins",
        metavar="ORIGIN",
        help="an allowed browser origin (repeat for more; the list replaces the site's)",
    )
    rate = s_update.add_mutually_exclusive_group()
    rate.add_argument("--rate", type=float, metavar="N", help=_RATE_HELP)
    rate.add_argument(
        "--no-rate", action="store_true", help="remove the site's own rate limit (collect.rate_per_site applies)"
    )
    s_update.add_argument("--timezone", metavar="TZ", help=_TIMEZONE_HELP)
    for signal_name, what in (("dnt", "Do Not Track (DNT: 1)"), ("gpc", "Global Privacy Control (Sec-GPC: 1)")):
        honour = s_update.add_mutually_exclusive_group()
        honour.add_argument(
            f"--honor-{signal_name}",
            dest=f"honor_{signal_name}",
            action="store_const",
            const=True,
            help=f"honour {what}",
        )
        honour.add_argument(
            f"--ignore-{signal_name}",
            dest=f"honor_{signal_name}",
            action="store_const",
            const=False,
            help=f"do not honour {what}",
        )
    for kind, what in (
        ("bronze", "bronze.events rows, by the day they arrived"),
        ("quarantine", "bronze.quarantine rows"),
        ("silver", "silver and gold rows, by event day"),
    ):
        s_update.add_argument(
            f"--retention-{kind}-days",
            type=int,
            metavar="N",
            help=f"keep {what} N days (0: for ever; default: setting lake.retention_{kind}_days)",
        )
    s_update.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    s_update.set_defaults(func=_sites_update)
    s_delete = sites_commands.add_parser(
        "delete",
        help="delete a site and its links",
        description=(
            "Delete a site, its tracked links and its consent counts. Its write key stops working; the events it "
            "sent stay in the lake."
        ),
    )
    s_delete.add_argument("site", metavar="SITE", help="the site id (see 'clicklake sites list')")
    s_delete.add_argument("--yes", action="store_true", help="really delete (without it, nothing is done)")
    s_delete.set_defaults(func=_sites_delete)

    links = commands.add_parser(
        "links",
        help="create tracked links and QR codes",
        description=(
            "A tracked link is a redirect on the collector, /r/LINK_ID, that records the click for its site "
            "and answers with a 302 to the target; a QR link also has a QR code of that URL."
        ),
    )
    links_commands = links.add_subparsers(dest="links_command", metavar="SUBCOMMAND", required=True)
    l_create = links_commands.add_parser(
        "create",
        help="create a tracked link and print its path",
        description=(
            "Create a tracked link of a site and print its id and path, /r/LINK_ID "
            "(and /r/LINK_ID/qr.svg, its QR code, for --kind qr)."
        ),
    )
    l_create.add_argument("--site", required=True, help="the site id (see 'clicklake sites list')")
    l_create.add_argument("--target", required=True, metavar="URL", help="where the link leads: an http(s) URL")
    l_create.add_argument("--payout-cents", type=int, metavar="N", help="affiliate payout per click, in cents (>= 0)")
    l_create.add_argument(
        "--kind", choices=("affiliate", "qr"), default="affiliate", help="affiliate link or QR code (default affiliate)"
    )
    l_create.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    l_create.set_defaults(func=_links_create)

    demo = commands.add_parser(
        "demo",
        help="send realistic synthetic traffic through the collector",
        description=(
            "Send made-up but realistic visits through the collector's HTTP API: a comparison site (chart controls, "
            "an A/B test, affiliate links with payouts), an outdoor shop (search, carts, purchases) and restaurant "
            "menus reached by QR codes; visitors from 15 countries on desktop, mobile and tablet browsers, a few "
            "crawlers, some consent denials and a few invalid events. The site and its tracked links come from the "
            "metadata database, which the collector at --url must share. Prints what became of every event: "
            "accepted, consent-denied, rejected (quarantined) or failed."
        ),
    )
    demo.add_argument("--url", help="the collector (default: http://HOST:PORT of settings server.host and server.port)")
    demo.add_argument(
        "--site", metavar="SITE_ID", help="send as this site (default: the site named 'demo', created if missing)"
    )
    demo.add_argument(
        "--events", type=int, default=1000, metavar="N", help="events to send; 0 sends until Ctrl-C (default 1000)"
    )
    demo.add_argument(
        "--rate", type=float, default=200.0, metavar="R", help="events per second; 0 for no pacing (default 200)"
    )
    demo.add_argument("--seed", type=int, help="random seed: the same seed draws the same visits")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.add_argument("--format", choices=("table", "json"), default="table", help="output format of the summary")
    demo.set_defaults(func=_demo)
    from clicklake.alerts.cli import add_commands as add_alerts
    from clicklake.destinations.cli import add_commands as add_destinations
    from clicklake.export.cli import add_commands as add_export
    from clicklake.recommend.cli import add_commands as add_recommend
    from clicklake.transform.privacy_cli import add_commands as add_privacy
    from clicklake.web.cli import add_commands

    add_commands(commands)
    add_alerts(commands)
    add_export(commands)
    add_destinations(commands)
    add_recommend(commands)
    add_privacy(commands)
    return parser


def _up(args: argparse.Namespace, settings: Settings) -> int:
    if args.host is not None:
        settings.server.host = args.host
    if args.port is not None:
        settings.server.port = args.port
    from clicklake import up

    up.run(settings, workers=args.workers, demo=args.demo)
    return 0


def _collect(args: argparse.Namespace, settings: Settings) -> int:
    if args.host is not None:
        settings.server.host = args.host
    if args.port is not None:
        settings.server.port = args.port
    from clicklake import up

    up.collect(settings, args.workers)
    return 0


def _realtime(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.realtime import serve
    from clicklake.wiring import realtime_from_settings, stream_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stream = stream_from_settings(settings)
    try:
        asyncio.run(serve.run(settings, realtime_from_settings(settings, stream), args.host, args.port))
    finally:
        stream.close()
    return 0


def _config(args: argparse.Namespace, settings: Settings) -> int:
    rows = [(doc.key, shown(doc.key, _value(settings, doc.key))) for doc in settings_table()]
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


def _catalog(settings: Settings) -> Catalog:
    """The catalog the settings name, with every lake table (a fresh data dir answers 0 rows, not "no such table")."""
    from clicklake.lake.catalog import catalog_from_settings
    from clicklake.lake.tables import ensure_tables

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = catalog_from_settings(settings)
    ensure_tables(catalog)
    return catalog


def _read_catalog(settings: Settings) -> Catalog:
    """The catalog of an existing lake, for a command that only reads: nothing is created or written."""
    from clicklake.lake.catalog import CATALOG_FILE, catalog_from_settings

    data = settings.data_dir.resolve()
    if settings.catalog_uri is None and not (data / CATALOG_FILE).is_file():
        where = "no data directory" if not data.is_dir() else f"no lake catalog ({CATALOG_FILE})"
        raise InputError(
            f"{where} at {data}; set CLICKLAKE_DATA (or `data` in clicklake.toml) to the data directory "
            "that `clicklake up` writes, or start it there first"
        )
    return catalog_from_settings(settings)


def _query(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.lake.catalog import CATALOG_FILE
    from clicklake.query.engine import check_read_only, format_result, query

    check_read_only(args.sql)  # a refused statement is told so before anything is opened
    if settings.catalog_uri is None and not (settings.data_dir / CATALOG_FILE).is_file():
        _read_catalog(settings)  # says what is missing
    # the catalog is opened only if the statement names a table (`select 1` needs none)
    sys.stdout.write(format_result(query(lambda: _read_catalog(settings), args.sql), args.format))
    return 0


def _maintain(args: argparse.Namespace, settings: Settings) -> int:
    import pyarrow as pa

    from clicklake.collect.metadata import Metadata
    from clicklake.query.engine import format_result
    from clicklake.wiring import maintain_all, stream_from_settings

    catalog = _catalog(settings)
    stream = stream_from_settings(settings)
    try:
        report, trimmed = maintain_all(settings, catalog, stream)
    finally:
        stream.close()
    with Metadata.open(settings) as metadata:
        destroyed = metadata.destroy_old_salts()
    if args.format == "json":
        print(msgspec.json.encode({"lake": report, "stream_trimmed": trimmed, "salts_destroyed": destroyed}).decode())
    else:
        sys.stdout.write(format_result(pa.Table.from_pylist(report.rows()), "table"))
        print(f"stream: {trimmed.records} records ({trimmed.bytes} bytes) past retention removed")
        print(f"salts of cookieless visitor ids destroyed (older than 48 h): {', '.join(destroyed) or 'none'}")
    return 0


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-22") from None


def _transform(args: argparse.Namespace, settings: Settings) -> int:
    if (args.from_day is None) != (args.to_day is None):
        raise InputError("--from and --to go together: give both days (the same one for a single day).")
    between = (args.from_day, args.to_day) if args.from_day is not None else None
    if between is not None and between[0] > between[1]:
        raise InputError(f"--from {between[0]} is after --to {between[1]}.")
    if between is not None and args.full_refresh:
        raise InputError("--full-refresh rebuilds every day; leave out --from and --to, or --full-refresh.")
    from clicklake.wiring import transformer_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    transformer = transformer_from_settings(settings, progress=lambda line: print(line, file=sys.stderr, flush=True))
    report = transformer.run(full_refresh=args.full_refresh, between=between)
    _print_transform(report, args.format)
    interval = settings.transform.interval_s
    if args.once or interval <= 0:
        return 1 if report.outcome == "blocked" else 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"running every {interval:g} s; Ctrl-C or SIGTERM stops", file=sys.stderr)
    while not stop.wait(interval):
        report = transformer.run()
        if report.outcome not in ("up_to_date", "busy"):  # a quiet loop while nothing arrives
            _print_transform(report, args.format)
    return 0


def _print_transform(report: TransformReport, fmt: str) -> None:
    if fmt == "json":
        print(msgspec.json.encode(report).decode(), flush=True)
        return
    if report.mode in ("up_to_date", "busy"):
        why = "nothing new in bronze.events" if report.mode == "up_to_date" else "another run holds the lock"
        print(f"{report.mode.replace('_', ' ')}: {why}", flush=True)
        return
    days = f"{len(report.days)} event days" if len(report.days) != 1 else "1 event day"
    state = "gold published" if report.outcome == "published" else f"BLOCKED: {report.blocked}"
    print(f"{report.mode} run {report.run_id}: {days} in {report.seconds:.1f} s; {state}")
    for table, rows in report.rows.items():
        print(f"  {table:<28} {rows:>12,} rows")
    failed = [c for c in report.checks if not c.passed]
    passed = len(report.checks) - len(failed)
    print(f"checks: {passed} passed, {len(failed)} failed")
    for c in failed:
        print(f"  {c.severity:<5} {c.table} {c.name}: {c.failing} ({c.detail})")
    sys.stdout.flush()


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.wiring import loader_from_settings, stream_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stream = stream_from_settings(settings)
    started = time.monotonic()
    total = [0]

    def progress(events: int, quarantined: int, duplicates: int) -> None:
        total[0] += events
        rate = total[0] / max(time.monotonic() - started, 1e-9)
        print(f"committed {events} events ({total[0]} so far, {rate:,.0f}/s)", file=sys.stderr)

    try:
        loader = loader_from_settings(settings, stream, args.partitions)
        if args.once:  # progress of a drain; a continuous loader would print a line a second
            loader.on_commit = progress
        try:
            stats = loader.drain() if args.once else _load_until_stopped(loader)
        finally:
            loader.close()
    finally:
        stream.close()
    seconds = time.monotonic() - started
    print(
        f"loaded {stats.events} events into bronze.events in {stats.commits} commits ({seconds:.1f} s); "
        f"{stats.quarantined} to bronze.quarantine; {stats.duplicates} duplicates dropped"
    )
    if stats.lost_to_retention:
        lost = stats.lost_to_retention
        print(f"warning: {lost} records were trimmed from the stream before they were loaded", file=sys.stderr)
    return 0


def _load_until_stopped(loader: Loader) -> LoadStats:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("loading continuously; Ctrl-C or SIGTERM commits and stops", file=sys.stderr)
    loader.run(stop)
    return loader.stats


def _quarantine_list(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.load.quarantine import list_quarantine

    total, entries = list_quarantine(_catalog(settings), site=args.site, limit=args.limit, include_replayed=args.all)
    if args.format == "json":
        print(msgspec.json.encode(entries).decode())
        return 0
    print(f"{total} quarantined events" + ("" if args.all else " not yet replayed") + f"; showing {len(entries)}")
    for e in entries:
        when = datetime.fromtimestamp(e.received_ts / 1000, tz=UTC).isoformat(timespec="seconds")
        raw = e.raw[:100].decode("utf-8", "backslashreplace") + ("..." if len(e.raw) > 100 else "")
        flag = " (replayed)" if e.replayed else ""
        print(f"{when}  site={e.site_id}  source={e.source}  at={e.stream_partition}:{e.stream_offset}{flag}")
        print(f"    reason: {e.reason}")
        print(f"    raw:    {raw}")
    return 0


def _quarantine_replay(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.load.quarantine import replay
    from clicklake.wiring import stream_from_settings

    catalog = _catalog(settings)
    stream = stream_from_settings(settings)
    try:
        report = replay(catalog, stream, site=args.site, dry_run=args.dry_run)
    finally:
        stream.close()
    verb = "would replay" if args.dry_run else "replayed"
    print(f"examined {report.examined}; {verb} {report.replayed}; {report.still_refused} still refused")
    for sample in report.samples:
        print(f"    {sample}")
    if report.replayed and not args.dry_run:
        print("the loader ('clicklake up' or 'clicklake load --once') loads the replayed events")
    return 0


def _sites_create(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.collect.metadata import Metadata

    with Metadata.open(settings) as md:
        site = md.create_site(
            args.name,
            args.domain,
            args.origins,
            honor_dnt=not args.ignore_dnt,
            honor_gpc=not args.ignore_gpc,
            rate_per_s=args.rate,
            timezone=args.timezone,
        )
    _print_site(site, args.format)
    return 0


def _print_site(site: Site, fmt: str) -> None:
    if fmt == "json":
        print(msgspec.json.encode(site).decode())
        return
    _print_fields(msgspec.structs.asdict(site))


def _sites_show(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.collect.metadata import Metadata

    with Metadata.open(settings) as md:
        site = md.site(args.site)
    if site is None:
        raise InputError(f"Unknown site {args.site!r}: `clicklake sites list` shows the sites there are.")
    _print_site(site, args.format)
    return 0


def _sites_update(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.collect.metadata import KEEP, Metadata

    rate = None if args.no_rate else KEEP if args.rate is None else args.rate
    with Metadata.open(settings) as md:
        site = md.update_site(
            args.site,
            name=args.name,
            allowed_origins=args.origins,
            rate_per_s=rate,
            honor_dnt=args.honor_dnt,
            honor_gpc=args.honor_gpc,
            timezone=args.timezone,
        )
        days = {k: getattr(args, f"retention_{k}_days") for k in ("bronze", "quarantine", "silver")}
        if any(v is not None for v in days.values()):
            from clicklake.collect.policy import set_retention

            retention = set_retention(md, settings.lake, args.site, {k: v for k, v in days.items() if v is not None})
            if args.format != "json":
                _print_fields({f"retention_{k}_days": getattr(retention, f"{k}_days") for k in days})
    _print_site(site, args.format)
    return 0


def _sites_delete(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.collect.metadata import Metadata

    with Metadata.open(settings) as md:
        site = md.site(args.site)
        if site is None:
            raise InputError(f"Unknown site {args.site!r}: `clicklake sites list` shows the sites there are.")
        if not args.yes:
            raise InputError(
                f"This deletes site {site.site_id} ({site.name!r}) with its links; its write key stops working. "
                "Add --yes to do it."
            )
        site, links = md.delete_site(args.site)
    print(f"deleted site {site.site_id} ({site.name!r}) and {links} link(s); its events stay in the lake")
    return 0


def _sites_list(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.collect.metadata import Metadata

    with Metadata.open(settings) as md:
        sites = md.sites()
    if args.format == "json":
        print(msgspec.json.encode(sites).decode())
        return 0
    if not sites:
        print("no sites yet; create one with 'clicklake sites create NAME --domain DOMAIN'")
        return 0
    rows = [("site_id", "name", "domain", "write_key", "rate_per_s", "timezone", "allowed_origins")]
    rows += [
        (
            s.site_id,
            s.name,
            s.domain,
            s.write_key,
            "-" if s.rate_per_s is None else f"{s.rate_per_s:g}",
            s.timezone,
            " ".join(s.allowed_origins),
        )
        for s in sites
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]).rstrip())
    return 0


def _links_create(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.collect.metadata import Metadata

    with Metadata.open(settings) as md:
        link = md.create_link(args.site, args.target, kind=args.kind, payout_cents=args.payout_cents)
    shown: dict[str, object] = {**msgspec.structs.asdict(link), "path": link.path}
    if link.kind == "qr":
        shown["qr_path"] = link.qr_path
    if args.format == "json":
        print(msgspec.json.encode(shown).decode())
        return 0
    _print_fields(shown)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from clicklake import demo
    from clicklake.collect.metadata import Metadata

    if args.events < 0 or args.rate < 0:
        raise InputError("--events and --rate take a number >= 0.")
    url = args.url or demo.local_url(settings.server.host, settings.server.port)
    with Metadata.open(settings) as md:
        site, links = demo.demo_site(md, args.site)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    events = args.events or None
    quiet = args.quiet or not sys.stderr.isatty()
    with tqdm(total=events, unit=" events", file=sys.stderr, disable=quiet, desc=f"demo to {url}") as bar:
        summary = demo.run(url, site, links, [(events, args.rate)], seed=args.seed, on_sent=bar.update, stop=stop)
    if args.format == "json":
        print(msgspec.json.encode({"site_id": site.site_id, "url": url, **msgspec.structs.asdict(summary)}).decode())
    else:
        print(f"site {site.name!r} ({site.site_id}) at {url}")
        sys.stdout.write(summary.report())
    if summary.error:
        raise TerminalError(summary.error)
    return 1 if summary.failed else 0


def _print_fields(fields: dict[str, object]) -> None:
    width = max(len(key) for key in fields)
    for key, value in fields.items():
        shown = " ".join(value) if isinstance(value, tuple | list) else "-" if value is None else value
        print(f"{key:<{width}}  {shown}")


def _stream_stats(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.wiring import stream_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stream = stream_from_settings(settings)
    try:
        stats = stream.stats()
    finally:
        stream.close()
    if args.format == "json":
        print(msgspec.json.encode(stats).decode())
        return 0
    print(f"stream {settings.stream_uri} ({stats.backend}, {len(stats.partitions)} partitions)")
    print(f"{'partition':>9}  {'first':>12}  {'next':>12}  {'records':>12}  {'bytes':>14}")
    for p in stats.partitions:
        print(f"{p.partition:>9}  {p.first_offset:>12}  {p.next_offset:>12}  {p.records:>12}  {p.bytes:>14}")
    if not stats.groups:
        print("no consumer group has committed yet")
    for group in stats.groups:
        behind = sum(lag.records for lag in group.lag)
        oldest = max((lag.seconds for lag in group.lag), default=0.0)
        print(f"group {group.group}: {behind} records behind, oldest unread {oldest:.1f} s")
        print(f"{'partition':>9}  {'committed':>12}  {'lag':>12}  {'lag s':>9}")
        for lag in group.lag:
            print(f"{lag.partition:>9}  {lag.committed:>12}  {lag.records:>12}  {lag.seconds:>9.1f}")
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
    except OSError as exc:  # a store that failed (object storage out of reach, a full disk): its message says which
        print(f"clicklake: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
