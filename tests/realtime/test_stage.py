"""The realtime stage over a real local stream: counts by event time, repeats once, same figures after a restart."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from clicklake.realtime import GROUP, Realtime
from clicklake.schema.envelope import Rejected, encode_payload
from clicklake.schema.record import Record
from clicklake.stream import open_stream
from samples import records


def _now_ms() -> int:
    return int(time.time() * 1000)


def _live_records(n: int, *, site: str = "s1", ago_ms: int = 0) -> list[Record]:
    """`n` records of every event type in turn, stamped `ago_ms` before now (one ms apart)."""
    now = _now_ms() - ago_ms
    return [msgspec.structs.replace(r, ts=now - i) for i, r in enumerate(records(n, site_id=site, prefix=f"{site}-"))]


def _append(stream, recs: list[Record]) -> None:  # type: ignore[no-untyped-def]
    stream.append([(r.site_id, encode_payload(r)) for r in recs])


def test_counts_rebuilds_after_restart_and_counts_a_repeat_once(tmp_path: Path) -> None:
    stream = open_stream(tmp_path / "stream", new_partitions=3, max_bytes=None, max_lag_records=None)
    recs = _live_records(18)  # two of each of the nine event types
    _append(stream, recs)
    _append(stream, recs[:3])  # a client retry: the same event ids again
    _append(stream, _live_records(9, site="other"))
    stream.append(
        [("x", encode_payload(Rejected(site_id="s1", received_ts=_now_ms(), source="http", reason="bad", raw=b"{}")))]
    )

    live = Realtime(stream)
    while live.poll():
        pass
    first = live.snapshot("s1")
    assert first["events"] == 18
    assert first["pageviews"] == 2
    assert first["current_visitors"] == 1  # every sample is visitor u1
    assert first["conversions"] == 1  # one order id, sent by two purchase events
    assert first["revenue_minor"] == 1998
    assert first["top_pages"] == [{"page": "/compare", "pageviews": 2}]
    assert sum(m["events"] for m in first["per_minute"]) == 18
    assert len(first["per_minute"]) == 30
    assert live.snapshot("other")["events"] == 9
    assert live.windows.rejections(_now_ms() - 60_000)["s1"] == (1, 0)
    assert (first["rejected"], first["consent_denied_rejected"]) == (1, 0)
    live.commit()
    assert sum(lag.records for lag in stream.lag(GROUP)) == 0

    again = Realtime(stream)  # a restart: the windows are rebuilt from the stream
    while again.poll():
        pass
    second = again.snapshot("s1")
    for key in (
        "events",
        "pageviews",
        "current_visitors",
        "conversions",
        "revenue_minor",
        "top_pages",
        "hours",
        "rejected",
    ):
        assert second[key] == first[key], key
    stream.close()


def test_a_restart_reads_back_only_the_rebuild_horizon(tmp_path: Path) -> None:
    stream = open_stream(tmp_path / "stream", new_partitions=2, max_bytes=None, max_lag_records=None)
    _append(stream, _live_records(9, site="old"))
    time.sleep(0.3)
    cut = _now_ms()
    time.sleep(0.05)
    _append(stream, _live_records(9, site="new"))
    live = Realtime(stream, rebuild_minutes=(_now_ms() - cut) / 60_000 + 0.0001)
    while live.poll():
        pass
    assert live.snapshot("new")["events"] == 9
    assert live.snapshot("old")["events"] == 0  # appended before the horizon: not read again
    assert live.records_read == 9
    stream.close()


def test_an_event_older_than_the_minutes_counts_only_in_its_hour(tmp_path: Path) -> None:
    stream = open_stream(tmp_path / "stream", new_partitions=1, max_bytes=None, max_lag_records=None)
    _append(stream, _live_records(9, ago_ms=45 * 60_000))
    live = Realtime(stream)
    while live.poll():
        pass
    snap = live.snapshot("s1")
    assert snap["events"] == 0
    assert sum(h["events"] for h in snap["hours"]) == 9


def test_sources_are_utm_then_referrer_and_a_move_within_the_site_names_none(tmp_path: Path) -> None:
    from clicklake.schema.record import SessionRecord, Traffic, UtmRecord

    stream = open_stream(tmp_path / "stream", new_partitions=1, max_bytes=None, max_lag_records=None)
    [a, b, c, d] = _live_records(4)
    _append(
        stream,
        [
            msgspec.structs.replace(a, traffic=Traffic(referrer_host="news.example", referrer_class="social")),
            msgspec.structs.replace(b, traffic=Traffic(referrer_host="a.example", referrer_class="internal")),
            msgspec.structs.replace(
                c, session=SessionRecord(utm=UtmRecord(source="newsletter")), traffic=Traffic(referrer_class="internal")
            ),
            msgspec.structs.replace(d, traffic=Traffic()),
        ],
    )
    live = Realtime(stream)
    live.poll()
    sources = {s["source"] for s in live.snapshot("s1")["top_sources"]}
    assert sources == {"news.example", "newsletter", "(direct)"}
