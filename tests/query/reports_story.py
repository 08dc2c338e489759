"""The reports' hand-built story: site s1 over 2026-11-18..23 (UTC), figures worked out by hand in each test.

- A: a visit on the 18th from a campaign (utm news/fall, /blog); on the 20th a direct visit
  /home 10:00, /pricing 10:01, /pricing again (a reload) 10:02, /product 10:03, views
  product p1 ("Mug") 10:04, puts it in the cart 10:05, buys order o1 10:06 (50.00: 2 x p1
  at 20.00 and 1 x p2 at 10.00) and reloads the thank-you page (o1 again, 10:07); a
  direct visit on the 22nd, /home.
- B: the 20th 11:00 from utm ads/winter, /home then /pricing; the 21st 11:00 direct,
  /pricing and an affiliate click on L1 (https://Shop.example:8443/x, payout 1.50); the
  23rd, /home.
- C: the 21st 12:00 from utm ads/winter, /home, views p1, an affiliate click on L2
  (https://other.example/y, payout 0.50).
- QR scans of restaurant s1: D on the 20th at 19:00 and 19:20 on q1 at table-1; D2 on the
  21st 19:10 on q1 at table-1; E on the 21st 20:05 on q2 at table-2; F on the 22nd 12:00
  on q1 without a placement.
- A bot doing all of it on the 20th, and site s2's visitor Z: both never counted.
"""

from __future__ import annotations

from pathlib import Path

from clicklake.schema.record import Record
from transform.lakes import Lake, event

NEWS = {"source": "news", "campaign": "fall"}
ADS = {"source": "ads", "campaign": "winter"}
MUG = {"product_id": "p1", "name": "Mug"}
O1 = {
    "order_id": "o1",
    "revenue_minor": 5000,
    "currency": "EUR",
    "items": [{"product_id": "p1", "quantity": 2, "price_minor": 2000}, {"product_id": "p2", "price_minor": 1000}],
}
L1 = {"link_id": "L1", "target": "https://Shop.example:8443/x", "payout_cents": 150}
L2 = {"link_id": "L2", "target": "https://other.example/y", "payout_cents": 50}


def page(ts: str, visitor: str, path: str, **kw: object) -> Record:
    return event("page_view", f"2026-11-{ts}Z", visitor=visitor, page=f"https://s1.example{path}", **kw)  # type: ignore[arg-type]


def scan(ts: str, visitor: str, link: str, placement: str | None = None, **kw: object) -> Record:
    qr = {"link_id": link, "target": f"https://menu.example/{link}"}
    if placement:
        qr["placement"] = placement
    return event("qr_scan", f"2026-11-{ts}Z", visitor=visitor, qr=qr, **kw)  # type: ignore[arg-type]


def shopper(visitor: str, bot: bool = False, site: str = "s1") -> list[Record]:
    """A's 20th: four pages (one a reload), a product view, a cart, the purchase and its reload."""
    return [
        page("20T10:00:00", visitor, "/home", bot=bot, site=site),
        page("20T10:01:00", visitor, "/pricing", bot=bot, site=site),
        page("20T10:02:00", visitor, "/pricing", bot=bot, site=site),
        page("20T10:03:00", visitor, "/product", bot=bot, site=site),
        event("product_view", "2026-11-20T10:04:00Z", visitor=visitor, product=MUG, bot=bot, site=site),
        event("add_to_cart", "2026-11-20T10:05:00Z", visitor=visitor, product=MUG, bot=bot, site=site),
        event("purchase", "2026-11-20T10:06:00Z", visitor=visitor, order=O1, bot=bot, site=site),
        event("purchase", "2026-11-20T10:07:00Z", visitor=visitor, order=O1, bot=bot, site=site),
    ]


def story() -> list[Record]:
    return [
        page("18T09:00:00", "A", "/blog", utm=NEWS),
        *shopper("A"),
        page("22T09:00:00", "A", "/home"),
        page("20T11:00:00", "B", "/home", utm=ADS),
        page("20T11:01:00", "B", "/pricing", utm=ADS),
        page("21T11:00:00", "B", "/pricing"),
        event("affiliate_click", "2026-11-21T11:01:00Z", visitor="B", affiliate=L1),
        page("23T11:00:00", "B", "/home"),
        page("21T12:00:00", "C", "/home", utm=ADS),
        event("product_view", "2026-11-21T12:01:00Z", visitor="C", product=MUG, utm=ADS),
        event("affiliate_click", "2026-11-21T12:02:00Z", visitor="C", affiliate=L2, utm=ADS),
        scan("20T19:00:00", "D", "q1", "table-1"),
        scan("20T19:20:00", "D", "q1", "table-1"),
        scan("21T19:10:00", "D2", "q1", "table-1"),
        scan("21T20:05:00", "E", "q2", "table-2"),
        scan("22T12:00:00", "F", "q1"),
        *shopper("bot", bot=True),
        event("affiliate_click", "2026-11-20T10:08:00Z", visitor="bot", affiliate=L1, bot=True),
        scan("20T19:00:00", "bot", "q1", "table-1", bot=True),
        *shopper("Z", site="s2"),
        event("affiliate_click", "2026-11-20T10:08:00Z", visitor="Z", affiliate=L1, site="s2"),
        scan("20T19:00:00", "Z", "q1", "table-1", site="s2"),
    ]


def build(root: Path) -> Lake:
    lake = Lake(root)
    lake.add(*story())
    lake.run()
    return lake
