"""`clicklake alerts list|create|delete|test|run`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator

import msgspec

from clicklake.alerts.email_reports import EmailReports
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

    reports = commands.add_parser(
        "email-reports",
        help="scheduled e-mail reports per site (weekly or monthly overview figures with their change)",
        description=(
            "A report mails a site's overview figures (visitors, visits, page views, bounce rate, orders, revenue) "
            "for the last complete ISO week or calendar month, beside the period before, through the alerts.smtp_* "
            "settings; 'clicklake up' sends each period once, when it is complete."
        ),
    )
    r = reports.add_subparsers(dest="reports_command", metavar="SUBCOMMAND", required=True)
    r_create = r.add_parser("create", help="mail a site's report to an address every week or month")
    r_create.add_argument("--site", required=True, help="the site id")
    r_create.add_argument("--period", required=True, choices=("weekly", "monthly"))
    r_create.add_argument("--to", required=True, metavar="ADDR", help="the e-mail address")
    r_create.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    r_create.set_defaults(func=_reports_create)
    r_list = r.add_parser("list", help="show every scheduled report")
    r_list.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    r_list.set_defaults(func=_reports_list)
    r_delete = r.add_parser("delete", help="stop a report")
    r_delete.add_argument("report_id", metavar="REPORT_ID")
    r_delete.set_defaults(func=_reports_delete)
    r_send = r.add_parser("send", help="send a report's last complete period now")
    r_send.add_argument("report_id", metavar="REPORT_ID")
    r_send.set_defaults(func=_reports_send)


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
    from datetime import UTC, datetime

    from clicklake.alerts.email_reports import send_due
    from clicklake.alerts.evaluator import Evaluator
    from clicklake.alerts.measure import Sources
    from clicklake.collect.metadata import Metadata
    from clicklake.wiring import catalog_from_settings, stream_from_settings

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stream = stream_from_settings(settings)

    def send_reports() -> list[str]:
        return send_due(EmailReports(md), lambda: catalog, settings.alerts, datetime.now(UTC).date())

    async def main() -> None:
        task = asyncio.create_task(evaluator.run(max(settings.alerts.interval_s, 1.0), after=send_reports))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        task.cancel()

    catalog = catalog_from_settings(settings)
    with Metadata.open(settings) as md:
        sources = Sources(
            metadata=md,
            data_dir=settings.data_dir,
            stream=stream,
            catalog=lambda: catalog,
        )
        evaluator = Evaluator(Rules(md), sources, settings.alerts)
        print("evaluating the alert rules; Ctrl-C or SIGTERM stops", flush=True)
        try:
            asyncio.run(main())
        finally:
            stream.close()
    return 0


@contextlib.contextmanager
def _reports(settings: Settings) -> Iterator[EmailReports]:
    from clicklake.collect.metadata import Metadata

    with Metadata.open(settings) as md:
        yield EmailReports(md)


def _reports_create(args: argparse.Namespace, settings: Settings) -> int:
    with _reports(settings) as reports:
        report = reports.create(args.site, args.period, args.to)
    if args.format == "json":
        print(msgspec.json.encode(report).decode())
    else:
        print(f"e-mail report {report.report_id} created: {report.period} for {report.site_id} to {report.email}")
    return 0


def _reports_list(args: argparse.Namespace, settings: Settings) -> int:
    with _reports(settings) as reports:
        items = reports.list()
    if args.format == "json":
        print(msgspec.json.encode(items).decode())
        return 0
    if not items:
        print("no e-mail reports; add one with `clicklake email-reports create`")
    for rep in items:
        print(f"{rep.report_id}  {rep.period}  site={rep.site_id}  to {rep.email}  last sent: {rep.last_sent or '-'}")
    return 0


def _reports_delete(args: argparse.Namespace, settings: Settings) -> int:
    with _reports(settings) as reports:
        report = reports.delete(args.report_id)
    print(f"e-mail report {report.report_id} deleted")
    return 0


def _reports_send(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from clicklake.alerts.channels import send_email
    from clicklake.alerts.email_reports import compose
    from clicklake.lake.catalog import catalog_from_settings

    with _reports(settings) as reports:
        report = reports.get(args.report_id)
        site = reports.metadata.site(report.site_id)
        catalog = catalog_from_settings(settings)
        today = datetime.now(UTC).date()
        subject, text, label = compose(report, site.name if site else report.site_id, lambda: catalog, today)
        send_email(report.email, subject, text, settings.alerts)
        reports.mark_sent(report.report_id, label)
    print(f"report {label} sent to {report.email}")
    return 0
