"""What do privacy and enrichment cost per event? µs per call, beside a baseline from the same run.

    .venv/bin/python bench/enrich.py            # a few seconds
    .venv/bin/python bench/enrich.py --quick    # a smoke test

The baseline is what any URL handling costs anyway: `urllib.parse.urlsplit` plus
`parse_qsl` of the same URL. "uncached" user agents are new strings each call (a version
number counts up), so they miss the cache as a new browser release would. Each figure is
the best of five repetitions. The script reports; it always exits 0.
"""

from __future__ import annotations

import argparse
import itertools
import timeit
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from clicklake.collect import enrich
from clicklake.schema import privacy

CLEAN_URL = (
    "https://shop.example.com/products/blue-shoe?utm_source=newsletter&utm_medium=email&utm_campaign=spring#reviews"
)
DIRTY_URL = (
    "https://jane:hunter2@shop.example.com/account/jane.doe@example.com"
    "?token=abc123&phone=%2B1%20415%20555%202671&q=card+4111+1111+1111+1111&utm_source=newsletter"
)
TEXT = "Running shoes size 42, blue, under 120 EUR"
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
SALT = bytes(32)


def per_call_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a smoke test")
    n = 2_000 if parser.parse_args().quick else 20_000
    enrich.preload()
    fresh = (UA.replace("124.0.0.0", f"124.0.{i}.0") for i in itertools.count())
    rows = [
        ("baseline: urlsplit + parse_qsl, clean URL", lambda: parse_qsl(urlsplit(CLEAN_URL).query), n),
        ("baseline: urlsplit + parse_qsl, dirty URL", lambda: parse_qsl(urlsplit(DIRTY_URL).query), n),
        ("scrub_url, clean URL (returned as is)", lambda: privacy.scrub_url(CLEAN_URL), n),
        ("scrub_url, dirty URL (5 findings)", lambda: privacy.scrub_url(DIRTY_URL), n),
        ("scrub_text, clean search query", lambda: privacy.scrub_text(TEXT), n),
        ("anonymize_ip, IPv4", lambda: privacy.anonymize_ip("203.0.113.77"), n),
        ("anonymize_ip, IPv6", lambda: privacy.anonymize_ip("2a00:1450:4001:80b::200e"), n),
        ("visitor_id", lambda: privacy.visitor_id(SALT, "site_1", "203.0.113.77", UA), n),
        ("device_of, cached", lambda: enrich.device_of(UA), n),
        ("device_of, uncached", lambda: enrich.device_of(next(fresh)), max(n // 100, 20)),
        ("geo_country, cached", lambda: enrich.geo_country("81.2.69.142"), n),
        ("geo_country, uncached", lambda: enrich.geo_country.__wrapped__("81.2.69.142"), n),
        ("utm_from_url", lambda: enrich.utm_from_url(CLEAN_URL), n),
        ("traffic_of, search referrer", lambda: enrich.traffic_of("https://www.google.com/", CLEAN_URL, None), n),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'per call':<{width}}  µs")
    for name, fn, number in rows:
        print(f"{name:<{width}}  {per_call_us(fn, number):8.2f}")


if __name__ == "__main__":
    main()
