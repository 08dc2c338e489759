"""The made-up world the demo traffic comes from: three businesses, their visitors and campaigns.

Everything here is fixed data, so that a run with the same seed sends the same traffic:

- a **comparison site** (seed 004): pages that compare software products in a table, with
  chart controls, an A/B test of the table's layout, and affiliate links with payouts;
- a **shop** of outdoor gear: categories, products with prices, search, cart and checkout;
- **restaurant menus** (seed 000) reached by QR codes on the tables.

All names of products, brands and places are invented; domains are under `.example`.
Visitors come from public IPv4 networks of several countries: each /24 below maps to its
country in the bundled country database (`tests/demo/test_traffic.py` checks every one),
so the collector's `geo_country` sees the country the demo meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# -- visitors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    """Where visitors come from: a share of the traffic, the /24 networks they use, what they read."""

    code: str
    weight: float
    networks: tuple[str, ...]
    locales: tuple[str, ...]
    currency: str


COUNTRIES: Final = (
    Country("US", 28, ("73.15.42", "73.162.8", "98.207.3", "24.18.77", "71.202.9"), ("en-US", "es-US"), "USD"),
    Country("DE", 12, ("2.161.66", "84.160.12", "91.64.33", "79.192.5"), ("de-DE",), "EUR"),
    Country("GB", 10, ("2.28.56", "86.133.21", "81.151.44", "90.212.6"), ("en-GB",), "GBP"),
    Country("IN", 8, ("27.56.232", "49.36.101", "106.200.12", "117.200.30"), ("en-IN", "hi-IN"), "USD"),
    Country("FR", 7, ("2.7.14", "90.45.101", "86.246.10", "78.120.55"), ("fr-FR",), "EUR"),
    Country("BR", 5, ("179.96.12", "189.6.40", "201.17.3"), ("pt-BR",), "USD"),
    Country("CA", 5, ("24.70.144", "70.48.12", "99.240.3"), ("en-CA", "fr-CA"), "USD"),
    Country("IL", 4, ("77.126.230", "79.182.42", "87.70.202"), ("he-IL", "en-IL"), "USD"),
    Country("NL", 4, ("31.21.139", "84.104.20", "145.53.3"), ("nl-NL",), "EUR"),
    Country("IT", 4, ("2.35.70", "93.36.12", "151.20.7"), ("it-IT",), "EUR"),
    Country("ES", 4, ("2.140.24", "83.45.100", "88.12.30"), ("es-ES",), "EUR"),
    Country("JP", 4, ("14.133.70", "126.15.44", "60.64.9"), ("ja-JP",), "USD"),
    Country("AU", 2, ("1.126.126", "101.180.3", "120.20.77"), ("en-AU",), "USD"),
    Country("PL", 2, ("31.42.22", "83.27.14", "89.64.80"), ("pl-PL",), "EUR"),
    Country("SE", 1, ("2.70.140", "78.70.84", "90.230.11"), ("sv-SE",), "EUR"),
)
COUNTRY: Final = {c.code: c for c in COUNTRIES}

DeviceKind = Literal["desktop", "mobile", "tablet", "bot"]


@dataclass(frozen=True)
class Agent:
    """A browser (or crawler) by its User-Agent header, and the device type the collector should see."""

    kind: DeviceKind
    weight: float
    user_agent: str


_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0"
_SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)"

BROWSERS: Final = (
    Agent("desktop", 22, f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME} Safari/537.36"),
    Agent("desktop", 6, f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME} Safari/537.36 Edg/131.0.0.0"),
    Agent("desktop", 5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    Agent("desktop", 7, f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_SAFARI} Version/18.1 Safari/605.1.15"),
    Agent("desktop", 5, f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_CHROME} Safari/537.36"),
    Agent("desktop", 2, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
    Agent("mobile", 20, f"{_IPHONE} {_SAFARI} Version/18.1 Mobile/15E148 Safari/604.1"),
    Agent(
        "mobile",
        3,
        f"{_IPHONE} {_SAFARI} CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
    ),
    Agent("mobile", 16, f"Mozilla/5.0 (Linux; Android 10; K) {_CHROME} Mobile Safari/537.36"),
    Agent(
        "mobile",
        5,
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    ),
    Agent(
        "tablet", 5, f"Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) {_SAFARI} Version/17.6 Mobile/15E148 Safari/604.1"
    ),
    Agent("tablet", 2, f"Mozilla/5.0 (Linux; Android 13; SM-X710) {_CHROME} Safari/537.36"),
)
PHONES: Final = tuple(a for a in BROWSERS if a.kind == "mobile")


@dataclass(frozen=True)
class Crawler:
    """A bot that renders pages (so the pages' script reports its visits), from its operator's network."""

    agent: Agent
    networks: tuple[str, ...]


CRAWLERS: Final = (
    Crawler(
        Agent(
            "bot",
            5,
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ),
        ("66.249.66", "66.249.79"),
    ),
    Crawler(Agent("bot", 3, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"), ("157.55.39",)),
    Crawler(Agent("bot", 2, "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"), ("54.36.148",)),
    Crawler(
        Agent(
            "bot",
            2,
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/131.0.0.0 Safari/537.36",
        ),
        ("3.224.220",),
    ),
)

#: Mail clients that fetch a newsletter's tracking pixel.
MAIL_AGENTS: Final = (
    Agent("desktop", 3, "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"),
    Agent(
        "desktop",
        1,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0 Microsoft Outlook 16.0",
    ),
)

# -- where visits come from -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """How a session arrives: a referrer, UTM parameters on the landing URL, or neither (direct)."""

    weight: float
    referrer: str | None = None
    utm: tuple[tuple[str, str], ...] = ()


SOURCES: Final = (
    Source(30),  # typed the address, a bookmark, an app
    Source(22, "https://www.google.com/"),
    Source(5, "https://www.bing.com/"),
    Source(3, "https://duckduckgo.com/"),
    Source(4, "https://www.reddit.com/r/selfhosted/"),
    Source(3, "https://t.co/"),
    Source(2, "https://news.ycombinator.com/"),
    Source(3, "https://www.facebook.com/"),
    Source(2, "https://blog.partner.example/roundup"),
    Source(
        6,
        "https://www.google.com/",
        (("utm_source", "google"), ("utm_medium", "cpc"), ("utm_campaign", "black_friday"), ("utm_term", "best deal")),
    ),
    Source(4, None, (("utm_source", "newsletter"), ("utm_medium", "email"), ("utm_campaign", "weekly_digest_47"))),
    Source(
        3,
        "https://www.instagram.com/",
        (("utm_source", "instagram"), ("utm_medium", "social"), ("utm_campaign", "autumn_launch")),
    ),
    Source(
        2,
        "https://www.youtube.com/",
        (("utm_source", "youtube"), ("utm_medium", "video"), ("utm_campaign", "review_collab"), ("utm_content", "v2")),
    ),
)

# -- the comparison site (seed 004) -----------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """A software product the comparison site lists, and what its affiliate link pays per click."""

    slug: str
    name: str
    monthly_price: float
    payout_cents: int


@dataclass(frozen=True)
class Category:
    slug: str
    title: str
    products: tuple[Product, ...]
    #: Controls of the comparison table: (control id, values a visitor picks from).
    controls: tuple[tuple[str, tuple[str | int | bool, ...]], ...]


CATEGORIES: Final = (
    Category(
        "note-taking",
        "note-taking apps",
        (
            Product("notely", "Notely", 8.0, 250),
            Product("inkwell", "Inkwell", 5.0, 180),
            Product("quillbase", "Quillbase", 10.0, 320),
            Product("jotter", "Jotter", 4.0, 120),
            Product("papermint", "Papermint", 6.5, 200),
        ),
        (("offline", (True, False)), ("platform", ("ios", "android", "web", "linux")), ("max_price", (5, 10, 20))),
    ),
    Category(
        "vpn",
        "VPN services",
        (
            Product("tunnelo", "Tunnelo", 9.99, 1200),
            Product("safehop", "SafeHop", 6.49, 900),
            Product("veilnet", "Veilnet", 4.99, 650),
            Product("portcullis", "Portcullis", 11.99, 1500),
            Product("nimbusvpn", "Nimbus VPN", 3.99, 400),
        ),
        (("no_logs", (True,)), ("devices", (5, 10, 0)), ("country_count", ("50+", "90+"))),
    ),
    Category(
        "project-management",
        "project management tools",
        (
            Product("taskloom", "Taskloom", 10.0, 3000),
            Product("kanbanzai", "Kanbanzai", 7.0, 2200),
            Product("milestoner", "Milestoner", 12.0, 4500),
            Product("flowdeck", "Flowdeck", 9.0, 2500),
            Product("trackly", "Trackly", 5.0, 1500),
        ),
        (("team_size", (5, 25, 100)), ("gantt", (True, False)), ("integrations", ("git", "chat", "calendar"))),
    ),
    Category(
        "website-builders",
        "website builders",
        (
            Product("pagewright", "Pagewright", 14.0, 3500),
            Product("blockframe", "Blockframe", 12.0, 2800),
            Product("sitecrafter", "Sitecrafter", 16.0, 4000),
            Product("quickfolio", "Quickfolio", 8.0, 1800),
        ),
        (("ecommerce", (True, False)), ("custom_domain", (True,)), ("templates", ("blog", "shop", "portfolio"))),
    ),
)
PRODUCTS: Final = {p.slug: p for c in CATEGORIES for p in c.products}
#: Experiment of the comparison table's layout; variant B shows a sticky "best pick" column.
COMPARE_EXPERIMENT: Final = "compare-table-v2"


def affiliate_target(product: Product) -> str:
    """Where a product's affiliate link leads (the demo links are created with these targets)."""
    return f"https://{product.slug}.example/pricing?ref=clicklake-demo"


# -- the shop ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A product of the shop; prices in euro cents, converted for other currencies."""

    sku: str
    name: str
    category: str
    brand: str
    price_cents: int
    variants: tuple[str, ...] = ()


SHOP_ITEMS: Final = (
    Item("sku-1001", "Ridgeline 2 tent", "tents", "Fernwald", 24900, ("green", "sand")),
    Item("sku-1002", "Ridgeline 3 tent", "tents", "Fernwald", 31900, ("green", "sand")),
    Item("sku-1003", "Bivvy ultralight shelter", "tents", "Skarn", 18900),
    Item("sku-1004", "Family dome 6", "tents", "Campora", 42900),
    Item("sku-1101", "Trailpack 28 L", "backpacks", "Skarn", 11900, ("black", "rust")),
    Item("sku-1102", "Trailpack 45 L", "backpacks", "Skarn", 16900, ("black", "rust")),
    Item("sku-1103", "Summit 65+10 L", "backpacks", "Fernwald", 23900),
    Item("sku-1104", "Daypack 18 L", "backpacks", "Campora", 5900, ("blue", "grey", "red")),
    Item("sku-1201", "Stormshell rain jacket", "jackets", "Nordhang", 17900, ("S", "M", "L", "XL")),
    Item("sku-1202", "Down puffer 800", "jackets", "Nordhang", 22900, ("S", "M", "L", "XL")),
    Item("sku-1203", "Fleece midlayer", "jackets", "Campora", 6900, ("S", "M", "L", "XL")),
    Item("sku-1204", "Windshell light", "jackets", "Skarn", 8900, ("S", "M", "L")),
    Item("sku-1301", "Ridge mid GTX boots", "boots", "Bergmann", 18900, ("40", "41", "42", "43", "44", "45")),
    Item("sku-1302", "Trail runner 4", "boots", "Bergmann", 13900, ("38", "39", "40", "41", "42", "43")),
    Item("sku-1303", "Approach shoe", "boots", "Skarn", 12900, ("39", "40", "41", "42", "43")),
    Item("sku-1401", "Titan gas stove", "stoves", "Campora", 4900),
    Item("sku-1402", "Gas canister 230 g", "stoves", "Campora", 690),
    Item("sku-1403", "Cookset duo", "stoves", "Fernwald", 3900),
    Item("sku-1404", "Multifuel stove", "stoves", "Skarn", 14900),
)
SHOP_CATEGORIES: Final = ("tents", "backpacks", "jackets", "boots", "stoves")
#: What goes with what: after a product, a shopper often looks at (and buys) one of its companions.
#: The planted structure the recommendation bench (bench/recommend.py) must find.
COMPANIONS: Final = {
    "sku-1001": ("sku-1401", "sku-1403", "sku-1102"),
    "sku-1002": ("sku-1401", "sku-1403", "sku-1103"),
    "sku-1003": ("sku-1101", "sku-1404"),
    "sku-1004": ("sku-1401", "sku-1402", "sku-1104"),
    "sku-1101": ("sku-1204", "sku-1302"),
    "sku-1102": ("sku-1001", "sku-1201"),
    "sku-1103": ("sku-1002", "sku-1202", "sku-1301"),
    "sku-1104": ("sku-1203", "sku-1302"),
    "sku-1201": ("sku-1301", "sku-1203"),
    "sku-1202": ("sku-1203", "sku-1103"),
    "sku-1203": ("sku-1201", "sku-1104"),
    "sku-1204": ("sku-1302", "sku-1101"),
    "sku-1301": ("sku-1201", "sku-1103"),
    "sku-1302": ("sku-1204", "sku-1104"),
    "sku-1303": ("sku-1003", "sku-1204"),
    "sku-1401": ("sku-1402", "sku-1403"),
    "sku-1402": ("sku-1401", "sku-1404"),
    "sku-1403": ("sku-1401", "sku-1402"),
    "sku-1404": ("sku-1402", "sku-1403"),
}
#: What people type into the shop's search box; some find nothing.
SEARCHES: Final = (
    "tent",
    "2 person tent",
    "rain jacket",
    "hiking boots",
    "backpack 30l",
    "gas stove",
    "down jacket women",
    "trail running shoes",
    "ultralight",
    "sleeping bag",
    "headlamp",
    "stormshell",
)
#: Euro cents to minor units of another currency.
FX: Final = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85}
COUPONS: Final = (("AUTUMN10", 10), ("WELCOME15", 15))
VAT: Final = 0.19
FREE_SHIPPING_CENTS: Final = 10000
SHIPPING_CENTS: Final = 590

