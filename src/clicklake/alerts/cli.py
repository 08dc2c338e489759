"""`clicklake alerts list|create|delete|test|run`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator

import msgspec

from clicklake.alerts.rules import CHANNELS, KIND_HELP, KINDS, Rules
from clicklake.config import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kinds = "; ".join(f"{k}: {KIND_HELP[k][0]}" for k in KINDS).replace("%%", "%")
    alerts = commands.add_parser(
        "alerts",
        help="alert rules: notices by webhook, Slack or e-mail when something goes wrong",
        description=(
            "Rules live in the metadata database; 'clicklake up' evaluates them every alerts.interval_s seconds "
            "and sends one notice when a rule starts firing and one when it recovers. Kinds: " + kinds + "."
        ),
    )
    a = alerts.add_subparsers(dest="alerts_command", metavar="SUBCOMMAND", required=True)
    listing = a.add_parser("list", help="show every rule and its state")
    listing.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    listing.set_defaults(func=_list)
    create = a.add_parser("create", help="add a rule")
    create.add_argument("--kind", required=True, choices=KINDS)
    create.add_argument("--site", help="watch this site only (default: every site, or the whole platform)")
    create.add_argument("--threshold", type=float, help="the kind's threshold (default: the kind's own)")
    create.add_argument("--minutes", type=float, help="the kind's window in minutes (default: the kind's own)")
    create.add_argument("--channel", required=True, choices=CHANNELS)
    create.add_argument("--target", required=True, help="the webhook URL, or the e-mail address")
    create.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    create.set_defaults(func=_create)
    delete = a.add_parser("delete", help="delete a rule and its state")
    delete.add_argument("rule_id", metavar="RULE_ID")
    delete.set_defaults(func=_delete)
    test = a.add_parser("test", help="send a test notice through a rule's channel now")
    test.add_argument("rule_id", metavar="RULE_ID")
    test.set_defaults(func=_test)
    run = a.add_parser(
        "run",
        help="evaluate the rules alone, beside separate stages",
        description=(
            "Evaluate every alerts.interval_s seconds (at least 1) until Ctrl-C or SIGTERM, with what this "
            "process can see: the stream, the lake, the metadata database and the disk. Rules that need the "
            "live windows or another process's counters read as unknown here; 'clicklake up' evaluates all."
        ),
    )
    run.set_defaults(func=_run)


@contextlib.contextmanager
def _rules(settings: Settings) -> Iterator[Rules]:
    from clicklake.collect.metadata import Metadata

    with Metadata.open(settings) as md:
        yield Rules(md)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with _rules(settings) as rules:
        items = [(r, rules.states(r.rule_id)) for r in rules.list()]
    if args.format == "json":
        out = [
            {
                **msgspec.structs.asdict(r),
                "description": r.describe(),
                "firing": sorted(s or "(platform)" for s, st in states.items() if st.firing),
            }
            for r, states in items
        ]
        print(msgspec.json.encode(out).decode())
        return 0
    if not items:
        print("no alert rules; add one with `clicklake alerts create`")
        return 0
    for r, states in items:
        firing = [s or "(platform)" for s, st in states.items() if st.firing]
        state = f"FIRING for {', '.join(sorted(firing))}" if firing else "ok"
        print(f"{r.rule_id}  {r.kind}  site={r.site_id or '*'}  {r.channel} {r.target}  {state}")
        print(f"    {r.describe()}")
    return 0


def _create(args: argparse.Namespace, settings: Settings) -> int:
    with _rules(settings) as rules:
        rule = rules.create(
            args.kind, args.channel, args.target, site_id=args.site, threshold=args.threshold, minutes=args.minutes
        )
    if args.format == "json":
        print(msgspec.json.encode(rule).decode())
    else:
        print(f"alert rule {rule.rule_id} created: {rule.describe()} -> {rule.channel} {rule.target}")
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    with _rules(settings) as rules:
        rule = rules.delete(args.rule_id)
    print(f"alert rule {rule.rule_id} ({rule.kind}) deleted")
    return 0


def _test(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.alerts.channels import deliver
    from clicklake.alerts.evaluator import notice_of
    from clicklake.alerts.measure import Reading

    with _rules(settings) as rules:
        rule = rules.get(args.rule_id)
    now = int(time.time() * 1000)
    notice = notice_of(
        rule, Reading(rule.site_id or "", None, None, "a test notice from `clicklake alerts test`"), now, test=True
    )
    deliver(rule.channel, rule.target, notice, settings.alerts)
    print(f"test notice sent by {rule.channel} to {rule.target}")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.alerts.evaluator import Evaluator
    from clicklake.alerts.measure import Sources
    from clicklake.collect.metadata import Metadata
    from clicklake.lake.catalog import open_catalog
    from clicklake.stream import stream_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stream = stream_from_settings(settings)

    async def main() -> None:
        task = asyncio.create_task(evaluator.run(max(settings.alerts.interval_s, 1.0)))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        task.cancel()

    with Metadata.open(settings) as md:
        sources = Sources(
            metadata=md,
            data_dir=settings.data_dir,
            stream=stream,
            catalog=lambda: open_catalog(settings.data_dir, settings.catalog_uri),
        )
        evaluator = Evaluator(Rules(md), sources, settings.alerts)
        print("evaluating the alert rules; Ctrl-C or SIGTERM stops", flush=True)
        try:
            asyncio.run(main())
        finally:
            stream.close()
    return 0
