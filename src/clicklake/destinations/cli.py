"""`clicklake destinations list|add|remove|enable|disable|dead-letters|replay|run`."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from clicklake.config import Settings
from clicklake.destinations.store import KINDS, Store
from clicklake.errors import InputError


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    destinations = commands.add_parser(
        "destinations",
        help="forward accepted events to a webhook or Google Analytics 4",
        description=(
            "Destinations live in the metadata database. Each reads the stream with its own consumer group "
            "(destination:NAME), so a slow one never slows ingestion, and gets the accepted events after privacy "
            "at the door. 'clicklake up' (or 'clicklake destinations run') forwards to every enabled one; a batch "
            "that fails destinations.max_attempts times goes to the dead-letter list, for 'replay'."
        ),
    )
    d = destinations.add_subparsers(dest="destinations_command", metavar="SUBCOMMAND", required=True)
    listing = d.add_parser("list", help="show every destination, its totals and its pending dead letters")
    listing.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    listing.set_defaults(func=_list)

    add = d.add_parser(
        "add",
        help="add a destination (it gets the events accepted from now on)",
        description=(
            "A webhook gets batches of events as JSON POSTs to --url. A ga4 destination sends them to the Google "
            "Analytics 4 Measurement Protocol with --measurement-id and --api-secret (--url overrides the endpoint)."
        ),
    )
    add.add_argument("name", metavar="NAME", help="a name: a-z, 0-9, '-' and '_'")
    add.add_argument("--kind", choices=KINDS, default="webhook", help="webhook (default) or ga4")
    add.add_argument("--url", help="the webhook URL; for ga4, another endpoint than Google's")
    add.add_argument("--site", help="forward this site's events only (default: every site's)")
    add.add_argument("--secret", help="webhook: sign each body with HMAC-SHA256 (header X-Clicklake-Signature)")
    add.add_argument("--measurement-id", help="ga4: the data stream's measurement id (G-...)")
    add.add_argument("--api-secret", help="ga4: a Measurement Protocol API secret of that data stream")
    add.add_argument(
        "--from-start", action="store_true", help="also forward the events the stream still holds (default: new ones)"
    )
    add.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    add.set_defaults(func=_add)

    remove = d.add_parser("remove", help="remove a destination, its dead letters and its consumer group")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(func=_remove)
    for verb, enabled in (("enable", True), ("disable", False)):
        p = d.add_parser(verb, help=f"{verb} a destination (a disabled one keeps its place in the stream)")
        p.add_argument("name", metavar="NAME")
        p.set_defaults(func=_enable, enabled=enabled)

    letters = d.add_parser("dead-letters", help="list the batches that could not be delivered")
    letters.add_argument("name", metavar="NAME", nargs="?", help="one destination's only")
    letters.add_argument("--purge", action="store_true", help="delete them instead (their events are lost)")
    letters.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    letters.set_defaults(func=_dead_letters)

    replay = d.add_parser("replay", help="deliver a destination's dead letters again")
    replay.add_argument("name", metavar="NAME")
    replay.add_argument("--letter", type=int, metavar="ID", help="this dead letter only")
    replay.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    replay.set_defaults(func=_replay)

    run = d.add_parser(
        "run",
        help="forward to every enabled destination, alone, until Ctrl-C or SIGTERM",
        description="Run the forwarder alone beside separate stages (scale-out mode); 'clicklake up' runs it too.",
    )
    run.set_defaults(func=_run)


@contextmanager
def _store(settings: Settings) -> Iterator[Store]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings)
    try:
        yield store
    finally:
        store.close()


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with _store(settings) as store:
        items = store.all()
        waiting = store.pending()
        pending = {d.name: waiting.get(d.name, 0) for d in items}
    if args.format == "json":
        print(msgspec.json.encode([{**d.public(), "dead_letter_events": pending[d.name]} for d in items]).decode())
        return 0
    if not items:
        print("no destinations; add one with `clicklake destinations add`")
        return 0
    for d in items:
        state = "enabled" if d.enabled else "disabled"
        print(
            f"{d.name}  {d.kind}  {d.url}  site={d.site_id or '*'}  {state}  delivered={d.delivered}  "
            f"dead-lettered={d.dead_lettered}  pending dead letters: {pending[d.name]} events"
        )
    return 0


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.destinations.forward import start_group
    from clicklake.destinations.ga4 import DEFAULT_URL
    from clicklake.stream import stream_from_settings

    options: dict[str, str] = {}
    if args.kind == "ga4":
        if not args.measurement_id or not args.api_secret:
            raise InputError("a ga4 destination needs --measurement-id G-... and --api-secret SECRET")
        options = {"measurement_id": args.measurement_id, "api_secret": args.api_secret}
        url = args.url or DEFAULT_URL
    else:
        if not args.url:
            raise InputError("a webhook destination needs --url https://...")
        url = args.url
        if args.secret:
            options["secret"] = args.secret
    with _store(settings) as store:
        if args.site:
            from clicklake.collect.metadata import Metadata

            with Metadata.open(settings) as md:
                if md.site(args.site) is None:
                    raise InputError(f"no site {args.site!r}; 'clicklake sites list' shows them")
        destination = store.add(args.name, args.kind, url, site_id=args.site, options=options)
    stream = stream_from_settings(settings)
    try:
        start_group(stream, destination.group, from_start=args.from_start)
    finally:
        stream.close()
    if args.format == "json":
        print(msgspec.json.encode(destination.public()).decode())
    else:
        print(f"destination {destination.name} ({destination.kind}) added; consumer group {destination.group}")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.stream import stream_from_settings

    with _store(settings) as store:
        destination, letters = store.remove(args.name)
    stream = stream_from_settings(settings)
    try:
        stream.delete_group(destination.group)
    finally:
        stream.close()
    print(f"destination {destination.name} removed, with {letters} dead letters and its consumer group")
    return 0


def _enable(args: argparse.Namespace, settings: Settings) -> int:
    with _store(settings) as store:
        destination = store.set_enabled(args.name, args.enabled)
    print(f"destination {destination.name} {'enabled' if destination.enabled else 'disabled'}")
    return 0


def _dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    with _store(settings) as store:
        if args.name is not None:
            store.get(args.name)  # an unknown name is an error, not an empty list
        letters = store.dead_letters(args.name)
        if args.purge:
            for letter in letters:
                store.delete_letter(letter.letter_id)
    if args.format == "json":
        print(msgspec.json.encode(letters).decode())
        return 0
    if args.purge:
        print(f"{len(letters)} dead letters deleted ({sum(x.events for x in letters)} events)")
        return 0
    if not letters:
        print("no dead letters")
    for x in letters:
        print(f"{x.letter_id}  {x.destination}  {x.events} events  {x.attempts} attempts  {x.error}")
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.destinations.forward import replay

    with _store(settings) as store:
        result = replay(store, store.get(args.name), settings.destinations, args.letter)
    if args.format == "json":
        print(msgspec.json.encode(result).decode())
    else:
        print(
            f"{result.letters} dead letters replayed: {result.delivered} events delivered, "
            f"{result.failed_letters} letters failed again"
        )
        for error in result.errors:
            print(f"    {error}")
    return 1 if result.failed_letters else 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.destinations.forward import run_forever

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(settings, stop)
    return 0
