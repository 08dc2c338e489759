"""Alert rules and their state, in the metadata database (tables `alert_rules`, `alert_state`).

A rule is global (no site: a per-site kind then watches every site) or for one site. It
names a kind (`KINDS`), a threshold and a window in minutes where the kind uses them, and
one channel: `webhook` (a JSON POST), `slack` (a Slack-compatible incoming webhook) or
`email` (SMTP, the `alerts.smtp_*` settings) with its target (a URL or an address).

`alert_state` keeps, per rule and subject (a site id, or "" for the whole platform),
whether it fires and since when, so a restart neither repeats a notice nor misses a
recovery: a notice goes out only when that state changes.
"""

from __future__ import annotations

import secrets
import time
from typing import Final, Literal, get_args

import msgspec
import sqlalchemy as sa

from clicklake.collect.metadata import Metadata
from clicklake.errors import InputError

Kind = Literal[
    "no_events",
    "traffic_drop",
    "traffic_spike",
    "rejected_rate",
    "consent_denied_rate",
    "stream_lag",
    "loader_errors",
    "check_failed",
    "http_5xx_rate",
    "disk_free",
    "gold_freshness",
]
KINDS: Final[tuple[str, ...]] = get_args(Kind)
Channel = Literal["webhook", "slack", "email"]
CHANNELS: Final[tuple[str, ...]] = get_args(Channel)

#: What each kind's threshold and minutes mean, and their defaults (None: not used).
KIND_HELP: Final[dict[str, tuple[str, float | None, float | None]]] = {
    "no_events": ("a site sent no event for MINUTES minutes", None, 30.0),
    "traffic_drop": (
        "the last closed hour has THRESHOLD %% fewer events than the mean of the same hour of the 4 weeks before",
        50.0,
        None,
    ),
    "traffic_spike": (
        "the last closed hour has THRESHOLD %% more events than the mean of the same hour of the 4 weeks before",
        200.0,
        None,
    ),
    "rejected_rate": ("over MINUTES minutes, more than THRESHOLD %% of the events sent were rejected", 5.0, 10.0),
    "consent_denied_rate": (
        "over MINUTES minutes, more than THRESHOLD %% of the events had consent denied",
        50.0,
        10.0,
    ),
    "stream_lag": ("the loader's oldest unread stream record is more than THRESHOLD seconds old", 300.0, None),
    "loader_errors": ("the loader failed (and restarted) at least THRESHOLD times in MINUTES minutes", 1.0, 10.0),
    "check_failed": ("a data-quality check failed in the last transform run", None, None),
    "http_5xx_rate": ("over MINUTES minutes, more than THRESHOLD %% of HTTP answers were 5xx", 1.0, 5.0),
    "disk_free": ("less than THRESHOLD %% of the data directory's disk is free", 10.0, None),
    "gold_freshness": ("the newest event in gold is more than MINUTES minutes old", None, 120.0),
}
#: Kinds that watch one site (a global rule of these watches every site).
PER_SITE: Final = frozenset({"no_events", "traffic_drop", "traffic_spike"})

tables = sa.MetaData()
rules_table = sa.Table(
    "alert_rules",
    tables,
    sa.Column("rule_id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("site_id", sa.String(32), nullable=True, index=True),
    sa.Column("threshold", sa.Float, nullable=True),
    sa.Column("minutes", sa.Float, nullable=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
)
state_table = sa.Table(
    "alert_state",
    tables,
    sa.Column("rule_id", sa.String(16), primary_key=True),
    sa.Column("subject", sa.String(32), primary_key=True),
    sa.Column("firing", sa.Boolean, nullable=False),
    sa.Column("since_ts", sa.BigInteger, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str
    kind: str
    site_id: str | None
    threshold: float | None
    minutes: float | None
    channel: str
    target: str
    created_ts: int

    def describe(self) -> str:
        """The rule in words, its numbers filled in."""
        text = KIND_HELP[self.kind][0].replace("%%", "%")
        if self.threshold is not None:
            text = text.replace("THRESHOLD", f"{self.threshold:g}")
        if self.minutes is not None:
            text = text.replace("MINUTES", f"{self.minutes:g}")
        return text


class State(msgspec.Struct, frozen=True):
    firing: bool
    since_ts: int
    summary: str


class Rules:
    """The rules and their state in one metadata database."""

    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata
        self.engine = metadata.engine
        try:
            tables.create_all(self.engine)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            tables.create_all(self.engine)  # another process (an HTTP worker of `clicklake up`) made them meanwhile

    def create(
        self,
        kind: str,
        channel: str,
        target: str,
        *,
        site_id: str | None = None,
        threshold: float | None = None,
        minutes: float | None = None,
    ) -> Rule:
        """Add a rule; the kind's defaults fill what is not given."""
        if kind not in KINDS:
            raise InputError(f"unknown alert kind {kind!r}; one of: {', '.join(KINDS)}")
        if channel not in CHANNELS:
            raise InputError(f"unknown channel {channel!r}; one of: {', '.join(CHANNELS)}")
        target = target.strip()
        if channel == "email" and "@" not in target:
            raise InputError(f"an e-mail channel needs an address, not {target!r}")
        if channel != "email" and not target.startswith(("http://", "https://")):
            raise InputError(f"a {channel} channel needs an http(s) URL, not {target!r}")
        if site_id is not None and self.metadata.site(site_id) is None:
            raise InputError(f"no site {site_id!r}; see `clicklake sites list`")
        _, default_threshold, default_minutes = KIND_HELP[kind]
        threshold = threshold if threshold is not None else default_threshold
        minutes = minutes if minutes is not None else default_minutes
        for name, value in (("threshold", threshold), ("minutes", minutes)):
            if value is not None and value < 0:
                raise InputError(f"{name} must not be negative, got {value}")
        rule = Rule(
            rule_id="al_" + secrets.token_hex(6),
            kind=kind,
            site_id=site_id,
            threshold=threshold,
            minutes=minutes,
            channel=channel,
            target=target,
            created_ts=int(time.time() * 1000),
        )
        with self.engine.begin() as con:
            con.execute(rules_table.insert().values(**msgspec.structs.asdict(rule)))
        return rule

    def list(self) -> list[Rule]:
        with self.engine.connect() as con:
            rows = con.execute(sa.select(rules_table).order_by(rules_table.c.created_ts)).all()
        return [Rule(**row._asdict()) for row in rows]

    def get(self, rule_id: str) -> Rule:
        with self.engine.connect() as con:
            row = con.execute(sa.select(rules_table).where(rules_table.c.rule_id == rule_id)).first()
        if row is None:
            raise InputError(f"no alert rule {rule_id!r}; see `clicklake alerts list`")
        return Rule(**row._asdict())

    def delete(self, rule_id: str) -> Rule:
        rule = self.get(rule_id)
        with self.engine.begin() as con:
            con.execute(state_table.delete().where(state_table.c.rule_id == rule_id))
            con.execute(rules_table.delete().where(rules_table.c.rule_id == rule_id))
        return rule

    def states(self, rule_id: str) -> dict[str, State]:
        with self.engine.connect() as con:
            rows = con.execute(sa.select(state_table).where(state_table.c.rule_id == rule_id)).all()
        return {r.subject: State(bool(r.firing), r.since_ts, r.summary) for r in rows}

    def set_state(self, rule_id: str, subject: str, state: State) -> None:
        with self.engine.begin() as con:
            con.execute(state_table.delete().where(state_table.c.rule_id == rule_id, state_table.c.subject == subject))
            con.execute(state_table.insert().values(rule_id=rule_id, subject=subject, **msgspec.structs.asdict(state)))
