"""Privacy at the door: what the collector does to an event before anything is stored.

Part of the contract (`schema/`) rather than of the collector, because every stage that keeps
an event's bytes applies it: the collector, the loader's quarantine, and the stream's
`Rejected` envelope, which scrubs whatever it carries (`schema/envelope.py`).

Every function here is pure and cheap on the common case, because the collector
calls them per event: IP truncation, the cookieless daily visitor id, PII
scrubbing of free text, URLs and custom properties, and the DNT / GPC signals.

Scrubbing replaces what it finds with `REDACTED` and leaves everything else
byte-identical; when it finds nothing it returns the very object it was given,
so a caller can test `out is s` to know nothing changed. What it looks for:

- e-mail addresses, also percent-encoded (`jane%40example.com`);
- phone numbers: `+CC` international forms, and national forms of 7 to 15
  digits grouped by spaces, dots, dashes or parentheses (`(415) 555-2671`,
  `030 1234567`, `01.23.45.67.89`), or an ungrouped run starting with a trunk
  `0` (`01511234567`). Prices, years and ranges of years, thousands groupings,
  dates and timestamps, IPv4 addresses and numbers of fewer than 7 digits are
  left alone; so is an ungrouped national number without a leading `0`
  (`4155552671`), which cannot be told from an id or a Unix time;
- payment card numbers: 13 to 19 digits, plain or grouped by spaces or dashes,
  that pass the Luhn check and start with 2 to 6 (the first digit of every
  major scheme; this keeps millisecond timestamps, which start with 1, intact).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import socket
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, unquote, unquote_plus

import msgspec

REDACTED: Final = "[redacted]"

#: Query parameter and custom property keys whose values are always redacted.
DEFAULT_SCRUB_KEYS: Final = frozenset(
    {
        "email",
        "e-mail",
        "mail",
        "token",
        "access_token",
        "auth",
        "password",
        "pass",
        "pwd",
        "secret",
        "api_key",
        "apikey",
        "key",
        "session",
        "sessionid",
        "phone",
        "tel",
        "card",
        "cc",
        "ssn",
    }
)

# -- IP addresses --------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_V4_MAPPED: Final = bytes(10) + b"\xff\xff"
_ZEROS: Final = bytes(16)


def anonymize_ip(ip: str) -> str | None:
    """The client's network, never its address: IPv4 to /24, IPv6 to /48; None for garbage.

    An IPv4-mapped IPv6 address (`::ffff:203.0.113.77`) is treated as the IPv4
    address it maps. A 6to4 address (`2002::/16`) carries a whole IPv4 address in
    its first 48 bits, so it is cut to /40, which keeps only that address's /24.
    """
    if _IPV4.fullmatch(ip):
        return ip[: ip.rindex(".")] + ".0"
    if ":" not in ip:
        return None
    try:
        packed = socket.inet_pton(socket.AF_INET6, ip.strip().partition("%")[0])
    except (OSError, ValueError):
        return None
    if packed[:12] == _V4_MAPPED:
        return f"{packed[12]}.{packed[13]}.{packed[14]}.0"
    keep = 5 if packed[:2] == b"\x20\x02" else 6
    return socket.inet_ntop(socket.AF_INET6, packed[:keep] + _ZEROS[keep:])


_IPAD: Final = bytes(b ^ 0x36 for b in range(256))
_OPAD: Final = bytes(b ^ 0x5C for b in range(256))


# Two entries: today's salt and yesterday's, so a destroyed salt does not live on here.
@lru_cache(maxsize=2)
def _hmac_pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's inner and outer states for a key (RFC 2104), computed once per salt."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def visitor_id(salt: bytes, site_id: str, ip: str, user_agent: str) -> str:
    """The cookieless visitor id of one day: `v_` and 32 hex digits of HMAC-SHA256.

    The key is the day's salt (from the metadata database), the message the site,
    the full IP address and the user agent, each length-prefixed so no two inputs
    run together. The salt rotates daily and is destroyed after 48 hours, so
    nobody, the operator included, can re-derive an old id from an IP address and
    a user agent, or link one visitor's ids across days. The IP itself is only
    hashed here, never stored.
    """
    site_b = site_id.encode("utf-8", "surrogatepass")
    ip_b = ip.encode("utf-8", "surrogatepass")
    msg = b"%d:%s%d:%s%s" % (len(site_b), site_b, len(ip_b), ip_b, user_agent.encode("utf-8", "surrogatepass"))
    inner, outer = _hmac_pads(salt)
    inner = inner.copy()
    inner.update(msg)
    outer = outer.copy()
    outer.update(inner.digest())
    return "v_" + outer.digest()[:16].hex()


# -- free text -------------------------------------------------------------------

#: A run of local-part characters, `@` (or `%40`), a domain with a dot and letters. It
#: may only start where such a run starts (the lookbehind), which keeps the scan
#: linear, and it swallows the rest of the run after the domain, so that nothing
#: address-like is left beside a redaction (`a@b.com+c@d.com` is one match).
_EMAIL = re.compile(r"(?<![\w.%+\-])[\w.%+\-]+(?:@|%40)[\w.\-]*?\.[^\W\d_]{2,}[\w.%+\-]*")

#: Necessary for a phone or card number: 7 characters from digit to digit with only
#: digits and separators between. A cheap scan that spares the two precise passes.
_NUMBERISH = re.compile(r"\d[\d \-.()]{5,}\d")

_DIGITS: Final = b"0123456789"


def _maybe_number(s: str) -> bool:
    """Whether `s` may hold a phone or card number; counting ASCII digits first is cheaper than the scan."""
    if len(s) < 7 or (s.isascii() and len(s) - len(s.encode().translate(None, _DIGITS)) < 7):
        return False
    return _NUMBERISH.search(s) is not None


_CARD = re.compile(r"(?<![\w.\-+])[2-6](?:[ \-]?\d){12,18}(?!\w)")

_PHONE = re.compile(
    r"""
    (?<![\w.,\-+])                                         # not inside a word, number or date
    (?!\d{4}-\d{1,2}-\d{1,2}(?!\d|[./\-]\d))               # 2024-05-01 (and its T12:34:56)
    (?!\d{1,2}[./\-]\d{1,2}[./\-](?:\d{4}|\d{2})(?!\d|[./\-]\d))  # 01.05.2024, 5-1-24
    \+?\(?\d+(?:(?:[ .\-]\(?|\)[ .\-]?|\()\d+)*            # digit groups and their separators
    """,
    re.VERBOSE,
)
_DIGIT_GROUP = re.compile(r"\d+")

_LUHN_DOUBLE: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        total += _LUHN_DOUBLE[n] if i & 1 else n
    return total % 10 == 0


def _card_repl(m: re.Match[str]) -> str:
    text = m.group()
    digits = text.replace(" ", "").replace("-", "")
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return REDACTED
    # The greedy match may have taken a neighbouring number ("4111 1111 1111 1111 2
    # items", "room 42 4111 ..."): try each run of whole groups of it.
    spans = [g.span() for g in _DIGIT_GROUP.finditer(text)]
    for i, (start, _) in enumerate(spans):
        if text[start] not in "23456":
            continue
        for j in range(len(spans) - 1, i - 1, -1):
            end = spans[j][1]
            digits = "".join(_DIGIT_GROUP.findall(text[start:end]))
            if 13 <= len(digits) <= 19 and _luhn_ok(digits):
                return text[:start] + REDACTED + text[end:]
    return text


def _is_phone(groups: list[str], seps: list[str], intl: bool, paren: bool) -> bool:
    n_digits = sum(map(len, groups))
    if not 7 <= n_digits <= 15:
        return False
    if intl:
        return True
    first = groups[0]
    trunk = first[0] == "0" and n_digits >= 8
    if len(groups) == 1:
        return trunk and first[1] != "0" and 9 <= n_digits <= 12
    if any(len(g) < 2 for g in groups[1:]):
        return False
    dots = [s for s in seps if "." in s]
    if dots and len(seps) < 2:  # a decimal: 12345.67
        return False
    plain = {s.strip() or " " for s in seps}
    if not paren and not trunk and len(plain) == 1 and plain <= {" ", "."}:
        if len(first) <= 3 and all(len(g) == 3 for g in groups[1:]):  # 1 299 000, 1.299.000
            return False
        if plain == {"."} and len(groups) <= 4 and all(len(g) <= 3 for g in groups):  # 192.168.10.200
            return False
    # Two groups: 555-2671 and (030) 1234567, but not 1990-2020 or 2023 2024.
    return len(groups) > 2 or paren or trunk or (len(first) == 3 and len(groups[1]) == 4)


def _phone_repl(m: re.Match[str]) -> str:
    text = m.group()
    spans = [g.span() for g in _DIGIT_GROUP.finditer(text)]
    # A lone digit after a number is a count, not part of it: "555 2671 2 times".
    while len(spans) > 1 and spans[-1][1] - spans[-1][0] == 1:
        spans.pop()
    end = spans[-1][1]
    groups = [text[a:b] for a, b in spans]
    seps = [text[spans[i][1] : spans[i + 1][0]] for i in range(len(spans) - 1)]
    paren = "(" in text[:end]
    if not _is_phone(groups, seps, text[0] == "+", paren):
        return text
    if text[0] == "(" and ")" not in text[:end]:
        return "(" + REDACTED + text[end:]
    return REDACTED + text[end:]


#: A text that starts with a letter (or `_`) and holds only word characters, `.`, `-` and `+`
#: (`sid_9f3c20417b`, `spring-sale`, `v1.2.3`) can hold none of the three: an address needs
#: `@` or `%40`, and a phone or card number starts at a digit, `+` or `(` that follows none
#: of these characters (`_PHONE`'s and `_CARD`'s lookbehinds). One C scan instead of three.
_NOTHING_TO_FIND = re.compile(r"[^\W\d][\w.\-+]*")


def scrub_text(s: str) -> str:
    """`s` with e-mail addresses, phone numbers and card numbers replaced by `REDACTED`.

    Returns `s` itself when there is nothing to replace.
    """
    if _NOTHING_TO_FIND.fullmatch(s):
        return s
    return _redact_text(s)


def _redact_text(s: str) -> str:
    out = s
    if "@" in s or "%40" in s:
        out = _EMAIL.sub(REDACTED, out)
    if _maybe_number(out):
        out = _PHONE.sub(_phone_repl, _CARD.sub(_card_repl, out))
    if out is not s and out == s:
        return s
    return out


# -- URLs and properties ------------------------------------------------------------

_KEY_TOKENS = re.compile(r"[_\-.\[\]]+")


@lru_cache(maxsize=256)
def _lowered(keys: frozenset[str]) -> frozenset[str]:
    return frozenset(k.lower() for k in keys)


#: Words that name a secret wherever they end a key (`user_email`, `reset_token`); a key
#: ending in a vaguer word of the set (`sort_key`, `gift_card`) must match it whole.
_SECRET_LAST_WORDS: Final = frozenset(
    {"email", "mail", "token", "password", "pwd", "secret", "apikey", "phone", "ssn", "sessionid"}
)


@lru_cache(maxsize=8192)
def _is_secret_key(key: str, keys: frozenset[str]) -> bool:
    """True when `key` is in `keys`, or ends in a word of `_SECRET_LAST_WORDS` or two words of `keys`.

    Case and the separators `_ - . [ ]` do not matter: `user_email`, `customer[email]`,
    `X-Amz-Security-Token` and `x-api-key` are secret keys under the default set.
    """
    k = unquote_plus(key).lower() if "%" in key or "+" in key else key.lower()
    if "?" in k:  # a hash route's query: #/callback?token=...
        k = k.rpartition("?")[2]
    if k in keys:
        return True
    words = [w for w in _KEY_TOKENS.split(k) if w]
    if not words:
        return False
    last = words[-1]
    return (last in keys and last in _SECRET_LAST_WORDS) or "_".join(words[-2:]) in keys


def _scrub_part(part: str, plus_is_space: bool) -> str:
    """One piece of a URL, scrubbed as it is and, when it is percent-encoded, as it reads."""
    out = scrub_text(part)
    if "%" in out or (plus_is_space and "+" in out):
        decoded = unquote_plus(out) if plus_is_space else unquote(out)
        if decoded != out:
            clean = scrub_text(decoded)
            if clean is not decoded:
                if plus_is_space:
                    out = quote(clean, safe="/:@!$'()*,;[]~").replace("%20", "+")
                else:
                    out = quote(clean, safe="/:@!$&'()*+,;=[]~")
    return out


def _scrub_params(query: str, keys: frozenset[str], scrub_values: bool) -> str:
    params = query.split("&")
    changed = False
    for i, param in enumerate(params):
        key, eq, value = param.partition("=")
        if eq and value and _is_secret_key(key, keys):
            new = key + "=" + REDACTED
        elif scrub_values:
            new_key = _scrub_part(key, True)
            new = new_key + eq + _scrub_part(value, True) if eq else new_key
        else:
            continue
        if new != param:
            params[i] = new
            changed = True
    return "&".join(params) if changed else query


def _has_secret_key(query: str, keys: frozenset[str]) -> bool:
    for param in query.split("&"):
        key, eq, value = param.partition("=")
        if eq and value and _is_secret_key(key, keys):
            return True
    return False


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")


#: URLs (with the keys they were judged by) in which `scrub_url` found nothing. A site's pages
#: and referrers repeat from event to event, so most URLs are judged once here instead of
#: once per event. Only clean URLs are remembered: one that held PII is never kept.
_CLEAN_URLS: dict[tuple[str, frozenset[str]], None] = {}
#: Emptied when it reaches this many entries (a few MB at most).
_CLEAN_URLS_MAX: Final = 8192


def scrub_url(url: str, keys: frozenset[str] = DEFAULT_SCRUB_KEYS) -> str:
    """`url` without its PII: user info removed, secret parameters and PII redacted.

    The values of query parameters (and of `key=value` pairs in the fragment, where
    OAuth puts its `access_token`) whose key or key's last word is in `keys`
    (case-insensitive) become `REDACTED`; the path, the other keys and values and
    the fragment go through `scrub_text`, both as written and percent-decoded;
    `user:pass@` is dropped. Returns `url` itself when nothing was found.
    """
    if keys is not DEFAULT_SCRUB_KEYS:
        keys = _lowered(keys)
    if (url, keys) in _CLEAN_URLS:
        return url
    out = _scrub_url(url, keys)
    if out is url:
        if len(_CLEAN_URLS) >= _CLEAN_URLS_MAX:
            _CLEAN_URLS.clear()
        _CLEAN_URLS[url, keys] = None
    return out


def _scrub_url(url: str, keys: frozenset[str]) -> str:
    probe = unquote_plus(url) if "%" in url or "+" in url else url
    suspicious = "@" in probe or _maybe_number(probe)
    base, hash_, fragment = url.partition("#")
    head, qmark, query = base.partition("?")
    if not suspicious and not (
        (query and _has_secret_key(query, keys)) or ("=" in fragment and _has_secret_key(fragment, keys))
    ):
        return url

    # user info: scheme://user:pass@host/... or //user@host/...
    scheme_end = head.find("://")
    if scheme_end > 0 and _SCHEME.fullmatch(head, 0, scheme_end):
        auth_start = scheme_end + 3
    else:
        auth_start = 2 if head.startswith("//") else -1
    path_start = 0
    if auth_start >= 0:
        slash = head.find("/", auth_start)
        auth_end = len(head) if slash < 0 else slash
        at = head.rfind("@", auth_start, auth_end)
        if at >= 0:
            head = head[:auth_start] + head[at + 1 :]
            auth_end -= at + 1 - auth_start
        path_start = auth_end
    if suspicious:
        path = head[path_start:]
        new_path = _scrub_part(path, False)
        if new_path is not path:
            head = head[:path_start] + new_path
    if query:
        query = _scrub_params(query, keys, suspicious)
    if fragment:
        if "=" in fragment:
            fragment = _scrub_params(fragment, keys, suspicious)
        elif suspicious:
            fragment = _scrub_part(fragment, False)
    out = head + qmark + query + hash_ + fragment
    return url if out == url else out


def scrub_properties(props: dict[str, str], keys: frozenset[str] = DEFAULT_SCRUB_KEYS) -> dict[str, str]:
    """Custom-event properties: values of secret keys (as in `scrub_url`) redacted, the rest scrubbed.

    Returns `props` itself when nothing changed.
    """
    if keys is not DEFAULT_SCRUB_KEYS:
        keys = _lowered(keys)
    out: dict[str, str] | None = None
    for k, v in props.items():
        new = REDACTED if _is_secret_key(k, keys) else scrub_text(v)
        if new is not v:
            if out is None:
                out = dict(props)
            out[k] = new
    return props if out is None else out


# -- what the door refuses -------------------------------------------------------------
#
# An event that fails validation is kept for `bronze.quarantine` with its bytes, so that it
# can be looked at and replayed. Those bytes get the same privacy as a valid event's before
# they are written anywhere: whatever is personal in them is redacted, IP addresses are cut
# to their network, and nothing is kept of an event whose consent is false.

#: An IPv4 address inside a longer text (not inside a longer number or a version like 1.2.3.4.5).
_EMBEDDED_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?!\w|\.\d)")
#: Something that may be an IPv6 address inside a longer text; `anonymize_ip` decides.
_EMBEDDED_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:|(?:\d{1,3}\.){3}\d{1,3})(?![\w:.])"
)
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: A hex digest (MD5, SHA-1, SHA-256, SHA-512), bare or named as the browser SDK's `identifyEmail`
#: sends it (`sha256:` and 64 hex digits): what a `user_id_hash` is meant to be, never PII.
#: (One pass over the hex digits, with the cases spelled out: IGNORECASE made it several times slower.)
_DIGEST_TEXT = re.compile(
    r"(?:(?i:md5|sha1|sha256|sha512):)?[0-9a-fA-F]{32}(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{32}(?:[0-9a-fA-F]{64})?)?"
)
#: `"name": value` in text that is not JSON as a whole (a value: a string or a bare word/number).
_JSON_MEMBER = re.compile(r'"((?:[^"\\\n]|\\.){1,64})"(\s*:\s*)("(?:[^"\\\n]|\\.)*"|[^\s,}\]]+)')
_LOOSE_DENIAL = re.compile(r'"analytics"\s*:\s*(?:false|0|"(?:false|0|no|off)")', re.IGNORECASE)
_DENIED_WORDS: Final = frozenset({"false", "0", "no", "off"})
_json_decode = msgspec.json.Decoder().decode
_json_encode = msgspec.json.Encoder().encode


def _truncate_ip(m: re.Match[str]) -> str:
    return anonymize_ip(m.group()) or m.group()


def _scrub_free(s: str, keys: frozenset[str]) -> str:
    """One string of a refused event: an IP address cut to its network, else scrubbed as a URL and as text."""
    if len(s) <= 64 and (":" in s or "." in s or "-" in s):
        if _UUID_TEXT.fullmatch(s):  # an id, never PII (and digit runs in it are not phone numbers)
            return s
        ip = anonymize_ip(s)
        if ip is not None:
            return s if ip == s else ip
    out = scrub_text(scrub_url(s, keys))
    if "\ufffd" in out:  # bytes that were not UTF-8 must not hide an address: judge the text without them
        joined = out.replace("\ufffd", "")
        clean = scrub_text(joined)
        if clean is not joined:
            out = clean
    if "." in out:
        out = _EMBEDDED_IPV4.sub(_truncate_ip, out)
    if ":" in out:
        out = _EMBEDDED_IPV6.sub(_truncate_ip, out)
    return s if out == s else out


def _scrub_number(n: int | float, secret: bool) -> Any:
    if secret:
        return REDACTED
    if -1_000_000 < n < 1_000_000:
        return n
    text = str(n)
    return n if scrub_text(text) is text else REDACTED


def _scrub_doc(value: Any, keys: frozenset[str], secret: bool = False) -> Any:
    """`value` (decoded JSON) without PII; the very same object when nothing was found.

    `secret`: the value sits under a secret key (`_is_secret_key`), so a string or number of
    it is redacted whole; an object under such a key is judged by its own keys.
    """
    t = type(value)
    if t is str:
        if secret and value:
            return REDACTED
        return _scrub_free(value, keys) if value else value
    if t is int or t is float:
        return _scrub_number(value, secret)
    if t is list:
        out: list[Any] | None = None
        for i, item in enumerate(value):
            new = _scrub_doc(item, keys, secret)
            if new is not item:
                if out is None:
                    out = list(value)
                out[i] = new
        return value if out is None else out
    if t is dict:
        if value.get("kind") == "rejected" and isinstance(value.get("raw"), str):
            return _scrub_nested_rejection(value, keys)
        changed = False
        items: list[tuple[str, Any]] = []
        for key, item in value.items():
            new_key = scrub_text(key)
            new = _scrub_doc(item, keys, _is_secret_key(key, keys))
            changed = changed or new_key is not key or new is not item
            items.append((new_key, new))
        return dict(items) if changed else value
    return value  # true, false, null


def _scrub_nested_rejection(value: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """A stream payload of a rejection that did not decode: its `raw` is base64 of an event's bytes."""
    try:
        inner = base64.b64decode(value["raw"], validate=True)
    except (binascii.Error, ValueError):
        inner = value["raw"].encode()
    kept = scrub_refused(inner, keys)
    out = {k: v if k == "raw" else _scrub_doc(v, keys, _is_secret_key(k, keys)) for k, v in value.items()}
    out["raw"] = base64.b64encode(kept or b"").decode()
    return out


def _denied(value: Any) -> bool:
    return (
        value is False
        or (type(value) in (int, float) and value == 0)
        or (isinstance(value, str) and value.strip().lower() in _DENIED_WORDS)
    )


def _consent_denied(doc: Any) -> bool:
    """Whether a decoded event says analytics consent is false: ours (`user.consent.analytics`) or a
    Segment message's (`context.consent.categoryPreferences.analytics`)."""
    if not isinstance(doc, dict):
        return False
    user = doc.get("user")
    consent = user.get("consent") if isinstance(user, dict) else None
    if isinstance(consent, dict) and _denied(consent.get("analytics", True)):
        return True
    context = doc.get("context")
    consent = context.get("consent") if isinstance(context, dict) else None
    prefs = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if isinstance(prefs, dict):
        return any(isinstance(k, str) and k.lower() == "analytics" and _denied(v) for k, v in prefs.items())
    return False


def _secret_member(keys: frozenset[str]) -> Any:
    def repl(m: re.Match[str]) -> str:
        if _is_secret_key(m[1], keys):
            return f'"{m[1]}"{m[2]}"{REDACTED}"'
        return m.group()

    return repl


def _scrub_loose(text: str, keys: frozenset[str]) -> str:
    """Text that is not JSON as a whole: secret `"name": value` members, then everything `_scrub_free` finds."""
    out = _JSON_MEMBER.sub(_secret_member(keys), text) if '"' in text else text
    return _scrub_free(out, keys)


def scrub_refused(raw: bytes, keys: frozenset[str] = DEFAULT_SCRUB_KEYS) -> bytes | None:
    """The bytes of a refused event as they may be kept, or None when nothing of it may be kept.

    None: the event says analytics consent is false. Otherwise, when `raw` is JSON (after
    replacing bytes that are not UTF-8), every string in it is scrubbed like a URL and like
    free text (`scrub_url`, `scrub_text`), a string or number under a secret key (as in
    `scrub_url`) is redacted, an IP address is cut to its network (`anonymize_ip`), also
    inside a text, and a number that reads as a card or phone number is redacted; the result
    is JSON again. Bytes that are not JSON at all are scrubbed as text the same way, with
    `"name": value` pairs of secret names redacted. Returns `raw` itself when nothing was found.
    """
    if keys is not DEFAULT_SCRUB_KEYS:
        keys = _lowered(keys)
    text: str | None = None
    try:
        try:
            doc = _json_decode(raw)
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            doc = _json_decode(text)
        if _consent_denied(doc):
            return None
        clean = _scrub_doc(doc, keys)
        return raw if clean is doc else _json_encode(clean)
    except (msgspec.DecodeError, RecursionError, ValueError, TypeError):
        pass
    if text is None:
        text = raw.decode("utf-8", "replace")
    if _LOOSE_DENIAL.search(text):
        return None
    out = _scrub_loose(text, keys)
    return raw if out == text else out.encode()


def scrub_id(value: str) -> str:
    """An id (user, anonymous, session) as it may be stored: itself, or its SHA-256 in hex when it
    holds PII (`jane@example.com` sent as a user id). Hashing rather than redacting keeps one
    person one id, as `user_id_hash` means to. Returns `value` itself when it is clean."""
    if len(value) < 7 or _ID_FORM.fullmatch(value) or value in _CLEAN_IDS:
        return value
    if _redact_text(value) is value:
        if len(_CLEAN_IDS) >= _CLEAN_IDS_MAX:
            _CLEAN_IDS.clear()
        _CLEAN_IDS[value] = None
        return value
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


#: The forms of id that are clean by their form alone, in one pattern (one scan): a digest, a
#: UUID, or what `scrub_text` passes at once.
_ID_FORM = re.compile(f"{_DIGEST_TEXT.pattern}|{_UUID_TEXT.pattern}|{_NOTHING_TO_FIND.pattern}")

#: Ids found clean lately: the same ids come back with every event of a visit, and judging one
#: is the expensive part when it has many digits (a session id with a timestamp in it). Only
#: clean ids are remembered, so no PII lives on here.
_CLEAN_IDS: dict[str, None] = {}
_CLEAN_IDS_MAX: Final = 16384


# -- browser signals -------------------------------------------------------------------


def dnt_or_gpc(headers: Mapping[str, str]) -> tuple[bool, bool]:
    """(`DNT: 1` was sent, `Sec-GPC: 1` was sent), whatever the case of the header names."""
    dnt = gpc = False
    for name, value in headers.items():
        if len(name) == 3 and name.lower() == "dnt":
            dnt = value.strip() == "1"
        elif len(name) == 7 and name.lower() == "sec-gpc":
            gpc = value.strip() == "1"
    return dnt, gpc
