"""Server-side enrichment of an event: device, country, UTM, traffic source, clock skew.

Pure functions the collector calls per event, each cached by the value it looks at
(user agent, IP, referrer host), so a busy worker parses each distinct value once.

Device: `ua-parser` 1.0 with the regexes of `ua-parser-builtins` (the uap-core
project's), through the pure-Python resolver and our own bounded cache. A cache
miss costs about 1 ms (the resolver tries its regexes in turn); a hit, well
under a microsecond. The regexes load on first use (about 0.4 s; `preload()`
does it at start-up).

Country: the IPv4+IPv6 country database that the `geoip2fast` package ships
(`geoip2fast-ipv6.dat.gz`, loaded once, lazily: about 0.3 s and 40 MiB). The
package is MIT-licensed and states its data's source as MaxMind's GeoLite2
Country CSV (`MAXMIND:GeoLite2-Country-IPv4IPv6-en-20240618` in 1.2.2); it does
not state a licence for the data itself, which MaxMind publishes under its
GeoLite2 licence (attribution: "This product includes GeoLite2 data created by
MaxMind, available from https://www.maxmind.com"). The data is updated by a new
geoip2fast release, picked up with `uv lock --upgrade-package geoip2fast`;
clicklake never downloads it at run time. Measured on the (shared, noisy)
development machine with `bench/enrich.py`: 4 to 8 µs per lookup through
`GeoIP2Fast.lookup`, about 0.1 µs for an address already in our cache.
"""

from __future__ import annotations

import re
import threading
import warnings
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import unquote_plus

from clicklake.schema.privacy import scrub_text
from clicklake.schema.record import Device, Traffic, UtmRecord

if TYPE_CHECKING:
    from ua_parser import Parser

# -- device ------------------------------------------------------------------------

_parser: Parser | None = None
_parser_lock = threading.Lock()

#: Obvious automation that ua-parser does not always call a "Spider". `bot` must end a
#: word (`Googlebot/2.1`, `AdsBot-Google`), except in the phone brand Cubot.
_BOT_TOKENS = re.compile(
    r"(?<!cu)bot\b|crawl|spider|slurp|headless|phantomjs|lighthouse|curl/|wget/|python-requests|python-urllib"
    r"|python-httpx|aiohttp|go-http-client|java/|okhttp|libwww-perl|scrapy|axios/|node-fetch|httpclient"
    r"|facebookexternalhit|pingdom|uptimerobot",
    re.IGNORECASE,
)
_TV = re.compile(r"smart-?tv|\btv\b|tizen|web0s|netcast|hbbtv|crkey|roku|playstation|xbox|nintendo", re.IGNORECASE)
_DESKTOP_OS: Final = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS", "FreeBSD", "OpenBSD", "NetBSD"}
)
_MOBILE_OS: Final = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS", "Firefox OS"})
_NO_DEVICE = Device(device_type="other")


def _ua_parser() -> Parser:
    global _parser
    if _parser is None:
        with _parser_lock:
            if _parser is None:
                from ua_parser import BasicResolver, Parser, load_builtins

                _parser = Parser(BasicResolver(load_builtins()))
    return _parser


def _version(major: str | None, minor: str | None) -> str | None:
    if major is None:
        return None
    return major if minor is None else f"{major}.{minor}"


def device_of(user_agent: str | None) -> Device:
    """Browser, OS (versions as major.minor) and device type of a user agent.

    `device_type` is one of desktop, mobile, tablet, bot or other; `is_bot` is set
    for ua-parser's "Spider" devices and for obvious automation (`curl/`,
    `python-requests`, `HeadlessChrome`, `...bot/`). Results are cached per user
    agent and shared between callers: treat them as read-only.
    """
    if not user_agent:
        return _NO_DEVICE
    return _device_of(user_agent)


@lru_cache(maxsize=4096)
def _device_of(ua: str) -> Device:
    result = _ua_parser().parse(ua)
    agent, os, dev = result.user_agent, result.os, result.device
    os_family = os.family if os is not None else None
    is_bot = (dev is not None and dev.family == "Spider") or _BOT_TOKENS.search(ua) is not None
    if is_bot:
        kind = "bot"
    elif _TV.search(ua):
        kind = "other"
    elif (
        (dev is not None and (dev.family == "iPad" or dev.family.startswith("Kindle") or "Tablet" in (dev.brand or "")))
        or "Tablet" in ua
        or (os_family == "Android" and "Mobile" not in ua)
    ):
        kind = "tablet"
    elif "Mobi" in ua or os_family in _MOBILE_OS or (dev is not None and dev.family == "iPhone"):
        kind = "mobile"
    elif os_family in _DESKTOP_OS:
        kind = "desktop"
    else:
        kind = "other"
    return Device(
        browser=agent.family if agent is not None else None,
        browser_version=_version(agent.major, agent.minor) if agent is not None else None,
        os=os_family,
        os_version=_version(os.major, os.minor) if os is not None else None,
        device_type=kind,
        is_bot=is_bot,
    )


