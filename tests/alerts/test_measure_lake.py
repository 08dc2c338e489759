"""The lake-backed alert kinds over a real Iceberg lake and transform: traffic drop and spike against the same hour
of earlier weeks, and gold freshness. Times are relative to the test's own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from clicklake.alerts import Rules, Sources
from clicklake.alerts.measure import measure
from clicklake.collect.metadata import Metadata
from clicklake.lake.catalog import open_catalog
from transform.lakes import Lake, event


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def test_traffic_drop_spike_and_gold_freshness(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    now = datetime.now(UTC)
    last_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with Metadata(f"sqlite:///{data / 'metadata.sqlite3'}") as md:
        site = md.create_site("Shop", "shop.example").site_id
        other = md.create_site("Other", "other.example").site_id
        lake = Lake(data)
        records = []
        for week in range(1, 5):  # 20 events in the same hour of each of the 4 weeks before
            at = last_hour - timedelta(weeks=week)
            records += [event("page_view", _iso(at + timedelta(seconds=i)), site=site) for i in range(20)]
            records += [event("page_view", _iso(at + timedelta(seconds=i)), site=other) for i in range(20)]
        records += [event("page_view", _iso(last_hour + timedelta(seconds=i)), site=site) for i in range(5)]
        records += [event("page_view", _iso(last_hour + timedelta(seconds=i)), site=other) for i in range(70)]
        lake.add(*records)
        lake.run()
        rules = Rules(md)
        src = Sources(metadata=md, data_dir=data, catalog=lambda: open_catalog(data))
        now_ms = int(now.timestamp() * 1000)  # the hour the events were made for, even if the clock moved on

        drop = {r.subject: r for r in measure(rules.create("traffic_drop", "webhook", "http://x"), src, now_ms)}
        assert drop[site].firing is True and drop[site].value == -75  # 5 against 20
        assert drop[other].firing is False
        spike = {r.subject: r for r in measure(rules.create("traffic_spike", "webhook", "http://x"), src, now_ms)}
        assert spike[other].firing is True and spike[other].value == 250  # 70 against 20
        assert spike[site].firing is False

        fresh = rules.create("gold_freshness", "webhook", "http://x", minutes=24 * 60)
        [reading] = measure(fresh, src, now_ms)
        assert reading.firing is False and 0 < reading.value < 120  # the newest event: in the last closed hour
        stale = rules.create("gold_freshness", "webhook", "http://x", minutes=1)
        assert measure(stale, src, now_ms)[0].firing is True  # the newest event is at least 58 minutes old
