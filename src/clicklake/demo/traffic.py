"""Sessions of made-up visitors, as the requests their browsers would make.

`Traffic.session()` draws one visit to the demo site: who (country, network, browser,
consent), where from (referrer, UTM campaign), what (pages by Zipf popularity, chart
controls, products, carts, a menu), and when (a dwell time of seconds to minutes per
page). A visit is a list of steps, each one request:

- `Post`: a batch of events for `POST /v1/events`, as a browser SDK sends them: one
  batch per page, the last one sometimes by `sendBeacon` (key in the query string);
- `Redirect`: a click on a tracked link, `GET /r/{link_id}` (an affiliate link, or the
  QR code on a restaurant table), which the collector records itself;
- `Pixel`: a newsletter opened in a mail client, `GET /i.gif`.

Times are offsets in milliseconds from the start of the visit; the sender turns them
into timestamps (see `clicklake.demo.send`). Generation is pure: the same seed gives
the same visits, without a clock or a network.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from clicklake import __version__
from clicklake.demo import world
from clicklake.demo.catalogue import DEFAULT_SIZE, Catalogue
from clicklake.demo.world import Agent, Category, Country, Item, Restaurant

T = TypeVar("T")

SDK_VERSION: Final = f"demo-{__version__}"
#: Share of the events in batches that a buggy integration breaks (each is rejected).
BROKEN_SHARE: Final = 0.015
#: Share of human visitors who declined analytics in the consent banner.
DECLINED_SHARE: Final = 0.05
DNT_SHARE: Final = 0.015
GPC_SHARE: Final = 0.01
RETURNING_SHARE: Final = 0.3
#: After a product page, how often the next product a shopper opens is one of its companions (world.COMPANIONS).
COMPANION_SHARE: Final = 0.6
MAX_RETURNING: Final = 500
SCENARIOS: Final = (("compare", 45), ("shop", 33), ("menu", 12), ("crawl", 6), ("newsletter", 4))


@dataclass(frozen=True)
class Visitor:
    """One browser: where it connects from and what it tells the site."""

    ip: str
    user_agent: str
    kind: world.DeviceKind
    country: str
    locale: str
    analytics: bool = True
    ads: bool = False
    anonymous_id: str | None = None
    user_id_hash: str | None = None
    dnt: bool = False
    gpc: bool = False


@dataclass
class Post:
    """A batch for `POST /v1/events`: (offset ms, event without `ts`) pairs; `ts` already set stays."""

    events: list[tuple[int, dict[str, Any]]]
    beacon: bool = False

    @property
    def at(self) -> int:
        return self.events[-1][0]


@dataclass(frozen=True)
class Redirect:
    """A click on a tracked link: `GET /r/{link_id}`, recorded by the collector at its own clock."""

    at: int
    link_id: str
    event_type: str
    referer: str | None = None
    placement: str | None = None


@dataclass(frozen=True)
class Pixel:
    """`GET /i.gif` with these query parameters (the write key is added when sent)."""

    at: int
    params: dict[str, str]


Step = Post | Redirect | Pixel


@dataclass
class Session:
    """One visit: who, and the requests their browser makes, in order."""

    scenario: str
    visitor: Visitor
    steps: list[Step] = field(default_factory=list)

    @property
    def anchor(self) -> int:
        """Index of the step that happens "now": the first one the collector time-stamps, else the last.

        Steps before it are sent at once with their times in the past; steps after it are
        due later (a menu read after the QR scan).
        """
        for i, step in enumerate(self.steps):
            if not isinstance(step, Post):
                return i
        return len(self.steps) - 1

    @property
    def event_count(self) -> int:
        return sum(len(s.events) if isinstance(s, Post) else 1 for s in self.steps)


@dataclass(frozen=True)
class DemoLinks:
    """The tracked links of the demo site: affiliate links by product slug, QR codes by restaurant slug."""

    affiliate: dict[str, str]
    qr: dict[str, str]


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    category: Category | None = None
    products: tuple[world.Product, ...] = ()


def _compare_pages() -> list[Page]:
    pages = [Page("/", "Compare software, honestly")]
    for cat in world.CATEGORIES:
        pages.append(Page(f"/best/{cat.slug}", f"The best {cat.title} of 2026", cat, cat.products))
        for a, b in itertools.combinations(cat.products, 2):
            pages.append(Page(f"/compare/{a.slug}-vs-{b.slug}", f"{a.name} vs {b.name}", cat, (a, b)))
        for p in cat.products:
            pages.append(Page(f"/reviews/{p.slug}", f"{p.name} review", cat, (p,)))
    return pages


def _shop_pages(items: Sequence[Item] = world.SHOP_ITEMS) -> list[Page]:
    pages = [Page("/shop", "Trailhead outfitters")]
    pages += [Page(f"/shop/c/{c}", f"{c.capitalize()} | Trailhead") for c in world.SHOP_CATEGORIES]
    pages += [Page(f"/shop/p/{i.sku}", f"{i.name} | Trailhead") for i in items]
    return pages


def _popularity(pages: list[Page], exponent: float = 1.1) -> tuple[list[Page], list[float]]:
    """Pages in a fixed popularity order with Zipf weights (rank r weighs 1 / r**exponent), cumulated."""
    ranked = pages[:1] + random.Random(2026).sample(pages[1:], len(pages) - 1)
    return ranked, list(itertools.accumulate(1 / (r + 1) ** exponent for r in range(len(ranked))))


COMPARE_PAGES, _COMPARE_CUM = _popularity(_compare_pages())
SHOP_PAGES, _SHOP_CUM = _popularity(_shop_pages())
_ITEM_BY_SKU: Final = {i.sku: i for i in world.SHOP_ITEMS}


class Traffic:
    """Draws visits to the demo site at `origin` (e.g. https://demo.example) with its `links`.

    `shop_size` products in the shop: the demo's 19 by default, more for a bigger catalogue with
    the same companions (`clicklake.demo.catalogue`; the recommendation bench uses one).
    """

    def __init__(self, origin: str, links: DemoLinks, seed: int | None = None, shop_size: int = DEFAULT_SIZE) -> None:
        self.origin = origin.rstrip("/")
        self.catalogue = Catalogue.sized(shop_size)
        if shop_size == DEFAULT_SIZE:
            self._shop_pages, self._shop_cum, self._by_sku = SHOP_PAGES, _SHOP_CUM, _ITEM_BY_SKU
        else:
            self._shop_pages, self._shop_cum = _popularity(_shop_pages(self.catalogue.items))
            self._by_sku = {i.sku: i for i in self.catalogue.items}
        self.domain = self.origin.split("://", 1)[-1].split(":")[0]
        self.links = links
        self.rng = random.Random(seed)
        self._returning: list[Visitor] = []
        self._orders = itertools.count(1)

    # -- drawing helpers ------------------------------------------------------------------------

    def _pick(self, options: Sequence[T], weights: Sequence[float]) -> T:
        return self.rng.choices(options, weights)[0]

    def _id(self, prefix: str, nbytes: int = 8) -> str:
        return prefix + self.rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _dwell(self, median_s: float = 25.0, sigma: float = 0.9, low_s: float = 2.0, high_s: float = 600.0) -> int:
        """Time on a page in ms: log-normal (most people glance, a few read for minutes)."""
        seconds = self.rng.lognormvariate(math.log(median_s), sigma)
        return int(1000 * min(high_s, max(low_s, seconds)))

    def _ip(self, networks: Sequence[str]) -> str:
        return f"{self.rng.choice(networks)}.{self.rng.randint(1, 254)}"

    def _country(self) -> Country:
        return self._pick(world.COUNTRIES, [c.weight for c in world.COUNTRIES])

    def _agent(self, agents: Sequence[Agent]) -> Agent:
        return self._pick(agents, [a.weight for a in agents])

    def _visitor(self, country: Country | None = None, agents: Sequence[Agent] = world.BROWSERS) -> Visitor:
        country = country or self._country()
        agent = self._agent(agents)
        analytics = self.rng.random() >= DECLINED_SHARE
        ads = analytics and self.rng.random() < 0.6
        return Visitor(
            ip=self._ip(country.networks),
            user_agent=agent.user_agent,
            kind=agent.kind,
            country=country.code,
            locale=self.rng.choice(country.locales),
            analytics=analytics,
            ads=ads,
            # the SDK keeps a first-party id only with consent, and not every browser keeps it
            anonymous_id=self._id("a_") if analytics and self.rng.random() < 0.7 else None,
            dnt=self.rng.random() < DNT_SHARE,
            gpc=self.rng.random() < GPC_SHARE,
        )

    def _human(self) -> Visitor:
        """A new visitor, or one who came before (same network, browser and first-party id)."""
        if self._returning and self.rng.random() < RETURNING_SHARE:
            return self.rng.choice(self._returning)
        visitor = self._visitor()
        if len(self._returning) < MAX_RETURNING:
            self._returning.append(visitor)
        else:
            self._returning[self.rng.randrange(MAX_RETURNING)] = visitor
        return visitor

    # -- sessions -------------------------------------------------------------------------------

    def session(self) -> Session:
        """The next visit."""
        scenario = self._pick([s for s, _ in SCENARIOS], [w for _, w in SCENARIOS])
        if scenario == "compare":
            return self._compare()
        if scenario == "shop":
            return self._shop()
        if scenario == "menu":
            return self._menu()
        if scenario == "crawl":
            return self._crawl()
        return self._newsletter()

    def _compare(self) -> Session:
        """Seed 004: comparison pages, chart controls, the layout A/B test, an affiliate click or not."""
        visitor = self._human()
        b = _Builder(self, Session("compare", visitor))
        variant = "B" if int(visitor.ip.rsplit(".", 1)[1]) % 2 else "A"
        b.experiment = (variant, world.COMPARE_EXPERIMENT)
        source = self._pick(world.SOURCES, [s.weight for s in world.SOURCES])
        page = self.rng.choices(COMPARE_PAGES, cum_weights=_COMPARE_CUM)[0]
        b.page_view(self.origin + page.path, page.title, source.referrer, source.utm)
        interact, click = (0.4, 0.06) if variant == "A" else (0.55, 0.09)
        for _ in range(12):
            if page.category is not None and page.products:
                while self.rng.random() < interact:
                    b.wait(self._dwell(6, 0.7, 1, 60))
                    b.chart(page.category, page.products)
                if self.rng.random() < click:
                    product = page.products[0] if self.rng.random() < 0.6 else self.rng.choice(page.products)
                    b.wait(self._dwell(8, 0.7, 1, 120))
                    b.redirect(self.links.affiliate[product.slug], "affiliate_click")
                    break  # the visitor left for the vendor's site
            if self.rng.random() < 0.45:
                break
            b.wait(self._dwell())
            page = self.rng.choices(COMPARE_PAGES, cum_weights=_COMPARE_CUM)[0]
            b.page_view(self.origin + page.path, page.title)
        return b.done()

    def _shop(self) -> Session:
        """Search, product views, a cart, a checkout; most visitors drop off on the way."""
        visitor = self._human()
        if visitor.user_id_hash is None and visitor.analytics and self.rng.random() < 0.1:
            visitor = dataclasses.replace(visitor, user_id_hash=self._id("sha256:", 32))
        b = _Builder(self, Session("shop", visitor))
        # one shop, one currency (as most shops run, and as gold.kpi_daily's revenue per site assumes;
        # a data-quality check warns about a site-day with several)
        currency = "EUR"
        source = self._pick(world.SOURCES, [s.weight for s in world.SOURCES])
        page = self.rng.choices(self._shop_pages, cum_weights=self._shop_cum)[0]
        b.page_view(self.origin + page.path, page.title, source.referrer, source.utm)
        cart: list[tuple[Item, str | None, int]] = []
        shown: list[Item] = []
        if page.path.startswith("/shop/p/"):
            shown.append(self._by_sku[page.path.rsplit("/", 1)[1]])
        elif page.path.startswith("/shop/c/"):
            category = page.path.rsplit("/", 1)[1]
            shown += [i for i in self.catalogue.items if i.category == category]
        if self.rng.random() < 0.25:
            b.wait(self._dwell(8))
            query = self.rng.choice(world.SEARCHES)
            words = query.split()
            found = [i for i in self.catalogue.items if any(w in i.name.lower() or w in i.category for w in words)]
            b.page_view(f"{self.origin}/shop/search?{urlencode({'q': query})}", f"{query} | Trailhead")
            b.event("search", search={"query": query, "results_count": len(found)})
            shown = found
        for _ in range(self.rng.choice((1, 1, 1, 2, 2, 3, 4, 5))):
            if not shown:
                shown = list(self.catalogue.items)
            previous = page.path.rsplit("/", 1)[1] if page.path.startswith("/shop/p/") else None
            companions = self.catalogue.companions.get(previous or "", ())
            related = bool(companions) and self.rng.random() < COMPANION_SHARE
            if related:
                item = self._by_sku[self.rng.choice(companions)]
            else:
                item = shown[0] if self.rng.random() < 0.4 else self.rng.choice(shown)
            b.wait(self._dwell(12))
            product = _product(item, currency)
            if not page.path.endswith(item.sku):
                b.page_view(f"{self.origin}/shop/p/{item.sku}", f"{item.name} | Trailhead")
                if related:  # opened from the product page's "goes well with" list
                    product["list_name"] = "goes well with"
                    product["position"] = companions.index(item.sku) + 1
                else:
                    product["list_name"] = "search results" if len(shown) < len(self.catalogue.items) else "catalogue"
                    product["position"] = shown.index(item) + 1
            page = Page(f"/shop/p/{item.sku}", item.name)
            b.event("product_view", product=product)
            if item.category in ("jackets", "boots") and self.rng.random() < 0.12:
                b.wait(self._dwell(5, 0.5, 1, 30))
                b.event("custom", custom={"name": "size_guide_open", "properties": {"product_id": item.sku}})
            if self.rng.random() < 0.1:
                variant = self.rng.choice(item.variants) if item.variants else None
                quantity = 1 if self.rng.random() < 0.85 else 2
                b.wait(self._dwell(10, 0.6, 2, 120))
                b.event("add_to_cart", product={**_product(item, currency, variant), "quantity": quantity})
                cart.append((item, variant, quantity))
            if self.rng.random() < 0.3:
                break
        if self.rng.random() < 0.03:
            b.wait(self._dwell(6))
            b.event("custom", custom={"name": "newsletter_signup", "properties": {"form": "footer"}})
        if cart and self.rng.random() < 0.7:
            b.wait(self._dwell(10))
            b.page_view(f"{self.origin}/shop/cart", "Your cart | Trailhead")
            if self.rng.random() < 0.6:
                b.wait(self._dwell(20))
                b.page_view(f"{self.origin}/shop/checkout", "Checkout | Trailhead")
                if self.rng.random() < 0.7:
                    b.wait(self._dwell(60, 0.6, 15, 600))
                    b.page_view(f"{self.origin}/shop/checkout/done", "Thank you | Trailhead")
                    b.event("purchase", order=self._order(cart, currency))
        return b.done()

    def _order(self, cart: list[tuple[Item, str | None, int]], currency: str) -> dict[str, Any]:
        items = []
        subtotal = 0
        for item, variant, quantity in cart:
            price = _price(item, currency)
            line: dict[str, Any] = {
                "product_id": item.sku,
                "quantity": quantity,
                "price_minor": price,
                "name": item.name,
            }
            if variant:
                line["variant"] = variant
            items.append(line)
            subtotal += price * quantity
        order: dict[str, Any] = {"order_id": f"T-{next(self._orders):06d}-{self._id('', 2)}", "currency": currency}
        discount = 0
        if self.rng.random() < 0.15:
            code, percent = self.rng.choice(world.COUPONS)
            discount = subtotal * percent // 100
            order["coupon"] = code
            order["discount_minor"] = discount
        shipping = 0 if subtotal >= world.FREE_SHIPPING_CENTS else world.SHIPPING_CENTS
        revenue = subtotal - discount + shipping
        order["revenue_minor"] = revenue
        order["tax_minor"] = round(revenue * world.VAT / (1 + world.VAT))  # prices include VAT
        order["shipping_minor"] = shipping
        order["items"] = items
        return order

    def _menu(self) -> Session:
        """Seed 000: a guest scans the table's QR code and reads the menu on a phone."""
        restaurant: Restaurant = self.rng.choice(world.RESTAURANTS)
        local = self.rng.random() < 0.75
        country = world.COUNTRY[restaurant.country] if local else self._country()
        visitor = self._visitor(country, world.PHONES if self.rng.random() < 0.95 else world.BROWSERS)
        b = _Builder(self, Session("menu", visitor))
        table = self.rng.randint(1, restaurant.tables)
        b.redirect(self.links.qr[restaurant.slug], "qr_scan", referer=None, placement=f"table-{table}")
        b.wait(self.rng.randint(800, 3500))
        b.page_view(world.menu_target(self.domain, restaurant), f"{restaurant.name} – menu", None, ())
        sections = self.rng.sample(restaurant.menu, self.rng.randint(1, len(restaurant.menu)))
        props: dict[str, Any]
        for section, dishes in sections:
            b.wait(self._dwell(12, 0.7, 2, 90))
            props = {"restaurant": restaurant.slug, "section": section, "table": table}
            b.event("custom", custom={"name": "menu_section_view", "properties": props})
            if self.rng.random() < 0.5:
                dish, price = self.rng.choice(dishes)
                b.wait(self._dwell(8, 0.6, 2, 60))
                props = {"restaurant": restaurant.slug, "dish": dish, "price_minor": price}
                b.event("custom", custom={"name": "menu_item_open", "properties": props})
        if not local and self.rng.random() < 0.4:
            b.event("custom", custom={"name": "menu_language", "properties": {"to": visitor.locale[:2]}})
        if self.rng.random() < 0.05:
            b.wait(self._dwell(20))
            b.event("custom", custom={"name": "call_waiter", "properties": {"table": table}})
        return b.done()

    def _crawl(self) -> Session:
        """A crawler that runs the pages' script: quick page views, no referrer, no consent banner."""
        crawler = self._pick(world.CRAWLERS, [c.agent.weight for c in world.CRAWLERS])
        ip = self._ip(crawler.networks)
        visitor = Visitor(ip, crawler.agent.user_agent, "bot", "", "en-US", analytics=True)
        b = _Builder(self, Session("crawl", visitor))
        for i in range(self.rng.randint(2, 8)):
            page = self.rng.choice(COMPARE_PAGES + self._shop_pages)
            if i:
                b.wait(self.rng.randint(500, 4000))
            b.page_view(self.origin + page.path, page.title, None, ())
        return b.done()

    def _newsletter(self) -> Session:
        """A newsletter opened in a mail client: its tracking pixel."""
        visitor = dataclasses.replace(self._visitor(agents=world.MAIL_AGENTS), dnt=False, gpc=False)
        utm = "utm_source=newsletter&utm_medium=email&utm_campaign=weekly_digest_47"
        params = {"url": f"{self.origin}/newsletter/47?{utm}", "title": "Weekly digest #47", "consent": "1"}
        if visitor.anonymous_id:
            params["aid"] = visitor.anonymous_id
        return Session("newsletter", visitor, [Pixel(0, params)])


def _price(item: Item, currency: str) -> int:
    """The item's price in `currency`'s minor unit; converted prices end in .90, as shops print them."""
    if currency == "EUR":
        return item.price_cents
    converted = item.price_cents * world.FX[currency]
    return round(converted / 100) * 100 - 10 if converted > 1000 else round(converted)


def _product(item: Item, currency: str, variant: str | None = None) -> dict[str, Any]:
    product: dict[str, Any] = {
        "product_id": item.sku,
        "name": item.name,
        "category": item.category,
        "brand": item.brand,
        "price_minor": _price(item, currency),
        "currency": currency,
    }
    if variant:
        product["variant"] = variant
    return product


class _Builder:
    """Builds one session's steps: the clock, the current page and the batch the SDK holds."""

    def __init__(self, traffic: Traffic, session: Session) -> None:
        self.traffic = traffic
        self.rng = traffic.rng
        self.session = session
        self.session_id = traffic._id("s_")
        self.t = 0
        self.ctx: dict[str, Any] = {}
        self.batch: list[tuple[int, dict[str, Any]]] = []
        self.experiment: tuple[str, str] | None = None

    def wait(self, ms: int) -> None:
        self.t += ms

    def page_view(
        self,
        url: str,
        title: str,
        referrer: str | None = None,
        utm: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """A new page: the SDK sends what it held for the previous one, then starts a batch with this view.

        The first page of a visit has the source's referrer (and UTM on its URL); later pages
        have the previous page as their referrer.
        """
        first = not self.ctx
        if not first:
            referrer = self.ctx["page_url"]
        if utm:
            url += ("&" if "?" in url else "?") + urlencode(utm)
        self.flush()
        self.ctx = {"page_url": url, "title": title, "locale": self.session.visitor.locale}
        if referrer:
            self.ctx["referrer"] = referrer
        if self.experiment is not None:
            self.ctx["ab_variant"] = self.experiment[0]
        self.event("page_view")

    def event(self, event_type: str, **fields: Any) -> None:
        self.batch.append((self.t, {**self._base(event_type), **fields}))
        if self.rng.random() < BROKEN_SHARE:
            self.batch.append((self.t, self._broken()))

    def _base(self, event_type: str) -> dict[str, Any]:
        v = self.session.visitor
        user: dict[str, Any] = {"consent": {"analytics": v.analytics, "ads": v.ads}}
        if v.anonymous_id:
            user["anonymous_id"] = v.anonymous_id
        if v.user_id_hash:
            user["user_id_hash"] = v.user_id_hash
        metadata: dict[str, Any] = {"sdk_version": SDK_VERSION}
        if self.experiment is not None:
            metadata["experiment_keys"] = [self.experiment[1]]
        return {
            "event_type": event_type,
            "event_id": self.traffic._uuid(),
            "user": user,
            "session": {"session_id": self.session_id},
            "ctx": {**self.ctx, "user_agent": v.user_agent},
            "metadata": metadata,
        }

    def _broken(self) -> dict[str, Any]:
        """An event a buggy integration sends beside a good one: the collector rejects it."""
        _, change = self.rng.choice(world.BREAKAGES)
        return {**self._base("page_view"), **change}

    def chart(self, category: Category, products: tuple[world.Product, ...]) -> None:
        action = self.rng.choice(("sort", "sort", "filter", "filter", "toggle", "compare_expand", "compare_collapse"))
        chart: dict[str, Any] = {"product_ids": [p.slug for p in products], "action": action}
        if action == "sort":
            chart["control_id"] = self.rng.choice(("price", "rating", "free_plan"))
            chart["control_value"] = self.rng.choice(("asc", "desc"))
        elif action == "filter":
            control, values = self.rng.choice(category.controls)
            chart["control_id"] = control
            chart["control_value"] = self.rng.choice(values)
        elif action == "toggle":
            chart["control_id"] = "billing"
            chart["control_value"] = self.rng.choice(("monthly", "yearly"))
        else:
            chart["control_id"] = "row:" + self.rng.choice(("security", "pricing", "integrations", "support"))
        self.event("chart_interaction", chart=chart)

    def redirect(self, link_id: str, event_type: str, referer: str | None = "", placement: str | None = None) -> None:
        """A click on a tracked link (from the current page unless `referer` says otherwise)."""
        self.flush()
        page = self.ctx.get("page_url") if referer == "" else referer
        self.session.steps.append(Redirect(self.t, link_id, event_type, page, placement))

    def flush(self) -> None:
        if self.batch:
            self.session.steps.append(Post(self.batch))
            self.batch = []

    def done(self) -> Session:
        self.flush()
        posts = [s for s in self.session.steps if isinstance(s, Post)]
        if posts and self.rng.random() < 0.4:
            posts[-1].beacon = True  # the last page's events went with the page
        return self.session