# -- country -------------------------------------------------------------------------


class _GeoResult(Protocol):
    country_code: str
    is_private: bool


class _Geo(Protocol):
    def lookup(self, ipaddr: str) -> _GeoResult: ...


_geo: _Geo | None = None
_geo_lock = threading.Lock()


def _geo_db() -> _Geo:
    global _geo
    if _geo is None:
        with _geo_lock:
            if _geo is None:
                with warnings.catch_warnings():
                    # geoip2fast 1.2.2's source has invalid escape sequences in strings
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", SyntaxWarning)
                    from geoip2fast import GeoIP2Fast  # type: ignore[import-untyped]

                db: _Geo = GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz")
                _geo = db
    return _geo


@lru_cache(maxsize=16384)
def geo_country(ip: str) -> str | None:
    """ISO 3166-1 alpha-2 country of an IP address; None for private, reserved, unknown or invalid ones.

    Pass the full address: it is looked up in memory only. (A /24 often gives the
    same answer, but the database has smaller networks too.)
    """
    if not ip:
        return None
    result = _geo_db().lookup(ip)
    code = result.country_code
    if result.is_private or len(code) != 2 or not code.isalpha() or not code.isupper():
        return None
    return code


def preload() -> None:
    """Load the user-agent regexes and the country database now rather than on the first event."""
    _ua_parser()
    _geo_db()


# -- UTM and traffic source ---------------------------------------------------------------

_UTM_FIELDS: Final = frozenset(UtmRecord.__struct_fields__)


def utm_from_url(page_url: str | None) -> UtmRecord | None:
    """The `utm_*` parameters of a page URL (query string, or a hash route's); None when there are none.

    Values are percent-decoded and scrubbed of PII; an empty value counts as absent,
    and the first of repeated parameters wins.
    """
    if not page_url or ("utm_" not in page_url and "UTM_" not in page_url and "Utm_" not in page_url):
        return None
    q = page_url.find("?")
    if q < 0:
        return None
    found: dict[str, str] = {}
    for param in page_url[q + 1 :].replace("#", "&").replace("?", "&").split("&"):
        if param[:4].lower() != "utm_":
            continue
        key, _, raw = param.partition("=")
        field = key[4:].lower()
        if field in _UTM_FIELDS and field not in found:
            value = (unquote_plus(raw) if "%" in raw or "+" in raw else raw).strip()
            if value:
                found[field] = scrub_text(value)
    return UtmRecord(**found) if found else None


def _host_of(url: str | None) -> str | None:
    """Lower-case host of an absolute URL (`scheme://` or `//`), without `www.`; None when it has none."""
    return _host_of_url(url) if url else None


# Cross-origin referrers are mostly bare origins (the browsers' default referrer policy),
# so a cache by the whole string hits.
@lru_cache(maxsize=8192)
def _host_of_url(url: str) -> str | None:
    i = url.find("://")
    if i > 0:
        start = i + 3
    elif url.startswith("//"):
        start = 2
    else:
        return None
    end = len(url)
    for sep in "/?#":
        j = url.find(sep, start, end)
        if j >= 0:
            end = j
    host = url[start:end]
    if "@" in host:
        host = host.rpartition("@")[2]
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    elif ":" in host:
        host = host.partition(":")[0]
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


