"""How good and how fast are recommendations? The model beside popularity and `implicit`, then the server.

    .venv/bin/python bench/recommend.py            # both data sets, latency at 1,000 req/s for 10 s
    .venv/bin/python bench/recommend.py --quick    # smaller data sets and a 3 s latency run
    .venv/bin/python bench/recommend.py --shop-size 19   # the demo shop as `clicklake up` sends it

1. Two data sets of product interactions (views, carts, purchases):
   - `demo shop`: the demo's own traffic generator (`clicklake.demo.traffic`, seeded), its shop grown
     to `--shop-size` products (default 300; the demo itself has 19, where popularity's top 10 is half
     the shop) with the same companions that shoppers open next (`clicklake.demo.catalogue`);
   - `long tail`: a synthetic catalog of 20,000 products in 1,000 themes of Zipf popularity;
     each user favours two themes and comes back for several sessions.
2. Hold-out: in every session with at least two product interactions whose last one is a
   product not seen earlier in the session, that last interaction is held out; the model is
   trained on everything else (the same SQL models the transform runs, `transform/models/`,
   in DuckDB, over a `silver.events` of these rows), and asked with the session's earlier
   products (the `?user=` scoring: most recent first, weights decayed). Every method leaves
   out the session's earlier products. hit-rate@10: share of held-out products in the top 10;
   NDCG@10 with one relevant item: 1 / log2(rank + 1).
3. Baselines in the same run: popularity (the model's own decayed popularity table) and
   `implicit` (ALS, 64 factors, and item-item cosine, K=50) trained on the same rows, a session
   per row.
4. Latency: the long-tail model written to a real Iceberg catalog, `clicklake web` on
   loopback, requests with the site's read key (half ?product=, half ?user=) sent open-loop at
   1,000 per second over 32 connections for a bounded time; latency counts from each request's
   scheduled time, so a stalled server is not hidden.
5. Memory: an index of 100,000 products with 50 neighbours each (and 100,000 users with 30
   products each), measured with tracemalloc.

Targets (issue 18): hit-rate@10 >= 2x popularity's on both data sets; p99 <= 10 ms at 1,000 req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from clicklake.recommend.index import HISTORY, RECENCY, SiteIndex, build_index
from clicklake.transform.recommendations import set_variables
from clicklake.transform.sql import model_sql

K = 10
SITE = "bench"
STRENGTH = {"product_view": 1, "add_to_cart": 3, "purchase": 5}
ORDER_ITEM = pa.struct([pa.field("product_id", pa.string())])
EVENTS = pa.schema(
    [
        ("site_id", pa.string()),
        ("session_id", pa.string()),
        ("visitor_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("event_type", pa.string()),
        ("product_id", pa.string()),
        ("order_items", pa.list_(ORDER_ITEM)),
        ("is_bot", pa.bool_()),
        ("is_duplicate_order", pa.bool_()),
        ("event_dt", pa.date32()),
    ]
)
START = datetime(2026, 1, 1, tzinfo=UTC)  # data's own dates: the model counts ages from its newest event


@dataclass
class Row:
    session: str
    visitor: str
    ts: datetime
    kind: str
    products: list[str]


@dataclass
class DataSet:
    name: str
    rows: list[Row] = field(default_factory=list)

    @property
    def products(self) -> int:
        return len({p for r in self.rows for p in r.products})

    @property
    def sessions(self) -> int:
        return len({r.session for r in self.rows})


# -- data sets ----------------------------------------------------------------------------


def demo_shop(sessions: int, size: int, seed: int = 7) -> DataSet:
    """The demo traffic generator's shop sessions, its shop grown to `size` products (other scenarios
    drawn too, and skipped)."""
    from clicklake.demo.traffic import DemoLinks, Traffic

    traffic = Traffic("https://demo.example", DemoLinks(affiliate={}, qr={}), seed=seed, shop_size=size)
    skus = {item.sku for item in traffic.catalogue.items}
    out = DataSet(f"demo shop ({size} products)")
    span = timedelta(days=30) / sessions
    drawn = 0
    while drawn < sessions:
        try:
            s = traffic.session()
        except KeyError:  # a scenario that needs the demo's tracked links: not a shop visit
            continue
        drawn += 1
        if s.scenario != "shop" or s.visitor.kind == "bot":
            continue
        v = s.visitor
        visitor = v.user_id_hash or v.anonymous_id or f"anon-{drawn}"
        start = START + span * drawn
        for step in s.steps:
            for offset, event in getattr(step, "events", []):
                kind = event.get("event_type")
                try:  # the generator breaks a few events on purpose: the collector would refuse them
                    if kind in ("product_view", "add_to_cart"):
                        products = [str(event["product"]["product_id"])]
                    elif kind == "purchase":
                        products = [str(i["product_id"]) for i in event["order"]["items"]]
                    else:
                        continue
                    sid = str(event["session"]["session_id"])
                except (KeyError, TypeError):
                    continue
                if not set(products) <= skus:  # a broken event's made-up product: refused at the door
                    continue
                out.rows.append(Row(sid, visitor, start + timedelta(milliseconds=offset), kind, products))
    return out


def long_tail(users: int, seed: int = 11, items: int = 20_000, theme_size: int = 20) -> DataSet:
    """Themes of products with Zipf popularity; users with two favourite themes and several sessions."""
    rng = random.Random(seed)
    themes = items // theme_size
    theme_weights = [1 / (t + 1) ** 1.1 for t in range(themes)]
    within = [1 / (i + 1) ** 1.2 for i in range(theme_size)]
    global_weights = [theme_weights[p // theme_size] * within[p % theme_size] for p in range(items)]
    out = DataSet("long tail")
    for u in range(users):
        favourites = rng.choices(range(themes), theme_weights, k=2)
        t = START + timedelta(days=rng.uniform(0, 50))
        for s in range(1 + min(int(rng.expovariate(1 / 2.5)), 12)):
            sid = f"s{u}-{s}"
            theme = rng.choice(favourites) if rng.random() < 0.85 else rng.choices(range(themes), theme_weights)[0]
            cart: list[str] = []
            for _ in range(rng.randint(2, 7)):
                if rng.random() < 0.85:
                    p = theme * theme_size + rng.choices(range(theme_size), within)[0]
                else:
                    p = rng.choices(range(items), global_weights)[0]
                product = f"p{p}"
                t += timedelta(seconds=rng.uniform(10, 120))
                out.rows.append(Row(sid, f"u{u}", t, "product_view", [product]))
                if rng.random() < 0.15:
                    out.rows.append(Row(sid, f"u{u}", t + timedelta(seconds=5), "add_to_cart", [product]))
                    cart.append(product)
            if cart and rng.random() < 0.4:
                t += timedelta(seconds=60)
                out.rows.append(Row(sid, f"u{u}", t, "purchase", cart))
            t += timedelta(days=rng.uniform(0.5, 6))
    return out


# -- hold-out -----------------------------------------------------------------------------


@dataclass
class Case:
    session: str
    history: list[tuple[str, int]]  # (product, strength), most recent first, distinct
    target: str


def split(data: DataSet) -> tuple[list[Row], list[Case]]:
    """Training rows, and one case per session whose last interaction is a product new to it."""
    by_session: dict[str, list[int]] = {}
    for i, r in enumerate(data.rows):
        by_session.setdefault(r.session, []).append(i)
    held: set[int] = set()
    cases = []
    for sid, idx in by_session.items():
        idx.sort(key=lambda i: data.rows[i].ts)
        last = data.rows[idx[-1]]
        if len(idx) < 2 or len(last.products) != 1:
            continue
        earlier: dict[str, tuple[int, int]] = {}
        for n, i in enumerate(idx[:-1]):
            for p in data.rows[i].products:
                strength = max(STRENGTH[data.rows[i].kind], earlier.get(p, (0, 0))[0])
                earlier[p] = (strength, n)
        if not earlier or last.products[0] in earlier:
            continue
        history = sorted(earlier.items(), key=lambda kv: -kv[1][1])
        cases.append(Case(sid, [(p, s) for p, (s, _) in history], last.products[0]))
        held.add(idx[-1])
    return [r for i, r in enumerate(data.rows) if i not in held], cases


def events_table(rows: list[Row]) -> pa.Table:
    cols: dict[str, list[Any]] = {name: [] for name in EVENTS.names}
    for r in rows:
        cols["site_id"].append(SITE)
        cols["session_id"].append(r.session)
        cols["visitor_id"].append(r.visitor)
        cols["ts"].append(r.ts)
        cols["event_type"].append(r.kind)
        cols["product_id"].append(r.products[0] if r.kind != "purchase" else None)
        cols["order_items"].append([{"product_id": p} for p in r.products] if r.kind == "purchase" else None)
        cols["is_bot"].append(False)
        cols["is_duplicate_order"].append(False)
        cols["event_dt"].append(r.ts.date())
    return pa.table(cols, schema=EVENTS)


def train(rows: list[Row]) -> tuple[SiteIndex, dict[str, pa.Table], float]:
    """The transform's recommendation models over these rows, and the index the server would hold."""
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA silver")
    con.register("events_rows", events_table(rows))
    con.execute("CREATE VIEW silver.events AS SELECT * FROM events_rows")
    set_variables(con)
    con.execute("CREATE TEMP TABLE rec_interactions AS " + model_sql("_rec_interactions"))
    tables = {
        name: con.sql(model_sql(name)).to_arrow_table()
        for name in ("gold_item_neighbours", "gold_item_popularity", "gold_user_items")
    }
    con.close()
    index = build_index(tables["gold_item_neighbours"], tables["gold_item_popularity"], tables["gold_user_items"])
    return index.sites[SITE], tables, time.perf_counter() - started


