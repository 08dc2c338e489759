"""Privacy at the door: what is left of an IP, a URL or a text after the collector saw it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clicklake.collect import segment
from clicklake.collect.ingest import Client, SiteView, process
from clicklake.schema.envelope import Rejected, decode_payload
from clicklake.schema.privacy import (
    DEFAULT_SCRUB_KEYS,
    REDACTED,
    anonymize_ip,
    dnt_or_gpc,
    scrub_id,
    scrub_properties,
    scrub_refused,
    scrub_text,
    scrub_url,
    visitor_id,
)
from clicklake.schema.privacy import _redact_text as redact_every_way

# -- IP addresses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("8.8.8.8", "8.8.8.0"),
        ("10.1.2.255", "10.1.2.0"),
        ("2001:db8:abcd:1234:5678::1", "2001:db8:abcd::"),
        ("2a00:1450:4001:80b::200e", "2a00:1450:4001::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("::FFFF:198.51.100.9", "198.51.100.0"),
        ("::1", "::"),
        ("fe80::1ff:fe23:4567:890a%eth0", "fe80::"),
        # 6to4 carries an IPv4 address in bits 16-48: only its /24 may stay
        ("2002:cb00:714d::1", "2002:cb00:7100::"),
    ],
)
def test_anonymize_ip_keeps_only_the_network(ip: str, expected: str) -> None:
    assert anonymize_ip(ip) == expected


@pytest.mark.parametrize(
    "garbage", ["", "garbage", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4:443", "::g", "12345", " "]
)
def test_anonymize_ip_refuses_what_is_not_an_address(garbage: str) -> None:
    assert anonymize_ip(garbage) is None


# -- visitor id --------------------------------------------------------------------

SALT = bytes(range(32))
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def test_visitor_id_is_stable_within_a_day() -> None:
    first = visitor_id(SALT, "site_1", "203.0.113.77", UA)
    assert first == visitor_id(SALT, "site_1", "203.0.113.77", UA)
    assert re.fullmatch(r"v_[0-9a-f]{32}", first)
    assert "203.0.113" not in first


@pytest.mark.parametrize("salt", [SALT, b"k", bytes(100)])
def test_visitor_id_is_hmac_sha256_of_the_length_prefixed_parts(salt: bytes) -> None:
    # pinned: a change of format in the middle of a day would split every visitor in two
    msg = b"6:site_112:203.0.113.77" + UA.encode()
    expected = "v_" + hmac.new(salt, msg, hashlib.sha256).hexdigest()[:32]
    assert visitor_id(salt, "site_1", "203.0.113.77", UA) == expected


@pytest.mark.parametrize(
    ("salt", "site", "ip", "ua"),
    [
        (b"another day's salt", "site_1", "203.0.113.77", UA),
        (SALT, "site_2", "203.0.113.77", UA),
        (SALT, "site_1", "203.0.113.78", UA),
        (SALT, "site_1", "203.0.113.77", UA.replace("124", "125")),
        # the parts cannot run into each other
        (SALT, "site_12", "03.0.113.77", UA),
        (SALT, "site_1", "203.0.113.7", "7" + UA),
    ],
)
def test_visitor_id_changes_with_the_salt_site_ip_or_user_agent(salt: bytes, site: str, ip: str, ua: str) -> None:
    assert visitor_id(salt, site, ip, ua) != visitor_id(SALT, "site_1", "203.0.113.77", UA)


# -- free text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at jane.doe@example.com please", f"mail me at {REDACTED} please"),
        ("JANE+news@Example.co.uk", REDACTED),
        ("contact: j_o-e.smith@mail.sub.example.io.", f"contact: {REDACTED}"),
        ("a%40b.com", REDACTED),
        ("jane%2Bx%40example.org", REDACTED),
        ("q=jane.doe%40example.com&x=1", f"q={REDACTED}&x=1"),
        ("two: a@b.de and c@d.fr", f"two: {REDACTED} and {REDACTED}"),
    ],
)
def test_email_addresses_are_redacted(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "+1 415 555 2671",
        "+1-415-555-2671",
        "+1.415.555.2671",
        "+14155552671",
        "+44 20 7946 0958",
        "+49 (0)30 1234567",
        "+33 1 23 45 67 89",
        "+91-98765-43210",
        "+4915112345678",
        "(415) 555-2671",
        "415-555-2671",
        "415.555.2671",
        "415 555 2671",
        "555-2671",
        "1-800-555-1234",
        "020 7946 0958",
        "030 1234567",
        "030-1234567",
        "(030) 1234567",
        "01.23.45.67.89",
        "06 12 34 56 78",
        "0151 12345678",
        "01511234567",
    ],
)
def test_phone_numbers_are_redacted(phone: str) -> None:
    assert scrub_text(f"call me on {phone} tonight") == f"call me on {REDACTED} tonight"


def test_phone_numbers_in_context() -> None:
    assert scrub_text("tel:+14155552671") == f"tel:{REDACTED}"
    assert scrub_text("(call 555-2671)") == f"(call {REDACTED})"
    assert scrub_text("call 415 555 2671 2 times") == f"call {REDACTED} 2 times"


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",
        "5105105105105100",
        "378282246310005",
        "3782 822463 10005",
        "6011 1111 1111 1117",
        "4012888888881881",
        "4222222222222",
    ],
)
def test_luhn_valid_card_numbers_are_redacted(card: str) -> None:
    assert scrub_text(f"paid with {card}, thanks") == f"paid with {REDACTED}, thanks"


def test_a_card_number_beside_other_numbers_is_found() -> None:
    assert scrub_text("card 4111 1111 1111 1111 2 items") == f"card {REDACTED} 2 items"
    assert scrub_text("room 42 4111 1111 1111 1111") == f"room {REDACTED}"
    assert scrub_text("visa,4111111111111111,12/27") == f"visa,{REDACTED},12/27"


@pytest.mark.parametrize(
    "text",
    [
        # Luhn-invalid card-like numbers
        "4111 1111 1111 1112",
        "4111111111111112",
        "5555-5555-5555-4445",
        # prices, years, ranges, counts
        "Price: 1299.00",
        "$1,299.99",
        "€1.299,00",
        "USD 12345678.90",
        "1 299 000 visitors",
        "1.299.000 visitors",
        "in 2024",
        "from 1999-2024",
        "2023 2024",
        # ids of fewer than 7 digits, and ids inside words
        "Order #123456",
        "order ORD-2024-1234567",
        "sku AB1234567",
        "550e8400-e29b-41d4-a716-446655440000",
        "ISBN 978-3-16-148410-0",
        # dates and timestamps
        "2024-05-01",
        "2024-05-01T12:34:56Z",
        "2024-05-01T12:34:56.789+02:00",
        "2024-05-01 12:34:56",
        "01.05.2024",
        "05/01/2024",
        "12/31/2023 23:59",
        "1717171717",
        "1717171717123",
        # addresses and versions
        "192.168.100.200",
        "version 10.15.7",
        # not addresses
        "@handle",
        "user@localhost",
        "a @ b . com",
        "",
    ],
)
def test_ordinary_text_is_left_alone_and_the_same_object(text: str) -> None:
    assert scrub_text(text) is text


# Any address this finds must be gone after scrubbing.
REFERENCE_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

emails = st.from_regex(
    r"[A-Za-z0-9._%+-]{1,12}@[A-Za-z0-9-]{1,10}(\.[A-Za-z0-9-]{1,6}){0,2}\.[A-Za-z]{2,6}", fullmatch=True
)
pieces = st.sampled_from([*"ab.Z9_%+-@ ]/=&?é²\n", "%40", "+1 ", "4111 ", ".com", "a@b"])
noise = st.lists(pieces, max_size=20).map("".join)
texts = st.lists(st.one_of(emails, noise, st.text(max_size=10)), max_size=6).map("".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_scrub_text_leaves_no_email_address_and_never_raises(text: str) -> None:
    out = scrub_text(text)
    assert REFERENCE_EMAIL.search(out) is None
    if REFERENCE_EMAIL.search(text) is None and "%40" not in text and out == text:
        assert out is text


# -- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/products/blue-shoe?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
        "https://shop.example.com/item/12345678?ts=1717171717123&page=2#reviews",
        "https://example.com/search?q=running+shoes&sort_key=price&gift_card=blue",
        "https://example.com/?token",
        "https://example.com/blog/2024-05-01/hello-world",
        "https://medium.com/@jane/my-post-1a2b3c",
        "/files//shared@team/readme",
        "/relative/path?x=1",
        "",
    ],
)
def test_a_clean_url_is_returned_as_the_same_object(url: str) -> None:
    assert scrub_url(url, DEFAULT_SCRUB_KEYS) is url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:hunter2@example.com/a?b=1", "https://example.com/a?b=1"),
        ("https://jane@example.com/", "https://example.com/"),
        (
            "https://example.com/reset?token=abc123&next=%2Fhome",
            f"https://example.com/reset?token={REDACTED}&next=%2Fhome",
        ),
        ("https://example.com/?Password=hunter2&lang=en", f"https://example.com/?Password={REDACTED}&lang=en"),
        ("https://example.com/?API_KEY=sk_live_1&x=1", f"https://example.com/?API_KEY={REDACTED}&x=1"),
        ("https://example.com/?email=a%40b.com&x=1", f"https://example.com/?email={REDACTED}&x=1"),
        ("https://example.com/?user_email=jo", f"https://example.com/?user_email={REDACTED}"),
        ("https://example.com/?customer%5Bemail%5D=jo", f"https://example.com/?customer%5Bemail%5D={REDACTED}"),
        ("https://example.com/?x-api-key=abc", f"https://example.com/?x-api-key={REDACTED}"),
        ("https://example.com/p?q=jane%40example.com", f"https://example.com/p?q={REDACTED}"),
        ("https://example.com/u/jane@example.com/profile", f"https://example.com/u/{REDACTED}/profile"),
        ("https://example.com/u/jane%40example.com/profile", f"https://example.com/u/{REDACTED}/profile"),
        ("https://example.com/?q=4111+1111+1111+1111", f"https://example.com/?q={REDACTED}"),
        ("https://example.com/?q=%2B1%20415%20555%202671&lang=en", f"https://example.com/?q={REDACTED}&lang=en"),
        ("https://example.com/cb#access_token=xyz&state=1", f"https://example.com/cb#access_token={REDACTED}&state=1"),
        ("https://example.com/p#contact/jane@example.com", f"https://example.com/p#contact/{REDACTED}"),
        ("https://example.com/#/callback?session=s3cr3t&x=1", f"https://example.com/#/callback?session={REDACTED}&x=1"),
        ("//bob:pw@cdn.example.com/a.js", "//cdn.example.com/a.js"),
    ],
)
def test_secrets_and_pii_are_removed_from_urls(url: str, expected: str) -> None:
    assert scrub_url(url, DEFAULT_SCRUB_KEYS) == expected


def test_scrub_keys_are_case_insensitive_and_replaceable() -> None:
    keys = frozenset({"Coupon"})
    assert scrub_url("https://e.com/?COUPON=XMAS&token=t", keys) == f"https://e.com/?COUPON={REDACTED}&token=t"


def test_a_url_is_judged_again_under_other_keys_and_pii_is_redacted_every_time() -> None:
    # the clean-URL memory must not carry a verdict over to another key set, nor remember a dirty URL
    url = "https://e.com/?coupon=XMAS&page=2"
    assert scrub_url(url, DEFAULT_SCRUB_KEYS) is url
    assert scrub_url(url, frozenset({"coupon"})) == f"https://e.com/?coupon={REDACTED}&page=2"
    dirty = "https://e.com/u/jane@example.com?token=abc"
    for _ in range(3):
        assert scrub_url(dirty) == f"https://e.com/u/{REDACTED}?token={REDACTED}"


# -- properties and browser signals ----------------------------------------------------------


def test_scrub_properties() -> None:
    props = {"plan": "pro", "Password": "hunter2", "note": "ring 030 1234567", "seats": "12"}
    assert scrub_properties(props) == {"plan": "pro", "Password": REDACTED, "note": f"ring {REDACTED}", "seats": "12"}
    assert props["Password"] == "hunter2"  # the input is not changed
    clean = {"plan": "pro", "seats": "12"}
    assert scrub_properties(clean) is clean


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (False, False)),
        ({"DNT": "1"}, (True, False)),
        ({"dnt": "0", "sec-gpc": "1"}, (False, True)),
        ({"Dnt": " 1 ", "Sec-GPC": "1", "user-agent": "x"}, (True, True)),
        ({"SEC-GPC": "0"}, (False, False)),
    ],
)
def test_dnt_or_gpc(headers: dict[str, str], expected: tuple[bool, bool]) -> None:
    assert dnt_or_gpc(headers) == expected


# -- what the door refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # the same findings as in a valid event's fields, wherever they are in the event
        (
            b'{"ts":"yesterday","ctx":{"page_url":"https://s.example/?email=jane@x.example&n=1",'
            b'"title":"+44 20 7946 0000"}}',
            b'{"ts":"yesterday","ctx":{"page_url":"https://s.example/?email=[redacted]&n=1","title":"[redacted]"}}',
        ),
        # secret keys, a card as a number, IP addresses (alone and in a text) cut to their network
        (
            b'{"password":"hunter2","cc":4111111111111111,"n":4111111111111111,"ip":"203.0.113.77",'
            b'"note":"from 2001:db8:abcd:12::1 and 10.1.2.3","id":"0b9f6c1e-2a7d-4d3b-9c1e-5f2a7d4d3b9c"}',
            b'{"password":"[redacted]","cc":"[redacted]","n":"[redacted]","ip":"203.0.113.0",'
            b'"note":"from 2001:db8:abcd:: and 10.1.2.0","id":"0b9f6c1e-2a7d-4d3b-9c1e-5f2a7d4d3b9c"}',
        ),
        # a name that is an address
        (b'{"jane@x.example":1}', b'{"[redacted]":1}'),
        # bytes that are not UTF-8 do not hide an address, nor stop the scrubbing
        (b'{"title":"jane\xff@x.example, (415) 555-2671"}', b'{"title":"[redacted], [redacted]"}'),
        # not JSON at all: scrubbed as text, secret members too
        (b'{"password": "hunter2", "q": "jane@x.example", oops', b'{"password": "[redacted]", "q": "[redacted]", oops'),
        (b"not json: call +44 20 7946 0000 from 198.51.100.7", b"not json: call [redacted] from 198.51.100.0"),
    ],
)
def test_refused_bytes_are_scrubbed_like_a_valid_event(raw: bytes, expected: bytes) -> None:
    assert scrub_refused(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_type":"page_view","ts":"2026-01-01T00:00:00Z","user":{"consent":{"analytics":true}}}',
        b'{"event_type": "page_view",  "ts": 1e3, "x": [1, 2.5, null, true]}',
        b"[1, 2, 3]",
        b"\xff\xfe garbage",
        b"",
    ],
)
def test_clean_refused_bytes_are_kept_as_sent(raw: bytes) -> None:
    assert scrub_refused(raw) is raw


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_type":"page_view","ts":"bad","user":{"consent":{"analytics":false}},"ctx":{"title":"x"}}',
        b'{"user":{"consent":{"analytics":"false"}}}',
        b'{"user":{"consent":{"analytics":0}}}',
        b'{"type":"group","context":{"consent":{"categoryPreferences":{"Analytics":false}}}}',
        b'{"user":{"consent":{"analytics":false}}, oops',  # not JSON: the words still say no
    ],
)
def test_nothing_is_kept_of_a_refused_event_without_consent(raw: bytes) -> None:
    assert scrub_refused(raw) is None


JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts, emails),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.one_of(texts, st.sampled_from(["email", "q"])), children)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSONISH.map(lambda v: msgspec.json.encode(v)), st.binary(max_size=200)), st.binary(max_size=3))
def test_scrub_refused_never_raises_and_leaves_no_email_address(raw: bytes, junk: bytes) -> None:
    for candidate in (raw, raw + junk, junk + raw):
        out = scrub_refused(candidate)
        if out is not None:
            assert REFERENCE_EMAIL.search(out.decode("utf-8", "replace")) is None


def test_a_rejection_scrubs_its_bytes_however_it_is_made() -> None:
    """The collector, the loader (its own rejections, and those it decodes from the stream, which an
    older collector may have written unscrubbed) and a replay all get a `Rejected`: none keeps PII."""
    raw = b'{"event_type":"page_view","ts":"x","ctx":{"page_url":"https://s.example/?m=jane@x.example"}}'
    made = Rejected(site_id="s", received_ts=1, source="loader", reason="r", raw=raw)
    assert b"jane@x.example" not in made.raw and b"[redacted]" in made.raw
    old = b'{"kind":"rejected","site_id":"s","received_ts":1,"source":"http","reason":"r","raw":"%s"}'
    decoded = decode_payload(old % base64.b64encode(raw))
    assert isinstance(decoded, Rejected) and b"jane@x.example" not in decoded.raw
    no_consent = b'{"user":{"consent":{"analytics":false}},"ctx":{"title":"jane@x.example"}}'
    dropped = decode_payload(old % base64.b64encode(no_consent))
    assert isinstance(dropped, Rejected) and dropped.raw == b"" and "consent is false" in dropped.reason
    # a payload the loader cannot read as a rejection keeps the inner bytes scrubbed too
    unreadable = (b'{"kind":"rejected","raw":"%s"}' % base64.b64encode(raw)).decode()
    kept = Rejected(site_id=None, received_ts=1, source="loader", reason="r", raw=unreadable.encode())
    inner = base64.b64decode(json.loads(kept.raw)["raw"])
    assert b"jane@x.example" not in inner and b"[redacted]" in inner


def test_the_collector_keeps_nothing_of_refused_events_without_consent_or_from_dnt() -> None:
    bad = {"event_type": "page_view", "ts": "soon", "ctx": {"title": "call +44 20 7946 0000"}}
    raws = [
        msgspec.json.encode({**bad, "user": {"consent": {"analytics": True}}}),
        msgspec.json.encode({**bad, "user": {"consent": {"analytics": False}}}),
    ]
    site = SiteView("site_1")
    out = process(raws, site, Client("203.0.113.9", "ua"), salt=SALT)
    assert (out.accepted, len(out.rejected), out.consent_denied, len(out.records)) == (0, 2, 1, 1)
    kept = decode_payload(out.records[0][1])
    assert isinstance(kept, Rejected) and b"+44 20 7946 0000" not in kept.raw and b"[redacted]" in kept.raw
    dnt = process(raws, site, Client("203.0.113.9", "ua", dnt=True), salt=SALT)
    assert (len(dnt.rejected), dnt.consent_denied, dnt.records) == (2, 2, [])


def test_ids_that_hold_pii_are_stored_as_their_hash() -> None:
    event = {
        "event_type": "qr_scan",
        "ts": "2026-01-01T00:00:00Z",
        "user": {"consent": {"analytics": True}, "user_id_hash": "jane@x.example", "anonymous_id": "a-1"},
        "session": {"session_id": "s-1", "utm": {"term": "jane@x.example"}},
        "qr": {"link_id": "l1", "target": "https://s.example/?email=jane@x.example", "placement": "+44 20 7946 0000"},
    }
    out = process([msgspec.json.encode(event)], SiteView("s"), Client("203.0.113.9", "ua"), salt=SALT, now_ms=ms_of())
    record = msgspec.json.decode(out.records[0][1])
    assert b"jane@x.example" not in out.records[0][1] and b"7946" not in out.records[0][1]
    assert record["user"]["user_id_hash"] == hashlib.sha256(b"jane@x.example").hexdigest()
    assert record["user"]["anonymous_id"] == "a-1" and record["session"]["session_id"] == "s-1"


def ms_of() -> int:
    return 1_767_225_600_000 + 60_000  # 2026-01-01T00:01:00Z


def test_segment_messages_it_does_not_take_are_kept_without_ids_or_personal_traits() -> None:
    body = {
        "type": "group",
        "userId": "jane@x.example",
        "previousId": 42,
        "traits": {"email": "jane@x.example", "name": "Jane", "plan": "pro"},
        "context": {"ip": "198.51.100.7", "traits": {"phone": "+1 415 555 2671", "tier": 2}},
    }
    t = segment.translate(msgspec.json.encode({"batch": [body]}), None)
    assert list(t.refused) == [0]
    kept = msgspec.json.decode(t.raws[0])
    assert kept["userIdHash"] == hashlib.sha256(b"jane@x.example").hexdigest() and "userId" not in kept
    assert kept["previousIdHash"] == hashlib.sha256(b"42").hexdigest()
    assert kept["traits"] == {"plan": "pro"} and kept["context"]["traits"] == {"tier": 2}
    scrubbed = scrub_refused(t.raws[0])
    assert scrubbed is not None and b"198.51.100.7" not in scrubbed and b"198.51.100.0" in scrubbed


@given(st.text(min_size=1, max_size=40))
def test_an_id_that_is_already_a_digest_is_kept_as_it_is(person: str) -> None:
    """A `user_id_hash` sent as the SHA-256 of an id (often with long digit runs) is not hashed again."""
    for digest in (hashlib.sha256(person.encode()).hexdigest(), hashlib.md5(person.encode()).hexdigest().upper()):
        assert scrub_id(digest) == digest


def test_a_digest_named_as_the_sdk_sends_it_is_kept_even_when_it_starts_like_a_phone_number() -> None:
    """`identifyEmail` sends `sha256:` and 64 hex digits; ten digits after the colon once read as a phone."""
    for digest in ("sha256:4155552671" + "ab" * 27, "sha256:" + hashlib.sha256(b"jane").hexdigest(), "MD5:" + "0" * 32):
        assert scrub_id(digest) == digest
    assert scrub_id("sha256:jane@example.com") == hashlib.sha256(b"sha256:jane@example.com").hexdigest()


@pytest.mark.parametrize("size", [31, 33, 39, 41, 63, 65, 127, 129])
def test_only_hex_of_a_digest_s_length_is_taken_for_one(size: int) -> None:
    """A phone number (`030 1234567` as a trunk number) at the start of hex of another length is found."""
    hexes = "0301234567" + "ab" * 64
    for value in hexes[:size], "sha256:" + hexes[:size]:
        assert scrub_id(value) == hashlib.sha256(value.encode()).hexdigest()
    for digest in (
        hexes[: size - 1 if size % 8 == 1 else size + 1],
        "sha256:" + hexes[: size - 1 if size % 8 == 1 else size + 1],
    ):
        assert scrub_id(digest) == digest  # 32, 40, 64 or 128 hex digits


#: Texts of the kind the short cut in `scrub_text` judges at once (a letter first, then word
#: characters, `.`, `-`, `+`), with digit runs long enough to be card or phone numbers, next to
#: texts just outside it (a space, `(`, `@`, `:` or a digit first).
_ID_LIKE = st.text(alphabet="abcXYZ_é0123456789.-+", max_size=40)
_NEAR = st.sampled_from(["", " ", "(", "@", "%40", ":", "4", "a", "+1 "])


@settings(max_examples=500)
@given(_NEAR, _ID_LIKE, _NEAR, _ID_LIKE)
def test_the_short_cut_for_id_like_texts_finds_what_the_full_scan_finds(a: str, b: str, c: str, d: str) -> None:
    text = a + b + c + d
    assert scrub_text(text) == redact_every_way(text)


@pytest.mark.parametrize("text", ["sid_4155552671", "spring-sale", "v1.2.3-rc.4", "order_4111111111111111"])
def test_id_like_texts_are_returned_as_the_same_object(text: str) -> None:
    assert scrub_text(text) is text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("415-555-2671", REDACTED),
        ("0301234567", REDACTED),
        ("a(415) 555-2671", "a(" + REDACTED),
        ("x +14155552671", "x " + REDACTED),
        ("jane@example.com", REDACTED),
        ("n 4111 1111 1111 1111", "n " + REDACTED),
    ],
)
def test_texts_just_outside_the_short_cut_are_still_scrubbed(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_an_id_that_holds_pii_is_stored_as_its_sha256() -> None:
    assert scrub_id("jane@example.com") == hashlib.sha256(b"jane@example.com").hexdigest()
