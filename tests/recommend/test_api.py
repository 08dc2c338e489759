"""Recommendations end to end: events through the real collector of `clicklake up`, the transform run by
`clicklake transform --once` (another process), answers from the server's HTTP API, which finds the
transform's new snapshots by itself."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from clicklake.lake.catalog import open_catalog
from clicklake.query.engine import query
from clicklake.recommend import keys
from clicklake.web.accounts import Accounts
from clicklake.wiring import transformer_from_settings
from conftest import run_clicklake

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ORIGIN = "https://shop.example"


def _event(kind: str, visitor: str, session: str, **payload: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "event_type": kind,
        "ts": now,
        "user": {"anonymous_id": visitor, "consent": {"analytics": True}},
        "session": {"session_id": session},
        **payload,
    }


def view(visitor: str, session: str, product: str) -> dict[str, Any]:
    return _event("product_view", visitor, session, product={"product_id": product})


def purchase(visitor: str, session: str, *products: str) -> dict[str, Any]:
    order = {
        "order_id": uuid.uuid4().hex[:12],
        "revenue_minor": 1000 * len(products),
        "currency": "EUR",
        "items": [{"product_id": p, "quantity": 1} for p in products],
    }
    return _event("purchase", visitor, session, order=order)


class Shop:
    """A site on a shared `clicklake up`, with its read key and a stats token."""

    def __init__(self, base: str, data: Path, site_id: str, write_key: str, read_key: str, token: str) -> None:
        self.base, self.data, self.site_id = base, data, site_id
        self.write_key, self.read_key, self.token = write_key, read_key, token
        self.http = httpx.Client(base_url=base, trust_env=False, timeout=10.0)

    def send(self, *events: dict[str, Any]) -> None:
        """Through the collector; waits until the loader has committed them to bronze."""
        before = self.bronze_rows()
        r = self.http.post("/v1/events", json=list(events), headers={"X-Write-Key": self.write_key, "User-Agent": UA})
        assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text
        deadline = time.monotonic() + 20
        while self.bronze_rows() < before + len(events):
            assert time.monotonic() < deadline, "the loader did not commit the events"
            time.sleep(0.2)

    def bronze_rows(self) -> int:
        catalog = open_catalog(self.data)
        sql = f"select count(*) as n from bronze.events where site_id = '{self.site_id}'"
        return int(query(catalog, sql).to_pylist()[0]["n"])

    def transform(self) -> None:
        """One run of the real transformer, in this process: the server is another process."""
        report = transformer_from_settings(Settings(data=str(self.data))).run()
        assert report.outcome in ("published", "up_to_date"), report

    def recommend(self, headers: dict[str, str] | None = None, **params: str) -> httpx.Response:
        return self.http.get("/api/recommendations", params={"site": self.site_id, **params}, headers=headers)

    def with_key(self, **params: str) -> dict[str, Any]:
        r = self.recommend(key=self.read_key, **params)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def products(body: dict[str, Any]) -> list[str]:
    return [i["product_id"] for i in body["items"]]


@pytest.fixture(scope="module")
def shop(collector: tuple[str, Path]) -> Iterator[Shop]:
    base, data = collector
    with Metadata.open(Settings(data=str(data))) as md:
        site = md.create_site("Shop", "shop.example")
        other = md.create_site("Other", "other.example")
        keys.create_tables(md.engine)
        read_key = keys.ensure_read_key(md.engine, site.site_id)
        accounts = Accounts(md)
        accounts.create_user("ana@example.org")
        accounts.add_member(site.site_id, "ana@example.org", "viewer")
        accounts.create_user("bo@example.org")
        accounts.add_member(other.site_id, "bo@example.org", "viewer")
        _, token = accounts.create_token("ana@example.org", "stats")
        _, foreign = accounts.create_token("bo@example.org", "stats")
    s = Shop(base, data, site.site_id, site.write_key, read_key, token)
    s.foreign_token = foreign  # type: ignore[attr-defined]
    events = []
    # the pattern: tent goes with stove, in five sessions of five visitors; bag is everyone's bestseller
    for i in range(5):
        events += [view(f"a{i}", f"sa{i}", "tent"), view(f"a{i}", f"sa{i}", "stove")]
    # (14 sessions) and cap the runner-up (10): a tie would be broken by microseconds of decay
    for i in range(14):
        events += [view(f"b{i}", f"sb{i}", "bag")] + ([view(f"b{i}", f"sb{i}", "cap")] if i < 10 else [])
    # a buyer: viewed tent, bought stove and pot
    events += [view("buyer", "sc1", "tent"), purchase("buyer", "sc1", "stove", "pot")]
    s.send(*events)
    s.transform()
    yield s
    s.http.close()


def test_product_answer_ranks_its_co_viewed_product_first(shop: Shop) -> None:
    body = shop.with_key(product="tent", k="3")
    assert body["rec_id"].startswith("rec_")
    assert body["site_id"] == shop.site_id and body["product"] == "tent" and body["k"] == 3
    assert products(body)[0] == "stove"
    assert "tent" not in products(body) and len(body["items"]) == 3
    assert body["items"][0]["source"] == "neighbours" and body["items"][0]["score"] > 0


def test_unknown_product_and_user_get_the_site_popular_products(shop: Shop) -> None:
    for params in ({"product": "never-seen"}, {"user": "nobody"}):
        body = shop.with_key(**params)
        assert body["source"] == "popularity"
        assert products(body)[0] == "bag"  # 14 sessions viewed it
        assert all(i["source"] == "popularity" for i in body["items"])


def test_user_answer_leaves_out_what_they_bought(shop: Shop) -> None:
    body = shop.with_key(user="buyer", k="10")
    assert body["user"] == "buyer"
    got = products(body)
    assert "stove" not in got and "pot" not in got
    assert got  # from tent's neighbours and the popular products
    # a visitor who viewed tent and stove: their neighbours (pot was bought with stove) before the bestseller
    assert set(products(shop.with_key(user="a0"))[:3]) == {"tent", "stove", "pot"}


def test_read_key_cors_by_the_site_origins(shop: Shop) -> None:
    ok = shop.recommend({"Origin": ORIGIN}, product="tent", key=shop.read_key)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    assert "origin" in ok.headers["vary"].lower()
    foreign = shop.recommend({"Origin": "https://evil.example"}, product="tent", key=shop.read_key)
    assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers
    header_key = shop.recommend({"Origin": ORIGIN, "X-Read-Key": shop.read_key}, product="tent")
    assert header_key.status_code == 200
    pre = shop.http.options(
        "/api/recommendations",
        params={"site": shop.site_id},
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-read-key",
        },
    )
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == ORIGIN
    assert "x-read-key" in pre.headers["access-control-allow-headers"].lower()
    bad = shop.http.options(
        "/api/recommendations",
        params={"site": shop.site_id},
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert bad.status_code == 403


def test_refusals_without_a_valid_key_or_token(shop: Shop) -> None:
    assert shop.recommend(product="tent").status_code == 401
    assert shop.recommend(product="tent", key="rk_wrong").status_code == 401
    assert shop.recommend(product="tent", key=shop.write_key).status_code == 401  # a write key does not read
    assert shop.http.get("/api/recommendations", params={"product": "tent", "key": shop.read_key}).status_code == 400
    both = shop.recommend(product="tent", user="a0", key=shop.read_key)
    assert both.status_code == 400 and "one product" in both.json()["error"]
    assert shop.recommend(product="tent", key=shop.read_key, k="0").status_code == 400


def test_server_token(shop: Shop) -> None:
    r = shop.recommend({"Authorization": f"Bearer {shop.token}"}, product="tent")
    assert r.status_code == 200 and products(r.json())[0] == "stove"
    assert "access-control-allow-origin" not in r.headers
    foreign = shop.recommend({"Authorization": f"Bearer {shop.foreign_token}"}, product="tent")  # type: ignore[attr-defined]
    assert foreign.status_code == 403


def test_fresh_pattern_and_the_click_loop(shop: Shop) -> None:
    """A new co-view pattern is answered within two transform runs; a click on an answer counts."""
    assert "kettle" not in products(shop.with_key(product="mug", k="3"))
    served = shop.with_key(product="tent")
    click = _event(
        "custom",
        "a0",
        "sa9",
        custom={"name": "recommendation_click", "properties": {"rec_id": served["rec_id"], "product_id": "stove"}},
    )
    pattern = [e for i in range(4) for e in (view(f"m{i}", f"sm{i}", "mug"), view(f"m{i}", f"sm{i}", "kettle"))]
    shop.send(*pattern, click)
    for _run in range(2):
        shop.transform()
        deadline = time.monotonic() + 10  # the server looks for a new snapshot every 2 s
        while time.monotonic() < deadline:
            if products(shop.with_key(product="mug", k="3"))[:1] == ["kettle"]:
                break
            time.sleep(0.3)
        else:
            continue
        break
    else:
        pytest.fail("the new pattern was not answered after two transform runs")

    r = shop.http.get(
        "/api/recommendations/clicks",
        params={"site": shop.site_id, "days": "2"},
        headers={"Authorization": f"Bearer {shop.token}"},
    )
    assert r.status_code == 200, r.text
    totals = r.json()["totals"]
    assert totals["clicked_answers"] == 1 and totals["clicks"] == 1
    assert totals["served"] >= 10  # every answer of this module with the read key or the token
    assert totals["click_through"] == round(1 / totals["served"], 4)
    assert "recommendation_click" in r.json()["meta"]["clicks_sql"]
    first, last = r.json()["meta"]["date_range"]  # the dashboard asks for its range by dates
    ranged = shop.http.get(
        "/api/recommendations/clicks",
        params={"site": shop.site_id, "from": first, "to": last},
        headers={"Authorization": f"Bearer {shop.token}"},
    )
    assert ranged.status_code == 200 and ranged.json()["totals"]["clicked_answers"] == 1
    assert [d["day"] for d in ranged.json()["results"]] == [d["day"] for d in r.json()["results"]]
    backwards = shop.http.get(
        "/api/recommendations/clicks",
        params={"site": shop.site_id, "from": last, "to": first},
        headers={"Authorization": f"Bearer {shop.token}"},
    )
    assert backwards.status_code == 400  # days=2: two different days
    refused = shop.http.get(
        "/api/recommendations/clicks",
        params={"site": shop.site_id},
        headers={"Authorization": f"Bearer {shop.foreign_token}"},  # type: ignore[attr-defined]
    )
    assert refused.status_code == 403


def test_cli_prints_the_same_answer(shop: Shop) -> None:
    import json

    done = run_clicklake(shop.data.parent, "recommend", "--site", shop.site_id, "--product", "tent", "--format", "json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    api = shop.with_key(product="tent")
    assert [i["product_id"] for i in body["items"]] == products(api)
    assert body["rec_id"].startswith("rec_") and body["rec_id"] != api["rec_id"]


def test_the_routes_are_in_the_openapi_document(shop: Shop) -> None:
    doc = shop.http.get("/api/openapi.json").json()
    assert "get" in doc["paths"]["/api/recommendations"] and "get" in doc["paths"]["/api/recommendations/clicks"]
    assert doc["components"]["securitySchemes"]["read_key"]["in"] == "query"