# -- scoring ------------------------------------------------------------------------------


def score(ranked: list[list[str]], cases: list[Case]) -> tuple[float, float, float]:
    """hit-rate@10, NDCG@10 and hit-rate@3."""
    hits, gain, top3 = 0, 0.0, 0
    for top, case in zip(ranked, cases, strict=True):
        if case.target in top[:K]:
            hits += 1
            gain += 1 / math.log2(top.index(case.target) + 2)
            top3 += case.target in top[:3]
    return hits / len(cases), gain / len(cases), top3 / len(cases)


def model_lists(site: SiteIndex, cases: list[Case]) -> list[list[str]]:
    out = []
    for case in cases:
        known = [(site.pos[p], s) for p, s in case.history if p in site.pos][:HISTORY]
        items = np.array([i for i, _ in known], np.int32)
        weights = np.array([s * RECENCY**n for n, (_, s) in enumerate(known)], np.float32)
        out.append([i.product_id for i in site.from_items(items, weights, {i for i, _ in known}, K)])
    return out


def popularity_lists(site: SiteIndex, cases: list[Case]) -> list[list[str]]:
    ranked = [site.ids[p] for p in site.popular.tolist()]
    out = []
    for case in cases:
        seen = {p for p, _ in case.history}
        out.append([p for p in ranked[: K + len(seen)] if p not in seen][:K])
    return out


