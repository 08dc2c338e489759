"""One typed Settings object: defaults < `clicklake.toml` < `CLICKLAKE_*` environment.

Nested keys are joined with `__` in the environment: `[server] port` in the
file is `CLICKLAKE_SERVER__PORT`. The file is `./clicklake.toml` when it
exists, or the path in `CLICKLAKE_CONFIG` (or `clicklake --config`), which
must exist. Every setting carries its meaning in a `Meta(description=...)`;
`settings_table()` lists them for the docs, and a test keeps
`docs/configuration.md` in step with this module.

A bad or unknown value fails at start-up with a `ConfigError` that names the
key, the value and where it was read.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, Struct

from clicklake.errors import ConfigError

ENV_PREFIX: Final = "CLICKLAKE_"
CONFIG_ENV: Final = "CLICKLAKE_CONFIG"
#: Variables with the prefix that are not settings: the settings file, and the crash
#: tests' failpoint (`clicklake._failpoint`).
NOT_SETTINGS: Final = frozenset({CONFIG_ENV, "CLICKLAKE_FAILPOINT"})
DEFAULT_FILE: Final = "clicklake.toml"
#: Settings whose values are never printed (`clicklake config`, error messages).
SECRET_SETTINGS: Final = frozenset(
    {
        "lake.s3_secret_access_key",
        "lake.catalog_credential",
        "web.oidc_client_secret",
        "alerts.smtp_password",
    }
)


def shown(key: str, value: object) -> object:
    """`value` as it may be printed: a secret setting's value is hidden (set or not is still told)."""
    if key in SECRET_SETTINGS and value:
        return "********"
    if isinstance(value, dict):  # a whole table of settings, named in an error
        return {k: shown(f"{key}.{k}" if key else k, v) for k, v in value.items()}
    return value


class ServerSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    host: Annotated[str, Meta(description="Address the HTTP server (collector and dashboard) binds to.")] = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535, description="TCP port of the HTTP server.")] = 8000


class StreamSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    uri: Annotated[
        str,
        Meta(
            description=(
                "The durable stream: empty for the embedded log in <data>/stream, "
                "local:///absolute/dir for one elsewhere, or nats://host:port/NAME for NATS JetStream."
            )
        ),
    ] = ""
    partitions: Annotated[
        int, Meta(ge=1, le=1024, description="Partitions of a new stream (fixed once it exists).")
    ] = 4
    fsync: Annotated[
        bool, Meta(description="fsync every append (survives power loss, slower); off still survives a killed process.")
    ] = False
    max_bytes: Annotated[
        int, Meta(ge=1 << 20, description="Unread bytes above which appends are refused (the collector answers 503).")
    ] = 1 << 30
    max_lag_records: Annotated[
        int, Meta(ge=1000, description="Unread records above which appends are refused (the collector answers 503).")
    ] = 10_000_000
    retention_hours: Annotated[
        float, Meta(gt=0, description="Records older than this are trimmed once the loader has loaded them.")
    ] = 24.0


class LakeSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    catalog_uri: Annotated[
        str,
        Meta(
            description=(
                "The Iceberg catalog: a SQLAlchemy URI of a SQL catalog, e.g. postgresql+psycopg2://user@host/db; "
                "an http(s):// URL of an Iceberg REST catalog; empty for SQLite at <data>/catalog.sqlite3."
            )
        ),
    ] = ""
    catalog_credential: Annotated[
        str,
        Meta(
            description=(
                "REST catalog only: OAuth2 client credentials as client_id:client_secret, exchanged for a token "
                "at the catalog; empty for none. Never printed."
            )
        ),
    ] = ""
    warehouse: Annotated[
        str,
        Meta(
            description=(
                "Where new tables put their files: empty for <data>/warehouse, or s3://bucket/prefix on "
                "S3-compatible object storage. With a REST catalog, the catalog's warehouse name, passed as it is."
            )
        ),
    ] = ""
    s3_endpoint: Annotated[
        str,
        Meta(description="S3 endpoint URL, e.g. http://127.0.0.1:8333 (SeaweedFS, MinIO); empty for AWS S3."),
    ] = ""
    s3_region: Annotated[
        str,
        Meta(
            description=("S3 region of the warehouse bucket; empty: us-east-1 with an s3_endpoint, else asked of AWS.")
        ),
    ] = ""
    s3_access_key_id: Annotated[
        str, Meta(description="S3 access key id; empty for the AWS default chain (AWS_* variables, ~/.aws, role).")
    ] = ""
    s3_secret_access_key: Annotated[
        str,
        Meta(description="S3 secret access key (prefer CLICKLAKE_LAKE__S3_SECRET_ACCESS_KEY). Never printed."),
    ] = ""
    snapshot_retention_hours: Annotated[
        float,
        Meta(
            gt=0,
            description=(
                "Snapshots older than this are expired by maintenance (the latest is kept). The loader commits "
                "about once a second and every snapshot lengthens the table's metadata file, so keep it short."
            ),
        ),
    ] = 1.0
    keep_snapshots: Annotated[
        int,
        Meta(
            ge=2,
            description=(
                "The loader expires the oldest snapshots beyond this many (commit time grows with the count: "
                "pyiceberg copies all snapshot metadata on every commit)."
            ),
        ),
    ] = 60
    compact_after_minutes: Annotated[
        float,
        Meta(ge=0, description="An ingest hour is compacted once it has been closed this long."),
    ] = 10.0
    maintain_interval_minutes: Annotated[
        float, Meta(ge=0, description="How often `clicklake up` runs maintenance; 0 turns it off.")
    ] = 15.0
    retention_bronze_days: Annotated[
        int,
        Meta(
            ge=0,
            description="Days bronze.events rows are kept (by ingest day) unless a site sets its own; 0 keeps them.",
        ),
    ] = 0
    retention_quarantine_days: Annotated[
        int, Meta(ge=0, description="Days bronze.quarantine rows are kept unless a site sets its own; 0 keeps them.")
    ] = 0
    retention_silver_days: Annotated[
        int,
        Meta(
            ge=0,
            description="Days silver and gold rows are kept (by event day) unless a site sets its own; 0 keeps them.",
        ),
    ] = 0

    def __post_init__(self) -> None:
        rest = self.catalog_uri.startswith(("http://", "https://"))
        if self.warehouse and not rest and not self.warehouse.startswith("s3://"):
            raise ValueError(f"warehouse: {self.warehouse!r} is not empty nor an s3://bucket/prefix location")
        if bool(self.s3_access_key_id) != bool(self.s3_secret_access_key):
            raise ValueError("s3_access_key_id and s3_secret_access_key go together: set both, or neither")
        if self.catalog_credential and not rest:
            raise ValueError("catalog_credential: set only for a REST catalog (catalog_uri http(s)://...)")


class LoadSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    flush_interval_s: Annotated[
        float,
        Meta(gt=0, le=900, description="Longest time a record waits in the loader's buffer before a commit."),
    ] = 1.0
    flush_records: Annotated[int, Meta(ge=1, description="Buffered records that force a commit.")] = 100_000
    flush_bytes: Annotated[int, Meta(ge=1024, description="Buffered payload bytes that force a commit.")] = 64 << 20
    dedup_window_s: Annotated[
        float,
        Meta(ge=0, description="A repeated (site_id, event_id) within this many seconds of ingest is dropped."),
    ] = 600.0
    partitions: Annotated[
        str,
        Meta(
            description=(
                "Stream partitions this loader owns, e.g. 0-3 or 0,2 (empty: all). Several loaders of one stream "
                "own disjoint sets and commit to the same tables."
            )
        ),
    ] = ""


class CollectSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    metadata_uri: Annotated[
        str,
        Meta(
            description=(
                "SQLAlchemy URI of the metadata database (sites, write keys, links, daily salts), SQLite or "
                "PostgreSQL, e.g. postgresql+psycopg2://user@host/db; empty for SQLite at <data>/metadata.sqlite3."
            )
        ),
    ] = ""
    max_body_bytes: Annotated[
        int, Meta(ge=1024, description="Largest request body as sent (before gzip is inflated); more is 413.")
    ] = 1 << 20
    max_inflated_bytes: Annotated[
        int, Meta(ge=1024, description="Largest request body after gzip is inflated (guards against gzip bombs).")
    ] = 8 << 20
    max_events: Annotated[int, Meta(ge=1, description="Most events in one request; more is 413.")] = 1000
    max_event_bytes: Annotated[
        int, Meta(ge=256, description="Largest single event; a bigger one is rejected (and quarantined).")
    ] = 32 * 1024
    header_timeout_s: Annotated[
        float,
        Meta(gt=0, description="A connection whose request headers are not complete within this is closed."),
    ] = 10.0
    body_timeout_s: Annotated[
        float, Meta(gt=0, description="A request body that has not fully arrived within this is answered 408.")
    ] = 10.0
    rate_per_site: Annotated[
        float,
        Meta(
            ge=0,
            description=(
                "Events per second a site without a rate of its own (`clicklake sites update SITE --rate N`) may "
                "send to one collector process (429 beyond); 0 for no limit."
            ),
        ),
    ] = 0.0
    rate_per_ip: Annotated[
        float,
        Meta(
            ge=0,
            description=(
                "Requests per second one client IP may make to one collector process (429 beyond; 0 for no limit)."
            ),
        ),
    ] = 100.0
    rate_burst_s: Annotated[
        float, Meta(gt=0, description="A rate limit lets this many seconds' worth of its rate through at once.")
    ] = 2.0
    trusted_proxies: Annotated[
        str,
        Meta(
            description=(
                "Comma-separated addresses or CIDR networks of reverse proxies whose X-Forwarded-For is believed; "
                "the client is the last address in it that is not such a proxy. Empty trusts none."
            )
        ),
    ] = "127.0.0.1/32, ::1/128"
    access_log: Annotated[
        bool,
        Meta(
            description=(
                "Write one JSON line per request to the log (logger clicklake.access): time, method, route, "
                "status, latency_ms, site; never an IP address."
            )
        ),
    ] = False

    def __post_init__(self) -> None:
        self.proxy_networks()  # a bad address fails at start-up, naming the setting

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """`trusted_proxies` parsed."""
        networks = []
        for part in self.trusted_proxies.split(","):
            if part.strip():
                try:
                    networks.append(ipaddress.ip_network(part.strip(), strict=False))
                except ValueError:
                    raise ValueError(
                        f"trusted_proxies: {part.strip()!r} is not an IP address or CIDR network"
                    ) from None
        return tuple(networks)


class SegmentRule(Struct, forbid_unknown_fields=True, kw_only=True):
    """A segment of `transform.segments`: which sessions count, how much, and for how long.

    A visitor is in the segment while the `amount`s of its qualifying sessions (those for
    which `when` holds, counted at their end) within the last `window_days` add up to at
    least `at_least`. `when` and `amount` are SQL over the columns of silver.sessions.
    """

    when: str
    amount: str = "1"
    at_least: Annotated[float, Meta(gt=0)] = 1.0
    window_days: Annotated[int, Meta(ge=1, le=3660)] = 30


SegmentKey = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

DEFAULT_SEGMENTS: Final = {
    "affiliate_clicker": SegmentRule(when="affiliate_clicks > 0", window_days=30),
    "comparison_shopper": SegmentRule(when="comparison_pages >= 3", window_days=30),
    "buyer": SegmentRule(when="orders > 0", window_days=365),
    "high_value": SegmentRule(when="orders > 0", amount="revenue_minor", at_least=50_000.0, window_days=365),
}


class TransformSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    interval_s: Annotated[
        float,
        Meta(
            ge=0,
            description=(
                "How often `clicklake up` runs the transform (silver and gold tables); 0 turns it off. "
                "3600 gives an hourly batch."
            ),
        ),
    ] = 60.0
    session_gap_minutes: Annotated[
        float, Meta(gt=0, le=1440, description="Inactivity that ends a session (also for events without an SDK id).")
    ] = 30.0
    comparison_pattern: Annotated[
        str,
        Meta(
            description=(
                "Regular expression (RE2) that marks a page URL as a comparison page (gold.fact_funnel saw_comparison)."
            )
        ),
    ] = r"(?i)(/compare|/comparison|-vs-|/vs/)"
    site_comparison_patterns: Annotated[
        dict[str, str],
        Meta(description="Per-site comparison-page patterns, site id to regular expression; others use the default."),
    ] = msgspec.field(default_factory=dict)
    segments: Annotated[
        dict[SegmentKey, SegmentRule],
        Meta(
            description=(
                "Segment rules of silver.user_segments, by key: when (SQL over silver.sessions), amount (SQL, "
                "default 1), at_least (default 1), window_days (default 30). Setting it replaces the whole set."
            )
        ),
    ] = msgspec.field(default_factory=lambda: dict(DEFAULT_SEGMENTS))
    freshness_warn_minutes: Annotated[
        float,
        Meta(gt=0, description="The freshness check warns when bronze.events has had no new data for this long."),
    ] = 60.0
    keep_snapshots: Annotated[
        int,
        Meta(ge=2, description="Snapshots each silver and gold table keeps after a run (older ones are expired)."),
    ] = 10

    def __post_init__(self) -> None:
        import re

        for where, pattern in [("comparison_pattern", self.comparison_pattern), *self.site_comparison_patterns.items()]:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{where}: {pattern!r} is not a regular expression: {exc}") from None


class QuerySettings(Struct, forbid_unknown_fields=True, kw_only=True):
    timeout_s: Annotated[
        float, Meta(gt=0, description="A Stats API or SQL console query running longer is stopped (422).")
    ] = 10.0
    memory_limit: Annotated[
        str,
        Meta(pattern=r"^[0-9]+(\.[0-9]+)?\s*[KMGT]i?B$", description="Memory one API query may use, e.g. 1GB."),
    ] = "1GB"
    max_rows: Annotated[
        int, Meta(ge=1, description="Rows the SQL console returns at most; the answer says when it cut more.")
    ] = 10_000
    threads: Annotated[int, Meta(ge=1, le=256, description="DuckDB threads of one API query.")] = 2


class WebSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    public_url: Annotated[
        str,
        Meta(
            description=(
                "The dashboard's URL as users reach it, e.g. https://stats.example (no path); printed in "
                "invitation and shared links and used for the OIDC redirect. Empty: http://<server.host>:<server.port> "
                "for printed links, the request's own address for OIDC."
            )
        ),
    ] = ""
    oidc_issuer: Annotated[
        str,
        Meta(
            description=(
                "OpenID provider's issuer URL (its /.well-known/openid-configuration is read); empty turns OIDC "
                "sign-in off."
            )
        ),
    ] = ""
    oidc_client_id: Annotated[str, Meta(description="The client id registered at the OpenID provider.")] = ""
    oidc_client_secret: Annotated[
        str, Meta(description="The client secret registered at the OpenID provider (empty: a public client).")
    ] = ""
    oidc_allowed_domains: Annotated[
        str,
        Meta(
            description=(
                "Comma-separated e-mail domains whose verified users get an account (no site, no admin) at their "
                "first OIDC sign-in; empty: only users who exist already may sign in."
            )
        ),
    ] = ""

    def allowed_domains(self) -> frozenset[str]:
        """`oidc_allowed_domains` parsed (lower case)."""
        return frozenset(d.strip().lower().lstrip("@") for d in self.oidc_allowed_domains.split(",") if d.strip())


class RealtimeSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    rebuild_minutes: Annotated[
        float,
        Meta(
            ge=1,
            le=1440,
            description="On start, the live windows are rebuilt from the stream records of the last this many minutes.",
        ),
    ] = 30.0
    url: Annotated[
        str,
        Meta(
            description=(
                "Empty: the web stage reads the live windows of the realtime stage in its own process. "
                "Else the base URL of a separate 'clicklake realtime' (e.g. http://127.0.0.1:8001) it asks."
            )
        ),
    ] = ""


class AlertSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    interval_s: Annotated[
        float, Meta(ge=0, description="Seconds between evaluations of the alert rules in 'clicklake up'; 0 for none.")
    ] = 60.0
    smtp_host: Annotated[str, Meta(description="SMTP server for e-mail alerts; empty: e-mail channels fail.")] = ""
    smtp_port: Annotated[int, Meta(ge=1, le=65535, description="SMTP port.")] = 587
    smtp_from: Annotated[str, Meta(description="Sender address of alert e-mails.")] = "clicklake@localhost"
    smtp_user: Annotated[str, Meta(description="SMTP user name; empty: no login.")] = ""
    smtp_password: Annotated[str, Meta(description="SMTP password (prefer CLICKLAKE_ALERTS__SMTP_PASSWORD).")] = ""
    smtp_starttls: Annotated[bool, Meta(description="Upgrade the SMTP connection with STARTTLS before logging in.")] = (
        False
    )


class ExportSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    dsn: Annotated[
        str,
        Meta(
            description=(
                "PostgreSQL warehouse that 'clicklake up' exports the gold tables and silver.sessions to "
                "(postgresql://user@host/db); empty: no scheduled export."
            )
        ),
    ] = ""
    schema: Annotated[str, Meta(description="The warehouse schema the exported tables live in.")] = "clicklake"
    interval_s: Annotated[
        float, Meta(ge=1, description="Seconds between scheduled exports (each copies only what changed).")
    ] = 300.0


class DestinationSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    batch_size: Annotated[int, Meta(ge=1, le=10_000, description="Most events in one delivery to a destination.")] = 500
    max_attempts: Annotated[
        int, Meta(ge=1, le=100, description="Deliveries of one batch before it goes to the dead-letter list.")
    ] = 5
    backoff_s: Annotated[
        float, Meta(gt=0, description="Wait after the first failed delivery; doubled after each further one.")
    ] = 1.0
    max_backoff_s: Annotated[float, Meta(gt=0, description="Longest wait between two deliveries of a batch.")] = 60.0
    timeout_s: Annotated[float, Meta(gt=0, description="HTTP timeout of one delivery.")] = 10.0
    poll_s: Annotated[float, Meta(gt=0, description="How long a forwarder waits for new events when idle.")] = 1.0
    max_lag_records: Annotated[
        int,
        Meta(
            ge=1000,
            description=(
                "Records a destination may fall behind; beyond, its batches go straight to the dead-letter list "
                "(keep it below stream.max_lag_records, where the stream refuses appends)."
            ),
        ),
    ] = 1_000_000


class Settings(Struct, forbid_unknown_fields=True, kw_only=True):
    data: Annotated[
        str,
        Meta(
            description=(
                "Data directory: metadata database, stream, Iceberg catalog and warehouse. "
                "Deleting it resets everything."
            )
        ),
    ] = "./data"
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"], Meta(description="Least severe log level written.")
    ] = "info"
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    stream: StreamSettings = msgspec.field(default_factory=StreamSettings)
    lake: LakeSettings = msgspec.field(default_factory=LakeSettings)
    load: LoadSettings = msgspec.field(default_factory=LoadSettings)
    collect: CollectSettings = msgspec.field(default_factory=CollectSettings)
    transform: TransformSettings = msgspec.field(default_factory=TransformSettings)
    query: QuerySettings = msgspec.field(default_factory=QuerySettings)
    web: WebSettings = msgspec.field(default_factory=WebSettings)
    realtime: RealtimeSettings = msgspec.field(default_factory=RealtimeSettings)
    alerts: AlertSettings = msgspec.field(default_factory=AlertSettings)
    export: ExportSettings = msgspec.field(default_factory=ExportSettings)
    destinations: DestinationSettings = msgspec.field(default_factory=DestinationSettings)

    @property
    def data_dir(self) -> Path:
        return Path(self.data)

    @property
    def stream_uri(self) -> str:
        """The stream's URI: the setting, or the embedded log in `<data>/stream`."""
        return self.stream.uri or str(self.data_dir.resolve() / "stream")

    @property
    def catalog_uri(self) -> str | None:
        """The catalog's SQLAlchemy URI, or None for SQLite in the data directory."""
        return self.lake.catalog_uri or None