_EMAIL_MEDIUMS: Final = frozenset({"email", "e-mail", "e_mail", "mail", "newsletter"})
_EMAIL_HOSTS: Final = frozenset(
    {
        "mail.google.com",
        "inbox.google.com",
        "outlook.live.com",
        "outlook.office.com",
        "outlook.office365.com",
        "mail.yahoo.com",
        "mail.aol.com",
        "mail.proton.me",
        "mail.protonmail.com",
        "app.fastmail.com",
        "mail.zoho.com",
        "mail.yandex.ru",
        "mail.yandex.com",
        "e.mail.ru",
        "navigator.web.de",
        "navigator.gmx.net",
        "app.tuta.com",
        "mail.tutanota.com",
        "com.google.android.gm",
        "com.microsoft.office.outlook",
        "com.yahoo.mobile.client.android.mail",
    }
)
_EMAIL_PREFIXES: Final = ("mail.", "webmail.", "email.", "outlook.")
_SEARCH_HOSTS: Final = frozenset(
    {
        "search.brave.com",
        "ya.ru",
        "so.com",
        "m.so.com",
        "search.aol.com",
        "com.google.android.googlequicksearchbox",
    }
)
#: A host with one of these labels (`google.co.uk`, `cn.bing.com`, `m.baidu.com`).
_SEARCH_LABELS: Final = frozenset(
    {
        "google",
        "bing",
        "duckduckgo",
        "yahoo",
        "yandex",
        "baidu",
        "ecosia",
        "qwant",
        "startpage",
        "naver",
        "seznam",
        "sogou",
        "kagi",
        "mojeek",
    }
)
_SOCIAL_HOSTS: Final = frozenset(
    {
        "t.co",
        "x.com",
        "t.me",
        "vk.com",
        "ok.ru",
        "lnkd.in",
        "youtu.be",
        "pin.it",
        "fb.me",
        "bsky.app",
        "news.ycombinator.com",
        "fosstodon.org",
        "hachyderm.io",
        "infosec.exchange",
        "mas.to",
        "com.zhiliaoapp.musically",
    }
)
_SOCIAL_LABELS: Final = frozenset(
    {
        "facebook",
        "instagram",
        "twitter",
        "linkedin",
        "reddit",
        "pinterest",
        "tiktok",
        "youtube",
        "tumblr",
        "snapchat",
        "whatsapp",
        "telegram",
        "discord",
        "quora",
        "weibo",
        "threads",
        "mastodon",
        "mstdn",
        "xing",
        "messenger",
    }
)


@lru_cache(maxsize=4096)
def _class_of_host(host: str) -> str:
    if host in _EMAIL_HOSTS or host.startswith(_EMAIL_PREFIXES):
        return "email"
    labels = host.split(".")
    if host in _SEARCH_HOSTS or not _SEARCH_LABELS.isdisjoint(labels):
        return "search"
    if host in _SOCIAL_HOSTS or not _SOCIAL_LABELS.isdisjoint(labels) or host.endswith(".social"):
        return "social"
    return "other"


def traffic_of(referrer: str | None, page_url: str | None, utm: UtmRecord | None) -> Traffic:
    """Where a visit came from: the referrer's host (lower case, no `www.`) and its class.

    The class is, first match wins: "email" for a campaign whose `utm_medium` is an
    e-mail medium, "campaign" for any other UTM campaign, "direct" without a
    referrer, "internal" when the referrer's host is the page's, then "email",
    "search" or "social" by the referrer's host, else "other".
    """
    host = _host_of(referrer)
    if utm is not None and (utm.source or utm.medium or utm.campaign):
        cls = "email" if utm.medium is not None and utm.medium.lower() in _EMAIL_MEDIUMS else "campaign"
    elif not referrer:
        cls = "direct"
    elif host is None:
        cls = "other"
    elif host == _host_of(page_url):
        cls = "internal"
    else:
        cls = _class_of_host(host)
    return Traffic(referrer_host=host, referrer_class=cls)


# -- clock skew ----------------------------------------------------------------------------

#: Below this difference between the server's clock and the client's, a batch's
#: timestamps are kept: it is network latency more than a wrong clock.
SKEW_THRESHOLD_MS: Final = 2_000


def corrected_ts(ts_ms: int, sent_at_ms: int | None, received_ms: int) -> int:
    """An event's time on the server's clock.

    A batch that carries the client's `sent_at` tells how far the client's clock is
    off: skew = received - sent_at. When |skew| exceeds `SKEW_THRESHOLD_MS`, every
    event of the batch moves by the skew, which keeps the gaps between events and
    the time an offline queue held them. The result is never later than
    `received_ms`. Without `sent_at`, or within the threshold, `ts_ms` is kept.
    """
    if sent_at_ms is None:
        return ts_ms
    skew = received_ms - sent_at_ms
    if -SKEW_THRESHOLD_MS <= skew <= SKEW_THRESHOLD_MS:
        return ts_ms
    return min(ts_ms + skew, received_ms)
