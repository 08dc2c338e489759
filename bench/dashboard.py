"""How long until a dashboard page is fully drawn? Navigation to the last figure, in headless Chromium.

    .venv/bin/python bench/dashboard.py                     # 10,000,000 events: long on 2 cores
    .venv/bin/python bench/dashboard.py --events 1000000    # a size a laptop run affords
    .venv/bin/python bench/dashboard.py --quick             # 200,000 events: a smoke test

1. Data (not timed): the lake of bench/stats.py (bench/transform.py's generator, N events
   over 30 days, 100 sites, `site-0` holding half), the models built, `clicklake web` on
   loopback, an admin logged in through the login page.
2. Each page (overview, funnels, experiments, events, retention, paths, revenue, menus) of `site-0` over the 30 days is
   opened 10 times cold and 10 times warm (after one warm-up): the time from the navigation to the moment no
   request is under way, no tile says it is loading and every chart is drawn, p50 and p95.
   - cold: the first load after the lake changed. Before each, every lake table gets a commit (a table
     property, which writes a new metadata file as a new snapshot does, untimed): the query layer's kept
     answers and warm connections, keyed by the tables' metadata files, are then of no use, and every
     statement is planned and run again.
   - warm: the same page again with the lake unchanged, as a reload or a colleague's visit: the kept
     answers of `clicklake.query.answers` answer from memory.

Targets (issue 15): overview <= 1 s, every page <= 2 s (p50), cold and warm shown apart. The script
reports; it exits 0.
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
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from pyiceberg.catalog import Catalog

from clicklake.collect.metadata import Metadata
from clicklake.lake.catalog import open_catalog
from clicklake.query.sandbox import NAMESPACES
from clicklake.web.accounts import Accounts

try:  # run as a script, bench/ is on sys.path; imported as `bench.dashboard`, it is a package
    from stats import DAYS, SITE, build_lake, kept
    from transform import START, loadavg
except ImportError:  # pragma: no cover
    from bench.stats import DAYS, SITE, build_lake, kept  # type: ignore[no-redef]
    from bench.transform import START, loadavg  # type: ignore[no-redef]

RUNS = 10
CHROMIUM = "/usr/bin/chromium"
#: The page is drawn: nothing under way, no tile loading, every chart drawn, the page's heading shown.
DRAWN = """() => !document.documentElement.hasAttribute('data-loading')
    && document.querySelector('#main h1') && !document.querySelector('.spinner')
    && [...document.querySelectorAll('.chart-box')].every((b) => b.dataset.drawn)"""
PAGES = {
    "overview": "/",
    "funnels": "/funnels",
    "experiments": "/experiments",
    "events": "/events",
    "retention": "/retention",
    "paths": "/paths",
    "revenue": "/revenue",
    "menus": "/menus",
}
TARGETS = {"overview": 1000.0}
TARGET_OTHER = 2000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="events (default 10M)")
    parser.add_argument("--quick", action="store_true", help="200,000 events: a smoke test")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="the lake of `bench/stats.py --keep DIR`: reuse it, or build it there"
    )
    args = parser.parse_args()
    n = 200_000 if args.quick else args.events
    work = args.keep or Path(tempfile.mkdtemp(prefix="clicklake-bench-dashboard-"))
    reused = kept(work)
    print(
        f"clicklake dashboard benchmark: {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, " + (f"the lake kept in {work}" if reused else f"{n:,} events, in {work}")
    )
    proc = None
    try:
        data = work / "data"
        catalog = open_catalog(data)
        if not reused:
            build_lake(work, data, catalog, n)
        with Metadata(f"sqlite:///{data / 'metadata.sqlite3'}") as md:
            user, password = Accounts(md).create_user(f"dashboard-{os.getpid()}@example.org", admin=True)
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from conftest import kill_server, start_server

        proc, base = start_server(work, command="web", env={"CLICKLAKE_DATA": str(data)})
        start = date.fromisoformat(START[:10])
        view = f"site={SITE}&period=custom&from={start}&to={start + timedelta(days=DAYS - 1)}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            # the condition is evaluated in the page, which the dashboard's CSP (no eval) would refuse
            page = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{base}/login")
            page.get_by_label("E-mail").fill(user.email)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_function(DRAWN, polling="raf", timeout=120_000)
            print(f"load average: {loadavg()}\n")
            print(f"{'page':<14} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9} {'target p50':>11}")
            tables = [t for ns in NAMESPACES if (ns,) in catalog.list_namespaces() for t in catalog.list_tables(ns)]

            def load(path: str) -> float:
                t0 = time.perf_counter()
                page.goto(f"{base}{path}?{view}")
                page.wait_for_function(DRAWN, polling="raf", timeout=120_000)
                return (time.perf_counter() - t0) * 1000

            for name, path in PAGES.items():
                load(path)  # warm-up: the browser's cache of the scripts
                cold = []
                for run in range(RUNS):
                    touch(catalog, tables, run)
                    cold.append(load(path))
                warm = [load(path) for _ in range(RUNS)]
                target = TARGETS.get(name, TARGET_OTHER)
                print(f"{name:<14} {_p(cold, 50):>9.0f} {_p(cold, 95):>9.0f} {_p(warm, 50):>9.0f} {_p(warm, 95):>9.0f} "
                      f"{target:>11.0f}")  # fmt: skip
            browser.close()
    finally:
        if proc is not None:
            kill_server(proc)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def touch(catalog: Catalog, tables: list[tuple[str, ...]], run: int) -> None:
    """A commit to each table (a property): a new metadata file, which is what the query layer keys its
    kept answers and connections on, as it does after the loader's or the transform's next snapshot."""
    for ident in tables:
        with catalog.load_table(ident).transaction() as tx:
            tx.set_properties({"clicklake.bench.touched": str(run)})


def _p(times: list[float], pct: int) -> float:
    ordered = sorted(times)
    if pct == 50:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    sys.exit(main())
