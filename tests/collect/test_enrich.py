"""Enrichment: what a dashboard shows about devices, countries, campaigns and sources."""

from __future__ import annotations

import pytest

from clicklake.collect.enrich import (
    SKEW_THRESHOLD_MS,
    corrected_ts,
    device_of,
    geo_country,
    traffic_of,
    utm_from_url,
)
from clicklake.schema.record import Device, Traffic, UtmRecord

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
CURL = "curl/8.5.0"
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36"
)
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (CHROME_WINDOWS, Device("Chrome", "124.0", "Windows", "10", "desktop", False)),
        (FIREFOX_MAC, Device("Firefox", "125.0", "Mac OS X", "14.4", "desktop", False)),
        (IPHONE_SAFARI, Device("Mobile Safari", "17.4", "iOS", "17.4", "mobile", False)),
        (IPAD, Device("Mobile Safari", "16.6", "iOS", "16.6", "tablet", False)),
        (ANDROID_PHONE, Device("Chrome Mobile", "124.0", "Android", "14", "mobile", False)),
        (ANDROID_TABLET, Device("Chrome", "124.0", "Android", "13", "tablet", False)),
        (CUBOT_PHONE, Device("Chrome Mobile", "120.0", "Android", "10", "mobile", False)),
    ],
)
def test_device_of_real_browsers(ua: str, expected: Device) -> None:
    assert device_of(ua) == expected


@pytest.mark.parametrize(
    ("ua", "browser"),
    [
        (GOOGLEBOT, "Googlebot"),
        (GOOGLEBOT_SMARTPHONE, "Googlebot"),
        (CURL, "curl"),
        (HEADLESS_CHROME, "HeadlessChrome"),
        ("python-requests/2.31.0", "Python Requests"),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bingbot"),
    ],
)
def test_device_of_bots(ua: str, browser: str) -> None:
    device = device_of(ua)
    assert device.is_bot and device.device_type == "bot"
    assert device.browser == browser


def test_device_of_nothing_is_other() -> None:
    assert device_of(None) == device_of("") == Device(device_type="other")
    assert device_of("definitely not a browser").device_type == "other"


def test_device_of_is_cached_per_user_agent() -> None:
    assert device_of(CHROME_WINDOWS) is device_of(CHROME_WINDOWS)


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("81.2.69.142", "GB"),
        ("193.0.6.139", "NL"),
        ("2001:4860:4860::8888", "US"),
    ],
)
def test_geo_country_of_public_addresses(ip: str, country: str) -> None:
    assert geo_country(ip) == country


@pytest.mark.parametrize("ip", ["10.0.0.1", "127.0.0.1", "192.168.1.20", "100.64.0.1", "::1", "garbage", ""])
def test_geo_country_of_private_reserved_or_invalid_addresses_is_none(ip: str) -> None:
    assert geo_country(ip) is None


def test_utm_from_url() -> None:
    url = "https://shop.example.com/p?utm_source=Newsletter&utm_medium=email&utm_campaign=spring%20sale&id=3"
    assert utm_from_url(url) == UtmRecord(source="Newsletter", medium="email", campaign="spring sale")
    assert utm_from_url("https://e.com/?x=1&UTM_TERM=running+shoes&utm_content=hero") == UtmRecord(
        term="running shoes", content="hero"
    )
    assert utm_from_url("https://e.com/#/landing?utm_source=fb") == UtmRecord(source="fb")
    assert utm_from_url("https://e.com/?a=1#/x?utm_source=fb&utm_source=ig") == UtmRecord(source="fb")


def test_utm_values_are_scrubbed() -> None:
    assert utm_from_url("https://e.com/?utm_source=nl&utm_term=jane%40example.com") == UtmRecord(
        source="nl", term="[redacted]"
    )


@pytest.mark.parametrize(
    "url", [None, "", "https://e.com/", "https://e.com/?utm_source=", "https://e.com/?source=x", "https://e.com/utm_x"]
)
def test_utm_from_url_without_utm_is_none(url: str | None) -> None:
    assert utm_from_url(url) is None


PAGE = "https://www.shop.example.com/products/blue"


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        (None, Traffic(None, "direct")),
        ("", Traffic(None, "direct")),
        ("https://shop.example.com/cart", Traffic("shop.example.com", "internal")),
        ("https://www.google.com/", Traffic("google.com", "search")),
        ("https://www.google.co.uk/search?q=shoes", Traffic("google.co.uk", "search")),
        ("https://www.bing.com/", Traffic("bing.com", "search")),
        ("https://duckduckgo.com/", Traffic("duckduckgo.com", "search")),
        ("https://search.brave.com/search?q=x", Traffic("search.brave.com", "search")),
        ("https://yandex.ru/", Traffic("yandex.ru", "search")),
        ("https://www.ecosia.org/", Traffic("ecosia.org", "search")),
        ("https://t.co/AbC123", Traffic("t.co", "social")),
        ("https://l.facebook.com/l.php?u=x", Traffic("l.facebook.com", "social")),
        ("https://www.linkedin.com/feed/", Traffic("linkedin.com", "social")),
        ("https://old.reddit.com/r/python/", Traffic("old.reddit.com", "social")),
        ("https://mastodon.social/@jane", Traffic("mastodon.social", "social")),
        ("https://chaos.social/@jane", Traffic("chaos.social", "social")),
        ("https://news.ycombinator.com/item?id=1", Traffic("news.ycombinator.com", "social")),
        ("https://mail.google.com/mail/u/0/", Traffic("mail.google.com", "email")),
        ("https://outlook.live.com/mail/0/", Traffic("outlook.live.com", "email")),
        ("https://webmail.example.net/", Traffic("webmail.example.net", "email")),
        ("android-app://com.google.android.gm/", Traffic("com.google.android.gm", "email")),
        ("https://blog.example.org/post", Traffic("blog.example.org", "other")),
        ("https://WWW.Partner.Example:8443/x", Traffic("partner.example", "other")),
        ("https://user:pw@WWW.Example.com./x", Traffic("example.com", "other")),
        ("//cdn.example.net/page", Traffic("cdn.example.net", "other")),
        ("https://[2001:db8::1]:8080/", Traffic("2001:db8::1", "other")),
        ("not a url", Traffic(None, "other")),
    ],
)
def test_traffic_of_referrers(referrer: str | None, expected: Traffic) -> None:
    assert traffic_of(referrer, PAGE, None) == expected


def test_traffic_of_campaigns() -> None:
    assert traffic_of("https://www.google.com/", PAGE, UtmRecord(source="google", medium="cpc")) == Traffic(
        "google.com", "campaign"
    )
    assert traffic_of(None, PAGE, UtmRecord(source="newsletter", medium="Email")) == Traffic(None, "email")
    assert traffic_of(None, PAGE, UtmRecord(campaign="spring")) == Traffic(None, "campaign")


def test_corrected_ts() -> None:
    received = 1_780_000_000_000
    # no sent_at, or a skew within the threshold (network latency): kept
    assert corrected_ts(received - 5_000, None, received) == received - 5_000
    assert corrected_ts(received - 5_000, received - SKEW_THRESHOLD_MS, received) == received - 5_000
    # a client clock an hour slow: every event moves by the hour, gaps kept
    hour = 3_600_000
    sent = received - hour
    assert corrected_ts(sent - 30_000, sent, received) == received - 30_000
    # a clock ten minutes fast
    assert corrected_ts(received + 600_000 - 1_000, received + 600_000, received) == received - 1_000
    # never after the server received it
    assert corrected_ts(sent + 5_000, sent, received) == received