def implicit_lists(rows: list[Row], cases: list[Case]) -> dict[str, tuple[list[list[str]], float]]:
    """ALS and item-item cosine of `implicit`, a session per row, trained on the same rows."""
    from implicit.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import CosineRecommender
    from threadpoolctl import threadpool_limits

    sessions: dict[str, int] = {}
    products: dict[str, int] = {}
    data: dict[tuple[int, int], float] = {}
    for r in rows:
        s = sessions.setdefault(r.session, len(sessions))
        for p in r.products:
            key = (s, products.setdefault(p, len(products)))
            data[key] = data.get(key, 0.0) + STRENGTH[r.kind]
    keys = list(data)
    matrix = sp.csr_matrix(
        ([data[k] for k in keys], ([k[0] for k in keys], [k[1] for k in keys])),
        shape=(len(sessions), len(products)),
        dtype=np.float32,
    )
    names = list(products)
    ids = np.array([sessions[c.session] for c in cases])
    out = {}
    for label, model in (
        ("implicit ALS (64 factors)", AlternatingLeastSquares(factors=64, iterations=15, random_state=1)),
        ("implicit item-item cosine", CosineRecommender(K=50)),
    ):
        started = time.perf_counter()
        with threadpool_limits(1, "blas"):  # what implicit asks for its ALS
            model.fit(matrix, show_progress=False)
            found, _ = model.recommend(ids, matrix[ids], N=K, filter_already_liked_items=True)
        out[label] = ([[names[i] for i in row if i >= 0] for row in found], time.perf_counter() - started)
    return out


# -- latency ------------------------------------------------------------------------------


def build_lake(data_dir: Path, tables: dict[str, pa.Table]) -> tuple[str, str]:
    """A real catalog holding the model's tables, and a site with a read key: (site id, read key)."""
    from clicklake.collect.metadata import Metadata
    from clicklake.config import Settings
    from clicklake.lake.catalog import open_catalog
    from clicklake.lake.tables import ensure_tables
    from clicklake.recommend import keys
    from clicklake.transform.tables import TABLES

    settings = Settings(data=str(data_dir))
    data_dir.mkdir(parents=True, exist_ok=True)
    with Metadata.open(settings) as md:
        site = md.create_site("Bench shop", "shop.example")
        keys.create_tables(md.engine)
        read_key = keys.ensure_read_key(md.engine, site.site_id)
    catalog = open_catalog(data_dir)
    ensure_tables(catalog)
    lake = ensure_tables(catalog, TABLES)
    for name, model in (
        ("gold.item_neighbours", "gold_item_neighbours"),
        ("gold.item_popularity", "gold_item_popularity"),
        ("gold.user_items", "gold_user_items"),
    ):
        t = tables[model].set_column(0, "site_id", pa.array([site.site_id] * tables[model].num_rows, pa.string()))
        table = lake[name]
        table.append(t.cast(table.schema().as_arrow()))
    return site.site_id, read_key


