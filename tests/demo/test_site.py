"""The site the demo sends as, and its tracked links, in a real metadata database."""

from __future__ import annotations

from pathlib import Path

import pytest

from clicklake.collect.metadata import Metadata
from clicklake.demo import demo_site, local_url, world
from clicklake.errors import InputError


def test_the_demo_site_is_created_once_with_its_links_then_reused(tmp_path: Path) -> None:
    with Metadata(f"sqlite:///{tmp_path / 'metadata.sqlite3'}") as metadata:
        site, links = demo_site(metadata)
        again, same_links = demo_site(metadata)
        assert again == site and same_links == links
        assert [s.name for s in metadata.sites()] == ["demo"]
        assert set(links.affiliate) == set(world.PRODUCTS) and set(links.qr) == {r.slug for r in world.RESTAURANTS}
        for slug, link_id in links.affiliate.items():
            link = metadata.link(link_id)
            assert link is not None and link.site_id == site.site_id and link.kind == "affiliate"
            assert link.payout_cents == world.PRODUCTS[slug].payout_cents
        for link_id in links.qr.values():
            link = metadata.link(link_id)
            assert link is not None and link.kind == "qr" and link.target.startswith("https://demo.example/menu/")


def test_another_site_gets_its_own_links_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    with Metadata(f"sqlite:///{tmp_path / 'metadata.sqlite3'}") as metadata:
        _, demo_links = demo_site(metadata)
        shop = metadata.create_site("Shop", "shop.example")
        site, links = demo_site(metadata, shop.site_id)
        assert site == shop
        assert set(links.qr.values()).isdisjoint(demo_links.qr.values())
        assert metadata.link(links.qr["cafe-lumen"]).target == "https://shop.example/menu/cafe-lumen"
        with pytest.raises(InputError, match="site_nothere"):
            demo_site(metadata, "site_nothere")


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:80"), ("0.0.0.0", "http://127.0.0.1:80"), ("::", "http://[::1]:80")],
)
def test_the_local_url_of_a_wildcard_address_is_the_loopback_one(host: str, url: str) -> None:
    assert local_url(host, 80) == url
