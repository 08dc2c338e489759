"""`clicklake erase|export-user|usage`: a person's data out of the lake, or to them; storage per site."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from clicklake.config import Settings
from clicklake.errors import InputError

if TYPE_CHECKING:
    from clicklake.collect.policy import Receipt


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    erase = commands.add_parser(
        "erase",
        help="erase every row of one person of a site (GDPR art. 17), or list the receipts",
        description=(
            "Delete every row of one person from every table (bronze, quarantine, silver, gold) and from the "
            "embedded stream, rebuild the silver and gold days they were on, expire the older snapshots and "
            "delete every file that held them. Safe while 'clicklake up' runs: events arriving meanwhile are "
            "kept. A receipt (time, site, rows per table; never the id) is kept in the metadata database."
        ),
    )
    erase.add_argument("--site", help="the site id")
    who = erase.add_mutually_exclusive_group()
    who.add_argument("--user", metavar="USER_ID_HASH", help="the user_id_hash the site sent")
    who.add_argument("--email", metavar="ADDR", help="an e-mail address, hashed as the SDK's identifyEmail does")
    who.add_argument("--list", action="store_true", help="list the receipts of erasures (of --site only, if given)")
    erase.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    erase.set_defaults(func=_erase)

    export = commands.add_parser(
        "export-user",
        help="write everything held about one person of a site as JSON (GDPR art. 15)",
        description=(
            "Every row of one person in every table (their user id and the anonymous ids their events carried), "
            "as one JSON document: to standard output, or to --out FILE."
        ),
    )
    export.add_argument("--site", required=True, help="the site id")
    who = export.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="USER_ID_HASH", help="the user_id_hash the site sent")
    who.add_argument("--email", metavar="ADDR", help="an e-mail address, hashed as the SDK's identifyEmail does")
    export.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    export.set_defaults(func=_export_user)

    usage = commands.add_parser(
        "usage",
        help="storage per site: bytes, files and rows per table, events per day",
        description=(
            "What each site takes in the lake's current snapshots: bytes (a file shared by several sites is "
            "shared out by its rows), files and rows per table, and bronze.events rows per day of arrival."
        ),
    )
    usage.add_argument("--site", help="only this site")
    usage.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    usage.set_defaults(func=_usage)


def _subject(args: argparse.Namespace) -> str:
    from clicklake.lake.erase import email_hash

    if args.email is not None:
        return email_hash(args.email)
    if not args.user:
        raise InputError("Name the person: --user USER_ID_HASH or --email ADDR.")
    return str(args.user)


def _erase(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.collect.metadata import Metadata
    from clicklake.collect.policy import receipts

    if args.list:
        with Metadata.open(settings) as metadata:
            found = receipts(metadata, args.site)
        _print_receipts(found, args.format)
        return 0
    if not args.site:
        raise InputError("Name the site: --site SITE.")
    from clicklake.transform.erasure import erase_person

    subject = _subject(args)
    quiet = args.format == "json"
    receipt = erase_person(
        settings,
        args.site,
        subject,
        requested_by="cli",
        progress=None if quiet else lambda message: print(message, file=sys.stderr),
    )
    _print_receipts([receipt], args.format, one=True)
    return 0


def _print_receipts(items: Sequence[Receipt], fmt: str, *, one: bool = False) -> None:
    if fmt == "json":
        print(msgspec.json.encode(items[0] if one else items).decode())
        return
    if not items:
        print("no erasures yet")
        return
    for r in items:
        when = datetime.fromtimestamp(r.started_ts / 1000, UTC).isoformat(timespec="seconds")
        tables = ", ".join(f"{name} {n}" for name, n in r.rows.items()) or "no rows"
        print(
            f"{r.erasure_id}  {when}  site {r.site_id}  {r.total_rows} rows ({tables}); "
            f"{r.files_deleted} files, {r.bytes_deleted} bytes deleted"
        )


def _export_user(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.transform.erasure import export_person

    document = export_person(settings, args.site, _subject(args))
    data = msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"
    if args.out:
        with open(args.out, "wb") as out:
            out.write(data)
        print(f"wrote {sum(document['rows'].values())} rows to {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def _usage(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.lake.catalog import CATALOG_FILE, catalog_from_settings
    from clicklake.lake.usage import usage

    if settings.catalog_uri is None and not (settings.data_dir / CATALOG_FILE).is_file():
        raise InputError(f"no lake catalog at {settings.data_dir.resolve()}; set CLICKLAKE_DATA to the data directory")
    found = usage(catalog_from_settings(settings), [args.site] if args.site else None)
    if args.format == "json":
        print(msgspec.json.encode(found).decode())
        return 0
    if not found:
        print("no site has rows in the lake yet")
    for site in found:
        print(f"site {site.site_id}: {site.bytes} bytes in {site.files} files, {site.rows} rows")
        for t in site.tables:
            print(f"  {t.table:<28} {t.bytes:>12} bytes {t.files:>6} files {t.rows:>10} rows")
        for d in site.events_per_day:
            print(f"  {d.day.isoformat()}  {d.events:>10} events")
    return 0
