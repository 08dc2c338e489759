"""Tracked redirects, QR codes and the pixel on the real server: the click lands, the visitor goes on."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clicklake.collect.links import PIXEL
from clicklake.collect.metadata import Metadata
from clicklake.config import Settings
from conftest import serving
from samples import wait_rows


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("links")
    with serving(root, env={"CLICKLAKE_LOAD__FLUSH_INTERVAL_S": "0.2"}) as base:
        yield base, root / "data"


def test_affiliate_link_records_the_click_with_its_payout(running: tuple[str, Path]) -> None:
    base, data = running
    with Metadata.open(Settings(data=str(data))) as metadata:
        site = metadata.create_site("Compare", "compare.example")
        link = metadata.create_link(site.site_id, "https://vendor.example/buy?plan=pro", payout_cents=250)
    answer = httpx.get(
        f"{base}/r/{link.link_id}",
        headers={"referer": "https://compare.example/notion-vs-obsidian", "user-agent": "Mozilla/5.0 (X11; Linux)"},
        follow_redirects=False,
        trust_env=False,
    )
    assert answer.status_code == 302 and answer.headers["location"] == "https://vendor.example/buy?plan=pro"
    assert answer.headers["x-clicklake"] == "accepted"
    sql = f"select event_type, affiliate, ctx.page_url as page from bronze.events where site_id = '{site.site_id}'"
    [click] = wait_rows(data, sql, 1)
    assert click["event_type"] == "affiliate_click"
    assert click["affiliate"] == {"link_id": link.link_id, "target": link.target, "payout_cents": 250}
    assert click["page"] == "https://compare.example/notion-vs-obsidian"
    head = httpx.head(f"{base}/r/{link.link_id}", follow_redirects=False, trust_env=False)
    assert head.status_code == 302
    time.sleep(0.6)
    assert len(wait_rows(data, sql, 2, timeout=0)) == 1  # a HEAD is not a click


def test_qr_link_records_a_scan_and_renders_an_svg(running: tuple[str, Path]) -> None:
    base, data = running
    with Metadata.open(Settings(data=str(data))) as metadata:
        site = metadata.create_site("Trattoria", "trattoria.example")
        link = metadata.create_link(site.site_id, "https://trattoria.example/menu", kind="qr")
    svg = httpx.get(f"{base}/r/{link.link_id}/qr.svg", trust_env=False)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(svg.content)
    assert root.tag.endswith("svg") and f"clicklake link {link.link_id}" in svg.text
    scan = httpx.get(f"{base}/r/{link.link_id}?at=table-12", follow_redirects=False, trust_env=False)
    assert scan.status_code == 302 and scan.headers["location"] == "https://trattoria.example/menu"
    sql = f"select event_type, qr from bronze.events where site_id = '{site.site_id}'"
    [row] = wait_rows(data, sql, 1)
    assert row["event_type"] == "qr_scan"
    assert row["qr"]["link_id"] == link.link_id and row["qr"]["placement"] == "table-12"


def test_unknown_links_are_404(running: tuple[str, Path]) -> None:
    base, _ = running
    assert httpx.get(f"{base}/r/nolink00", follow_redirects=False, trust_env=False).status_code == 404
    assert httpx.get(f"{base}/r/nolink00/qr.svg", trust_env=False).status_code == 404


def test_pixel_records_a_page_view_and_always_answers_the_gif(running: tuple[str, Path]) -> None:
    base, data = running
    with Metadata.open(Settings(data=str(data))) as metadata:
        site = metadata.create_site("News", "news.example")
    params = {"key": site.write_key, "url": "https://news.example/a?email=x@y.example", "sid": "s-1", "title": "A"}
    answer = httpx.get(f"{base}/i.gif", params=params, trust_env=False)
    assert answer.status_code == 200 and answer.content == PIXEL and answer.headers["x-clicklake"] == "accepted"
    sql = "select event_type, ctx.page_url as url, session.session_id as sid from bronze.events"
    sql += f" where site_id = '{site.site_id}'"
    [row] = wait_rows(data, sql, 1)
    assert row["event_type"] == "page_view" and row["sid"] == "s-1"
    assert "x@y.example" not in row["url"]
    unknown = httpx.get(f"{base}/i.gif", params={"key": "wk_nope"}, trust_env=False)
    assert unknown.status_code == 200 and unknown.content == PIXEL and unknown.headers["x-clicklake"] == "unknown-key"
    invalid = httpx.get(f"{base}/i.gif", params={"key": site.write_key, "event_type": "search"}, trust_env=False)
    assert invalid.headers["x-clicklake"].startswith("rejected: ")