# -- the restaurant menus (seed 000) ----------------------------------------------------------


@dataclass(frozen=True)
class Restaurant:
    """A restaurant whose menu is read on phones after a scan of the QR code on each table."""

    slug: str
    name: str
    country: str
    tables: int
    #: section -> (dish, price in the local currency's minor unit)
    menu: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


RESTAURANTS: Final = (
    Restaurant(
        "trattoria-sole",
        "Trattoria Sole",
        "IT",
        18,
        (
            ("antipasti", (("Bruschetta al pomodoro", 650), ("Burrata e pesche", 1100))),
            ("pizza", (("Margherita", 900), ("Diavola", 1150), ("Quattro formaggi", 1250))),
            ("pasta", (("Cacio e pepe", 1300), ("Tagliatelle al ragù", 1450))),
            ("dolci", (("Tiramisù", 700), ("Panna cotta", 650))),
        ),
    ),
    Restaurant(
        "kyo-sushi",
        "Kyo Sushi Bar",
        "DE",
        12,
        (
            ("nigiri", (("Sake nigiri", 650), ("Maguro nigiri", 750))),
            ("maki", (("California roll", 1100), ("Spicy tuna roll", 1250))),
            ("bowls", (("Chirashi", 1850), ("Poke salmon", 1450))),
            ("drinks", (("Matcha latte", 480), ("Yuzu soda", 420))),
        ),
    ),
    Restaurant(
        "cafe-lumen",
        "Café Lumen",
        "FR",
        10,
        (
            ("petit-déjeuner", (("Croissant", 250), ("Tartine confiture", 450))),
            ("boissons", (("Café crème", 380), ("Chocolat chaud", 420))),
            ("déjeuner", (("Croque-monsieur", 1050), ("Quiche du jour", 1150))),
        ),
    ),
)


def menu_target(domain: str, restaurant: Restaurant) -> str:
    """The menu page a restaurant's QR code leads to (the demo QR links are created with these targets)."""
    return f"https://{domain}/menu/{restaurant.slug}"


# -- mistakes ---------------------------------------------------------------------------------

#: Ways a buggy integration breaks an event: (why, the change). Each change breaks the
#: contract on purpose, so the collector rejects the event and keeps it in quarantine.
BREAKAGES: Final = (
    ("an action the contract does not know", {"event_type": "chart_interaction", "chart": {"action": "zoom"}}),
    (
        "money as a fraction",
        {"event_type": "purchase", "order": {"order_id": "x", "revenue_minor": 49.95, "currency": "EUR"}},
    ),
    ("a currency in lower case", {"event_type": "product_view", "product": {"product_id": "sku-1", "currency": "eur"}}),
    ("a timestamp without an offset", {"ts": "2026-11-22 10:00:00"}),
    ("a field the contract does not have", {"page": "/pricing"}),
    ("a custom event name starting with a digit", {"event_type": "custom", "custom": {"name": "1st_visit"}}),
)
