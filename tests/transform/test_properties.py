"""Property tests: random event histories, arriving in random orders, against the sessions' definition.

Each example builds events of a few visitors around two midnights, with gaps chosen to
fall on both sides of 30 minutes, some with SDK session ids, some from bots. The sessions
must equal those of a plain Python reading of the definition (`expected_sessions`); every
event must be in exactly one session; session page views must add up to the page views;
and loading the events in random batches, with a run after each, must give exactly the
tables of one full refresh of all of them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clicklake.schema.record import Record
from transform.lakes import Lake, event

START = datetime(2026, 11, 10, 22, 0, tzinfo=UTC)
GAP = timedelta(minutes=30)
#: Gaps between a visitor's events: around the session gap, and long enough to cross days.
GAPS = st.sampled_from([1, 10, 29, 30, 31, 59, 240, 700]).map(lambda m: timedelta(minutes=m))
TYPES = st.sampled_from(["page_view", "page_view", "chart_interaction", "affiliate_click", "purchase"])


@st.composite
def visitor_events(draw: st.DrawFn, visitor: str) -> list[tuple[str, datetime, str | None, str, bool]]:
    """(visitor, ts, SDK session id or None, event type, bot) for one visitor's events, in time order."""
    uses_sdk = draw(st.booleans())
    bot = draw(st.integers(0, 9)) == 0
    moment = START + timedelta(minutes=draw(st.integers(0, 180)))
    out = []
    for _ in range(draw(st.integers(1, 12))):
        moment += draw(GAPS)
        sid = draw(st.sampled_from([f"{visitor}-a", f"{visitor}-b"])) if uses_sdk else None
        out.append((visitor, moment, sid, draw(TYPES), bot))
    return out


histories = st.lists(st.integers(0, 5), min_size=1, max_size=4, unique=True).flatmap(
    lambda ids: st.tuples(*(visitor_events(f"v{i}") for i in ids))
)


def records_of(history: tuple[list[Any], ...]) -> list[Record]:
    records = []
    for events in history:
        for n, (visitor, ts, sid, kind, bot) in enumerate(events):
            payload: dict[str, Any] = {}
            if kind == "affiliate_click":
                payload["affiliate"] = {"link_id": "l", "payout_cents": 7}
            elif kind == "purchase":
                payload["order"] = {"order_id": f"{visitor}-{n}", "revenue_minor": 100, "currency": "USD"}
            elif kind == "chart_interaction":
                payload["chart"] = {"action": "sort"}
            records.append(
                event(
                    kind,
                    ts.isoformat(),
                    visitor=visitor,
                    sid=sid,
                    bot=bot,
                    page=f"https://a.example/{n % 3}",
                    event_id=f"{visitor}-{n}",
                    **payload,
                )
            )
    return records


def expected_sessions(records: list[Record]) -> list[tuple[str, datetime, datetime, int, int]]:
    """(session id, start, end, events, page views) by the definition in models/_session_events.sql."""
    runs: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        sid = r.session.session_id
        runs[("sdk", sid) if sid else ("visitor", r.user.visitor_id or "")].append(r)
    out = []
    for (source, key), events in runs.items():
        events.sort(key=lambda r: (r.ts, r.event_id))
        stamps = [datetime.fromtimestamp(r.ts / 1000, UTC) for r in events]
        after_gap = [i == 0 or stamps[i] - stamps[i - 1] >= GAP for i in range(len(stamps))]
        # days on which every event follows the one before within the gap
        broken: set[date] = {stamps[i].date() for i in range(len(stamps)) if after_gap[i]}
        unbroken = {t.date() for t in stamps} - broken
        starts = [
            after_gap[i]
            or (stamps[i - 1].date() < stamps[i].date() and stamps[i].date() - timedelta(days=1) in unbroken)
            for i in range(len(stamps))
        ]
        sessions: list[list[int]] = []
        for i, starting in enumerate(starts):
            if starting:
                sessions.append([])
            sessions[-1].append(i)
        for members in sessions:
            first, last = stamps[members[0]], stamps[members[-1]]
            start_ms = events[members[0]].ts
            if source == "sdk":
                before = stamps[members[0] - 1] if members[0] > 0 else None
                plain = before is None or before.date() < first.date() - timedelta(days=1)
                session_id = key if plain else f"{key}~{start_ms}"
            else:
                session_id = "v_" + hashlib.md5(f"s1|{key}|{start_ms}".encode()).hexdigest()[:24]
            views = sum(1 for m in members if events[m].event_type == "page_view")
            out.append((session_id, first, last, len(members), views))
    return sorted(out, key=lambda s: (s[1], s[0]))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, data=st.data())
def test_random_histories(tmp_path_factory: Any, history: tuple[list[Any], ...], data: st.DataObject) -> None:
    root: Path = tmp_path_factory.mktemp("lake")
    records = records_of(history)
    # arrival: a random order, cut into one to three loads, a run after each
    order = data.draw(st.permutations(range(len(records))))
    cuts = sorted(data.draw(st.lists(st.integers(1, max(1, len(records) - 1)), max_size=2, unique=True)))
    lake = Lake(root / "incremental")
    for lo, hi in zip([0, *cuts], [*cuts, len(records)], strict=True):
        if lo < hi:
            lake.add(*(records[i] for i in order[lo:hi]))
            assert lake.run().outcome == "published"

    got = lake.rows(
        "select session_id, session_start_ts, session_end_ts, events, pageviews from silver.sessions "
        "order by session_start_ts, session_id"
    )
    assert [tuple(r.values()) for r in got] == expected_sessions(records)

    # every event in exactly one session, and the page views add up
    totals = lake.rows(
        "select (select sum(events) from silver.sessions) as in_sessions, (select count(*) from silver.events) as n, "
        "(select sum(pageviews) from silver.sessions) as views, "
        "(select count(*) from silver.events where event_type = 'page_view') as page_views"
    )[0]
    assert totals["in_sessions"] == totals["n"] == len(records)
    assert totals["views"] == totals["page_views"]
    kpi = lake.rows("select sum(sessions) as n from gold.kpi_daily where dimension = 'all'")[0]["n"] or 0
    humans = lake.rows("select count(*) as n from silver.sessions where not is_bot")[0]["n"]
    assert kpi == humans

    fresh = Lake(root / "fresh")
    fresh.add(*records)
    assert fresh.run().mode == "full"
    assert fresh.tables() == lake.tables()