async def _load(port: int, paths: list[str], rate: float, seconds: float, connections: int) -> tuple[list[float], int]:
    """Open-loop GETs at `rate` per second: latencies (ms, from the scheduled time) and errors."""
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for n in counter:
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(f"GET {paths[n % len(paths)]} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.lower().split(b"\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in lines if line.startswith(b"content-length"))
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - due) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies, errors


def latency(
    tables: dict[str, pa.Table], data: DataSet, rate: float, seconds: float, work: Path
) -> tuple[dict[str, float], str]:
    data_dir = work / "data"
    site_id, read_key = build_lake(data_dir, tables)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKLAKE_")}
    env.update(CLICKLAKE_DATA=str(data_dir), CLICKLAKE_LOG_LEVEL="warning")
    exe = str(Path(sys.executable).parent / "clicklake")
    log = (work / "web.log").open("w")
    server = subprocess.Popen([exe, "web", "--port", str(port)], env=env, stdout=log, stderr=log, cwd=work)
    try:
        rng = random.Random(3)
        products = sorted({p for r in data.rows for p in r.products})
        visitors = sorted({r.visitor for r in data.rows})
        paths = []
        for n in range(5000):
            ask = f"product={rng.choice(products)}" if n % 2 == 0 else f"user={rng.choice(visitors)}"
            paths.append(f"/api/recommendations?site={site_id}&{ask}&k=10&key={read_key}")
        import httpx

        deadline = time.monotonic() + 60
        while True:  # ready, and the index loaded (the first request reads it)
            try:
                if httpx.get(f"http://127.0.0.1:{port}{paths[0]}", timeout=30, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"clicklake web did not answer: {(work / 'web.log').read_text()}")
            time.sleep(0.2)
        asyncio.run(_load(port, paths, rate, 1.0, 32))  # warm-up
        cpu_before = _cpu_seconds(server.pid)
        started = time.perf_counter()
        lat, errors = asyncio.run(_load(port, paths, rate, seconds, 32))
        took = time.perf_counter() - started
        cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    figures = {
        "requests": len(lat),
        "errors": errors,
        "achieved": len(lat) / took,
        "p50": pct(0.5),
        "p99": pct(0.99),
        "max": lat[-1],
        "cpu_ms": 1000 * cpu / max(1, len(lat)),
    }
    return figures, site_id


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- memory -------------------------------------------------------------------------------


def index_memory(
    items: int = 100_000, neighbours: int = 50, users: int = 100_000, per_user: int = 30
) -> tuple[float, float]:
    """MB held by an index of `items` products with `neighbours` each, then with `users` histories added."""
    rng = np.random.default_rng(5)
    ids = np.array([f"p{i:07d}" for i in range(items)], dtype=object)
    n = items * neighbours
    nb = pa.table(
        {
            "site_id": pa.array(["s"] * n),
            "product_id": pa.array(np.repeat(ids, neighbours)),
            "neighbour_id": pa.array(ids[rng.integers(0, items, n)]),
            "score": pa.array(rng.random(n)),
            "rank": pa.array(np.tile(np.arange(1, neighbours + 1), items)),
        }
    )
    pop = pa.table(
        {
            "site_id": pa.array(["s"] * 200),
            "product_id": pa.array(ids[:200]),
            "score": pa.array(rng.random(200)),
            "rank": pa.array(np.arange(1, 201)),
            "as_of_ts": pa.array([START] * 200, pa.timestamp("us", tz="UTC")),
        }
    )
    empty_users = pa.table(
        {
            "site_id": pa.array([], pa.string()),
            "visitor_id": pa.array([], pa.string()),
            "product_id": pa.array([], pa.string()),
            "weight": pa.array([], pa.float64()),
            "purchased": pa.array([], pa.bool_()),
            "last_ts": pa.array([], pa.timestamp("us", tz="UTC")),
        }
    )

    def measured(users_table: pa.Table) -> float:
        tracemalloc.start()
        index = build_index(nb, pop, users_table)
        before = tracemalloc.take_snapshot()
        del before
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del index
        return held / 1e6

    plain = measured(empty_users)
    m = users * per_user
    user_rows = pa.table(
        {
            "site_id": pa.array(["s"] * m),
            "visitor_id": pa.array(np.repeat(np.array([f"u{i:07d}" for i in range(users)], dtype=object), per_user)),
            "product_id": pa.array(ids[rng.integers(0, items, m)]),
            "weight": pa.array(rng.random(m)),
            "purchased": pa.array(rng.random(m) < 0.05),
            "last_ts": pa.array([START] * m, pa.timestamp("us", tz="UTC")),
        }
    )
    with_users = measured(user_rows)
    return plain, with_users


