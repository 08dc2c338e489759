"""The sandbox's kept answers over a real lake: the same statement, sites and snapshots answer from memory;
another site set, a new snapshot, a clock-reading statement do not; the memory is bounded."""

from __future__ import annotations

import threading
import time

import pytest

from clicklake.query.answers import Answers, cacheable
from clicklake.query.pool import Key
from clicklake.query.sandbox import Limits, Sandbox, SandboxError
from transform.lakes import Lake, event

COUNT = "select site_id, count(*) as n from silver.events group by site_id"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("lake"))
    lake.add(*(event("page_view", "2026-11-20T10:00:00Z", site=s, visitor=f"{s}v") for s in ("s1", "s2")))
    lake.run()
    return lake


def test_the_same_question_over_the_same_snapshots_is_answered_from_memory(lake: Lake) -> None:
    sandbox = Sandbox(lake.catalog, Limits())
    first = sandbox.run(["s1"], COUNT)
    again = sandbox.run(["s1"], COUNT)
    assert again is first and first.table.to_pylist() == [{"site_id": "s1", "n": 1}]
    assert (sandbox.answers.hits, sandbox.answers.misses) == (1, 1)
    # another site set is another answer, with its own rows only
    assert sandbox.run(["s2"], COUNT).table.to_pylist() == [{"site_id": "s2", "n": 1}]
    assert sandbox.run(["s1", "s2"], COUNT).table.num_rows == 2
    assert len(sandbox.answers) == 3
    # a new snapshot: the new rows, and the answers over the old snapshot are gone
    lake.add(event("page_view", "2026-11-20T11:00:00Z", site="s1", visitor="s1w"))
    lake.run()
    assert sandbox.run(["s1"], COUNT).table.to_pylist() == [{"site_id": "s1", "n": 2}]
    assert len(sandbox.answers) == 1
    assert sandbox.run(["s1"], COUNT).table.to_pylist() == [{"site_id": "s1", "n": 2}]
    assert sandbox.answers.hits == 2


def test_statements_that_read_the_clock_or_chance_and_failures_are_not_kept(lake: Lake) -> None:
    sandbox = Sandbox(lake.catalog, Limits(timeout_s=0.5))
    for sql in ("select count(*) as n, now() as at from silver.events", "select random() as r from silver.events"):
        assert not cacheable(sql)
        sandbox.run(["s1"], sql)
        sandbox.run(["s1"], sql)
    assert len(sandbox.answers) == 0 and sandbox.answers.hits == 0
    assert cacheable("select max(ts) as data_until from silver.events where page = '/news'")
    with pytest.raises(SandboxError, match="longer than"):
        sandbox.run(["s1"], "select count(*) from silver.events, range(100000000000) a, range(100000) b")
    assert len(sandbox.answers) == 0


def test_the_kept_answers_are_bounded_in_count_and_bytes(lake: Lake) -> None:
    sandbox = Sandbox(lake.catalog, Limits(), answers=Answers(lambda r: int(r.table.nbytes), max_entries=2))
    for k in range(5):
        sandbox.run(["s1"], f"select count(*) + {k} as n from silver.events")
    assert len(sandbox.answers) == 2
    small = Sandbox(lake.catalog, Limits(), answers=Answers(lambda r: int(r.table.nbytes), max_bytes=1))
    small.run(["s1"], COUNT)
    assert len(small.answers) == 0  # bigger than the whole budget: not kept
    off = Sandbox(lake.catalog, Limits(), answers=Answers(lambda r: 0, max_entries=0))
    off.run(["s1"], COUNT)
    assert len(off.answers) == 0


def test_a_question_asked_twice_at_once_is_run_once() -> None:
    answers: Answers[int] = Answers(lambda n: 8)
    key: Key = (("s1",), (("silver", "events", "meta-1.json"),))
    runs = []

    def compute() -> int:
        runs.append(1)
        time.sleep(0.2)
        return 42

    got: list[int] = []
    threads = [
        threading.Thread(target=lambda: got.append(answers.get_or_compute(COUNT, key, compute))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert got == [42] * 4 and len(runs) == 1
    # a failure is the asker's own: the next asker runs it again
    failing: Answers[int] = Answers(lambda n: 8)

    def boom() -> int:
        raise SandboxError("no")

    with pytest.raises(SandboxError):
        failing.get_or_compute(COUNT, key, boom)
    assert failing.get_or_compute(COUNT, key, lambda: 7) == 7