class SettingDoc(Struct, frozen=True):
    """One row of the settings table."""

    key: str
    env: str
    default: str
    type: str
    description: str


def settings_table(cls: type[Struct] = Settings, prefix: str = "") -> Iterator[SettingDoc]:
    """Every leaf setting, in declaration order, with its default and meaning."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    defaults = cls()
    for field in info.fields:
        key = prefix + field.name
        tp = field.type
        if isinstance(tp, msgspec.inspect.StructType):
            yield from settings_table(tp.cls, key + ".")
            continue
        description = (
            (tp.extra_json_schema or {}).get("description") if isinstance(tp, msgspec.inspect.Metadata) else None
        )
        if description is None:
            raise AssertionError(f"setting {key!r} has no description")
        inner = tp.type if isinstance(tp, msgspec.inspect.Metadata) else tp
        yield SettingDoc(
            key=key,
            env=ENV_PREFIX + key.upper().replace(".", "__"),
            default=_show(getattr(defaults, field.name)),
            type=_type_name(inner),
            description=description,
        )


def _show(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _type_name(tp: msgspec.inspect.Type) -> str:
    if isinstance(tp, msgspec.inspect.LiteralType):
        return " \\| ".join(str(v) for v in tp.values)
    if isinstance(tp, msgspec.inspect.IntType):
        bounds = [f">= {tp.ge}" if tp.ge is not None else "", f"<= {tp.le}" if tp.le is not None else ""]
        return " ".join(["integer", *[b for b in bounds if b]])
    names = {
        msgspec.inspect.StrType: "string",
        msgspec.inspect.BoolType: "boolean",
        msgspec.inspect.FloatType: "number",
        msgspec.inspect.DictType: "table",
    }
    return names.get(type(tp), type(tp).__name__)


# -- loading ------------------------------------------------------------------


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Layer defaults, the TOML file and the environment into one checked Settings."""
    environ = os.environ if env is None else env
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}

    path, required = _config_path(config_file, environ)
    if path is not None and (required or path.exists()):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            named_by = "--config" if config_file is not None else CONFIG_ENV
            raise ConfigError(f"Config file {str(path)!r} (named by {named_by}) does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Config file {str(path)!r} is not valid TOML: {exc}.") from None
        _merge(merged, data, origins, f"config file {path}", "")

    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        node = merged
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"Environment variable {name} sets a key inside {part!r}, which is not a table.")
            node = child
        node[parts[-1]] = value
        origins[".".join(parts)] = f"environment variable {name}"

    try:
        return msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), merged, origins)) from None


def _config_path(config_file: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    if config_file is not None:
        return Path(config_file), True
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]), True
    return Path(DEFAULT_FILE), False


def _merge(into: dict[str, Any], data: Mapping[str, Any], origins: dict[str, str], origin: str, prefix: str) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value, origins, origin, f"{prefix}{key}.")
        else:
            into[key] = value
            origins[prefix + key] = origin


def _explain(message: str, merged: dict[str, Any], origins: dict[str, str]) -> str:
    msg, _, at = message.partition(" - at `$")
    path = at.rstrip("`").lstrip(".").replace("`", "")
    if msg.startswith("Object contains unknown field `"):
        name = msg.removeprefix("Object contains unknown field `").rstrip("`")
        key = f"{path}.{name}" if path else name
        known = ", ".join(d.key for d in settings_table())
        return f"Unknown setting {key!r} (from {origins.get(key, 'the config')}); known settings: {known}."
    value: Any = merged
    for part in path.split(".") if path else []:
        value = value.get(part) if isinstance(value, dict) else None
    origin = origins.get(path, "the config")
    value = shown(path, value)
    return f"Setting {path!r} has a bad value {value!r} (from {origin}): {msg[:1].lower()}{msg[1:]}."
