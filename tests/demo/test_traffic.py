"""The demo's made-up world and visits, without a server: what the collector will make of them."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from clicklake.collect.enrich import device_of, geo_country
from clicklake.demo import world
from clicklake.demo.traffic import DemoLinks, Pixel, Post, Redirect, Session, Traffic
from clicklake.schema import EVENT_TYPES, decode_batch

LINKS = DemoLinks(
    affiliate={slug: f"aff{i:05d}" for i, slug in enumerate(world.PRODUCTS)},
    qr={r.slug: f"qr{i:06d}" for i, r in enumerate(world.RESTAURANTS)},
)


def sessions(n: int, seed: int = 1) -> list[Session]:
    traffic = Traffic("https://demo.example", LINKS, seed)
    return [traffic.session() for _ in range(n)]


def posted(visits: list[Session]) -> list[dict]:
    return [event for s in visits for step in s.steps if isinstance(step, Post) for _, event in step.events]


@pytest.mark.parametrize("country", world.COUNTRIES, ids=lambda c: c.code)
def test_every_network_of_a_country_is_in_that_country(country: world.Country) -> None:
    for network in country.networks:
        for host in (1, 77, 128, 254):
            assert geo_country(f"{network}.{host}") == country.code, f"{network}.{host}"


def test_crawlers_come_from_public_networks() -> None:
    for crawler in world.CRAWLERS:
        for network in crawler.networks:
            assert geo_country(f"{network}.10") is not None, network


@pytest.mark.parametrize(
    "agent", world.BROWSERS + world.MAIL_AGENTS + tuple(c.agent for c in world.CRAWLERS), ids=lambda a: a.user_agent
)
def test_the_collector_sees_the_device_type_each_agent_stands_for(agent: world.Agent) -> None:
    device = device_of(agent.user_agent)
    assert device.device_type == agent.kind
    assert device.is_bot == (agent.kind == "bot")


def test_the_same_seed_draws_the_same_visits() -> None:
    def shape(visits: list[Session]) -> str:
        return json.dumps([[s.scenario, s.visitor.ip, repr(s.steps)] for s in visits])

    assert shape(sessions(200, seed=5)) == shape(sessions(200, seed=5))
    assert shape(sessions(200, seed=5)) != shape(sessions(200, seed=6))


def test_visits_send_every_event_type_and_all_but_the_broken_ones_pass_the_contract() -> None:
    visits = sessions(3000)
    events = posted(visits)
    clicks = [step for s in visits for step in s.steps if isinstance(step, Redirect)]
    types = Counter(e["event_type"] for e in events) + Counter(c.event_type for c in clicks)
    assert set(types) == set(EVENT_TYPES)
    for e in events:
        e.setdefault("ts", "2026-11-22T10:00:00.000Z")
    batch = decode_batch(json.dumps(events).encode())
    # only the breakages of world.BREAKAGES fail, and they are a small share
    assert 0.005 < len(batch.rejected) / len(events) < 0.03
    breakage_keys = {key for _, change in world.BREAKAGES for key in change}
    for r in batch.rejected:
        assert r.error.split(":")[0].split(".")[1] in breakage_keys, r.error


def test_consent_denials_and_privacy_signals_are_a_small_share_of_visitors() -> None:
    visitors = [s.visitor for s in sessions(3000) if s.scenario in ("compare", "shop")]
    declined = sum(not v.analytics for v in visitors) / len(visitors)
    signals = sum(v.dnt or v.gpc for v in visitors) / len(visitors)
    assert 0.02 < declined < 0.1
    assert 0.005 < signals < 0.06


def test_pages_follow_a_zipf_popularity() -> None:
    pages = Counter(
        e["ctx"]["page_url"].split("?")[0] for e in posted(sessions(3000)) if e["event_type"] == "page_view"
    )
    counts = sorted(pages.values(), reverse=True)
    # the head is much more visited than the tail, and the tail is still visited
    assert counts[0] > 10 * counts[len(counts) // 2] > 0
    assert len(pages) > 60


def test_a_visit_is_anchored_on_the_step_the_collector_time_stamps() -> None:
    for s in sessions(2000):
        times = [step.at for step in s.steps]
        assert times == sorted(times)
        if s.scenario == "menu":  # the scan comes first; the menu is read afterwards
            assert s.anchor == 0 and isinstance(s.steps[0], Redirect) and s.steps[0].placement.startswith("table-")
            assert s.steps[0].link_id in LINKS.qr.values()
        elif s.scenario == "newsletter":
            assert s.anchor == 0 and isinstance(s.steps[0], Pixel)
        elif any(isinstance(step, Redirect) for step in s.steps):  # an affiliate click ends the visit
            assert s.scenario == "compare" and s.anchor == len(s.steps) - 1
            assert s.steps[-1].link_id in LINKS.affiliate.values()
            assert s.steps[-1].referer.startswith("https://demo.example/")
        else:
            assert s.anchor == len(s.steps) - 1


def test_visits_last_seconds_to_minutes_and_some_visitors_come_back() -> None:
    visits = sessions(2000)
    lengths = [s.steps[-1].at for s in visits if len(s.steps) > 2]
    assert min(lengths) > 0 and max(lengths) > 5 * 60_000
    returning = Counter(s.visitor for s in visits if s.scenario in ("compare", "shop"))
    assert sum(n > 1 for n in returning.values()) > 50


def test_orders_add_up() -> None:
    orders = [e["order"] for e in posted(sessions(3000)) if e["event_type"] == "purchase" and "items" in e["order"]]
    assert orders
    for order in orders:
        subtotal = sum(i["price_minor"] * i["quantity"] for i in order["items"])
        expect = subtotal - order.get("discount_minor", 0) + order["shipping_minor"]
        assert order["revenue_minor"] == expect
        assert order["currency"] in world.FX


def test_a_bigger_shop_keeps_the_demo_shop_and_its_companions_in_every_line() -> None:
    from clicklake.demo.catalogue import Catalogue

    assert Catalogue.sized().items == world.SHOP_ITEMS and Catalogue.sized().companions == world.COMPANIONS
    big = Catalogue.sized(300)
    skus = [i.sku for i in big.items]
    assert len(set(skus)) == 300 and skus[:19] == [i.sku for i in world.SHOP_ITEMS]
    assert big.companions["sku-1001-3"] == ("sku-1401-3", "sku-1403-3", "sku-1102-3")
    assert all(set(c) <= set(skus) and c for c in big.companions.values())
    traffic = Traffic("https://demo.example", LINKS, 3, shop_size=300)
    viewed = {
        e["product"]["product_id"]
        for e in posted([traffic.session() for _ in range(3000)])
        if e.get("event_type") == "product_view" and isinstance(e.get("product"), dict)
    }
    assert len(viewed & set(skus)) > 150 and viewed & set(skus[19:])
