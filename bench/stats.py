"""How fast does the Stats API answer a dashboard? In-process and over HTTP, beside plain DuckDB.

    .venv/bin/python bench/stats.py                     # 10,000,000 events: long on 2 cores
    .venv/bin/python bench/stats.py --events 1000000    # a size a laptop run affords
    .venv/bin/python bench/stats.py --quick             # 200,000 events: a smoke test

1. Data (not timed): bench/transform.py's generator makes N bronze events over 30 days;
   their visitors are spread over 100 sites, `site-0` holding half of them. The models
   are built (a full refresh of the transform).
2. The overview of the largest site, as a dashboard asks it: the KPIs (visitors, visits,
   page views, bounce rate, visit duration) over the 30 days with the previous period,
   and the daily series of visitors and page views: three `POST /api/query` SQL
   statements. And the reports: the shop funnel, the experiments, retention, paths,
   attribution, affiliate revenue, e-commerce and restaurant menus.
3. Each is timed 20 times (after one warm-up), p50 and p95: in-process (the sandbox's
   `run`: views, limits, the query) and over HTTP (`clicklake web` on loopback, a bearer
   token), beside the same SQL in plain DuckDB over one Parquet file per table of the
   same rows (the ceiling, no Iceberg, no sandbox).

Targets (issue 14): overview p50 <= 150 ms and p95 <= 400 ms; every report p95 <= 1 s;
in-process <= 1.5x the plain DuckDB time. The script reports; it exits 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import httpx
import msgspec
from pyiceberg.catalog import Catalog

from clicklake.collect.metadata import Metadata, sites_table
from clicklake.config import TransformSettings
from clicklake.lake.catalog import open_catalog
from clicklake.lake.tables import ensure_tables
from clicklake.lake.views import register_view
from clicklake.query import experiments, funnels, stats
from clicklake.query.sandbox import Limits, Sandbox
from clicklake.transform import Transformer
from clicklake.web.accounts import Accounts
from clicklake.web.reports import REPORTS

try:  # run as a script, bench/ is on sys.path; imported as `bench.stats`, it is a package
    from transform import START, generate, load, loadavg
except ImportError:  # pragma: no cover (`transform` may be another package then, e.g. tests/transform)
    from bench.transform import START, generate, load, loadavg  # type: ignore[no-redef]

RUNS = 20
#: The requests of the overview page: KPIs beside the previous period's, and the daily series.
OVERVIEW = ("overview: KPIs, previous period", "overview: daily series")
#: The tables the timed queries read.
TABLES = (("silver", "events"), ("silver", "sessions"), ("gold", "fact_orders"), ("gold", "fact_affiliate_clicks"))
SITE = "site-0"
DAYS = 30
SPREAD = f"""UPDATE bronze SET site_id = CASE WHEN hash(user.visitor_id) % 2 = 0 THEN '{SITE}'
    ELSE 'site-' || (1 + hash(user.visitor_id) % 99) END"""


def queries() -> dict[str, tuple[str, str]]:
    """name → (path, body) of what a dashboard asks."""
    first = date.fromisoformat(START[:10])
    last = date.fromordinal(first.toordinal() + DAYS - 1)
    span = [str(first), str(last)]
    kpis = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
    body = {"site_ids": [SITE], "metrics": kpis, "date_range": span}
    return {
        "overview: KPIs, previous period": (
            "/api/query",
            msgspec.json.encode({**body, "compare": "previous_period"}).decode(),
        ),
        "overview: daily series": (
            "/api/query",
            msgspec.json.encode({**body, "metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]}).decode(),
        ),
        "report: top pages": (
            "/api/query",
            msgspec.json.encode({**body, "metrics": ["pageviews"], "dimensions": ["page"], "limit": 10}).decode(),
        ),
        "report: shop funnel": (
            "/api/funnel",
            msgspec.json.encode({"site_ids": [SITE], "date_range": span, "funnel": "shop"}).decode(),
        ),
        "report: experiments": (
            "/api/experiment",
            msgspec.json.encode({"site_ids": [SITE], "date_range": span}).decode(),
        ),
        **{
            f"report: {name}": (path, msgspec.json.encode({"site_ids": [SITE], "date_range": span, **extra}).decode())
            for name, path, extra in (
                ("weekly retention", "/api/retention", {"interval": "week", "periods": 4}),
                ("paths of /", "/api/paths", {"page": "/"}),
                ("first-touch attribution", "/api/attribution", {"model": "first"}),
                ("affiliates by link per day", "/api/affiliates", {"interval": "day"}),
                ("top products", "/api/ecommerce", {}),
                ("revenue per day", "/api/ecommerce", {"view": "revenue"}),
                ("QR scans per table", "/api/menus", {"by": "table"}),
            )
        },
    }


def sql_of(path: str, body: str) -> list[str]:
    """The statements a request runs for its figures (a comparison is a second one)."""
    if path == "/api/query":
        q = stats.parse(body.encode())
        if q.compare is None:
            return [stats.build_sql(q)]
        return [stats.build_sql(q), stats.build_sql(q, stats.previous_period(*q.date_range))]
    if path == "/api/funnel":
        return [funnels.build_sql(funnels.parse(body.encode()))]
    if path == "/api/experiment":
        return [experiments.build_sql(experiments.parse(body.encode()))]
    report = REPORTS[path]
    return [report.build_sql(report.parse(body.encode()))]


def timed(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    fn()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return statistics.median(seconds) * 1000, seconds[int(0.95 * (runs - 1) + 0.5)] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events (default 10M)")
    parser.add_argument("--quick", action="store_true", help="200,000 events: a smoke test")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="build the lake in DIR and keep it; a later run with DIR reuses it"
    )
    parser.add_argument("--only", metavar="TEXT", default="", help="time only the queries whose name holds TEXT")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed runs of each query (default {RUNS})")
    args = parser.parse_args()
    runs = args.runs
    n = 200_000 if args.quick else args.events
    work = args.keep or Path(tempfile.mkdtemp(prefix="clicklake-bench-stats-"))
    work.mkdir(parents=True, exist_ok=True)
    reused = kept(work)
    print(
        f"clicklake Stats API benchmark: {platform.python_implementation()} {platform.python_version()}, "
        f"duckdb {duckdb.__version__}, {os.cpu_count()} CPUs, "
        + (f"the lake kept in {work}" if reused else f"{n:,} events, in {work}")
    )
    proc = None
    try:
        data = work / "data"
        catalog = open_catalog(data)
        if not reused:
            build_lake(work, data, catalog, n)
        token = _token(work, data)

        # the ceiling: each table read as one Parquet file, plain DuckDB views of the same names
        plain = duckdb.connect(":memory:")
        plain.execute("SET TimeZone = 'UTC'")
        plain.execute("CREATE SCHEMA silver; CREATE SCHEMA gold")
        sandbox = Sandbox(catalog, Limits(timeout_s=60, memory_limit="2GB"))
        for ns, table in TABLES:
            out = work / f"{ns}.{table}.parquet"
            if out.exists():
                plain.execute(f"CREATE VIEW {ns}.{table} AS SELECT * FROM read_parquet('{out}')")
                continue
            whole = duckdb.connect(":memory:")
            whole.execute(f"CREATE SCHEMA {ns}")
            register_view(whole, ns, table, catalog.load_table((ns, table)))
            whole.execute(f"COPY (SELECT * FROM {ns}.{table}) TO '{out}' (FORMAT parquet)")
            whole.close()
            plain.execute(f"CREATE VIEW {ns}.{table} AS SELECT * FROM read_parquet('{out}')")

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from conftest import kill_server, start_server

        proc, base = start_server(work, command="web", env={"CLICKLAKE_DATA": str(data)})
        client = httpx.Client(base_url=base, trust_env=False, timeout=60, headers={"Authorization": f"Bearer {token}"})

        print(f"load average: {loadavg()}\n")
        print(f"{'query':<34} {'in-process p50/p95 ms':>22} {'HTTP p50/p95 ms':>18} {'DuckDB p50/p95 ms':>19}  x")
        for name, (path, body) in queries().items():
            if args.only not in name:
                continue
            sqls = sql_of(path, body)
            inproc = timed(lambda sqls=sqls: [sandbox.run([SITE], sql) for sql in sqls], runs)
            http = timed(lambda path=path, body=body: client.post(path, content=body).raise_for_status(), runs)
            ceiling = timed(lambda sqls=sqls: [plain.sql(sql).to_arrow_table() for sql in sqls], runs)
            print(
                f"{name:<34} {inproc[0]:>10.1f} /{inproc[1]:>8.1f} {http[0]:>8.1f} /{http[1]:>7.1f} "
                f"{ceiling[0]:>9.1f} /{ceiling[1]:>7.1f}  {inproc[0] / ceiling[0]:.2f}"
            )
        # the overview page as a browser asks it: its requests at once; their statements at once in-process
        page = [queries()[k] for k in OVERVIEW]
        statements = [sql for path, body in page for sql in sql_of(path, body)]
        with ThreadPoolExecutor(len(statements)) as pool:
            inproc = timed(lambda: list(pool.map(lambda sql: sandbox.run([SITE], sql), statements)), runs)
            http = timed(
                lambda: list(pool.map(lambda pb: client.post(pb[0], content=pb[1]).raise_for_status(), page)), runs
            )
            ceiling = timed(
                lambda: list(pool.map(lambda sql: plain.cursor().sql(sql).to_arrow_table(), statements)), runs
            )
        name = "overview page (all at once)"
        print(
            f"{name:<34} {inproc[0]:>10.1f} /{inproc[1]:>8.1f} {http[0]:>8.1f} /{http[1]:>7.1f} "
            f"{ceiling[0]:>9.1f} /{ceiling[1]:>7.1f}  {inproc[0] / ceiling[0]:.2f}"
        )
        client.close()
        print("\ntargets: overview p50 <= 150 ms, p95 <= 400 ms; reports p95 <= 1000 ms; in-process <= 1.5x DuckDB (x)")
    finally:
        if proc is not None:
            kill_server(proc)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def kept(work: Path) -> bool:
    """Whether `work` holds a lake built by an earlier run (of this bench or bench/dashboard.py)."""
    return (work / "data" / "metadata.sqlite3").exists()


def _token(work: Path, data: Path) -> str:
    """An admin's API token, kept in `work` for a later run; made (with its user) when there is none."""
    saved = work / "token"
    if saved.exists():
        return saved.read_text()
    with Metadata(f"sqlite:///{data / 'metadata.sqlite3'}") as md:
        accounts = Accounts(md)
        email = f"bench-{os.getpid()}@example.org"
        accounts.create_user(email, admin=True)
        _, token = accounts.create_token(email, "admin")
    saved.write_text(token)
    return token


def build_lake(work: Path, data: Path, catalog: Catalog, n: int) -> None:
    """Generate N events over `DAYS` days into a new lake in `data`, build the models, and add the site `SITE`."""
    ensure_tables(catalog)
    gen = duckdb.connect(str(work / "generate.duckdb"))
    gen.execute("SET TimeZone = 'UTC'")
    generate(gen, 0, n, DAYS, START)
    gen.execute(SPREAD)
    load(gen, catalog, "bench")
    gen.close()
    (work / "generate.duckdb").unlink()
    report = Transformer(catalog, TransformSettings(), data / "transform").run(full_refresh=True)
    assert report.outcome == "published", report.blocked
    print(f"models built in {report.seconds:.1f} s")

    with Metadata(f"sqlite:///{data / 'metadata.sqlite3'}") as md, md.engine.begin() as con:
        con.execute(
            sites_table.insert().values(
                site_id=SITE,
                name="bench",
                domain="bench.example",
                write_key="wk_bench",
                allowed_origins=[],
                honor_dnt=True,
                honor_gpc=True,
                created_ts=0,
            )
        )


if __name__ == "__main__":
    sys.exit(main())