# -- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller data sets, a 3 s latency run")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second (default 1000)")
    parser.add_argument("--shop-size", type=int, default=300, help="products of the demo shop (the demo has 19)")
    parser.add_argument("--seconds", type=float, default=None, help="length of the latency run (default 10, quick 3)")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    shop = demo_shop(6_000 if args.quick else 40_000, args.shop_size)
    tail = long_tail(3_000 if args.quick else 15_000)
    load = os.getloadavg()[0]
    print(f"recommendation bench on {os.cpu_count()} cores (load average {load:.1f} at the start); k = {K}")
    rows_out = []
    tail_tables: dict[str, pa.Table] = {}
    for data in (shop, tail):
        training, cases = split(data)
        site, tables, trained_s = train(training)
        if data is tail:
            tail_tables = tables
        print(
            f"\n{data.name}: {len(data.rows):,} interactions, {data.sessions:,} sessions, {data.products:,} products; "
            f"{len(cases):,} held-out cases; model built in {trained_s:.1f} s "
            f"({tables['gold_item_neighbours'].num_rows:,} neighbour rows)"
        )
        results = [
            ("clicklake model (neighbours)", *score(model_lists(site, cases), cases)),
            ("popularity", *score(popularity_lists(site, cases), cases)),
        ]
        for label, (lists, took) in implicit_lists(training, cases).items():
            results.append((f"{label} [{took:.1f} s]", *score(lists, cases)))
        pop_hr = results[1][1]
        print(f"{'method':<40} {'HR@10':>7} {'NDCG@10':>8} {'x pop HR':>9} {'HR@3':>7}")
        for label, hr, ndcg, hr3 in results:
            print(f"{label:<40} {hr:>7.3f} {ndcg:>8.3f} {hr / pop_hr if pop_hr else float('inf'):>9.2f} {hr3:>7.3f}")
        model_hr = results[0][1]
        rows_out.append((data.name, model_hr, pop_hr, len({p for r in data.rows for p in r.products})))
    work = Path(tempfile.mkdtemp(prefix="clicklake-rec-bench-"))
    try:
        figures, _ = latency(tail_tables, tail, args.rate, seconds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nlatency: clicklake web on loopback, {args.rate:,.0f} req/s open-loop for {seconds:g} s over 32 connections "
        f"(long-tail index, read key, half ?product= half ?user=)"
    )
    print(
        f"  {figures['requests']:,.0f} requests, {figures['errors']:.0f} errors, {figures['achieved']:,.0f} req/s; "
        f"p50 {figures['p50']:.2f} ms, p99 {figures['p99']:.2f} ms, max {figures['max']:.1f} ms"
    )
    print(
        f"  server CPU {figures['cpu_ms']:.2f} ms per request (one process, one core: at most "
        f"{1000 / figures['cpu_ms']:,.0f} req/s when it has the core to itself)"
    )
    print(f"  load average at the end of the run: {os.getloadavg()[0]:.1f}")
    plain, with_users = index_memory()
    print(
        f"\nmemory: index of 100,000 products x 50 neighbours: {plain:.0f} MB "
        f"(with 100,000 users x 30 recent products: {with_users:.0f} MB)"
    )
    print("\ntargets:")
    for name, model_hr, pop_hr, n_products in rows_out:
        ok = model_hr >= 2 * pop_hr
        small = n_products <= 2 * K
        note = f" (only {n_products} products: popularity's top {K} is half the shop)" if small and not ok else ""
        print(f"  {name}: HR@10 {model_hr:.3f} vs 2x popularity {2 * pop_hr:.3f}: {'met' if ok else 'NOT met'}{note}")
    p99_ok = figures["p99"] <= 10 and figures["errors"] == 0
    print(f"  p99 <= 10 ms at {args.rate:,.0f} req/s: {figures['p99']:.2f} ms, {'met' if p99_ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
