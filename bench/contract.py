"""How fast is the ingest contract? Events/s decoded and validated, three ways.

    .venv/bin/python bench/contract.py            # the full run, well under a minute
    .venv/bin/python bench/contract.py --quick    # a few seconds, for a smoke test

1. ours: `clicklake.schema.decode_batch(body)`, msgspec plus the checks beyond the schema.
2. jsonschema: the reference Draft 2020-12 validator, formats asserted, on seed 004's
   ingest schema (`tests/schema/seed_004_ingest.json`): `json.loads` of the body, then
   `is_valid` on each event.
3. pydantic v2: the same contract as models (`bench/_pydantic_contract.py`),
   `TypeAdapter(list[Event]).validate_json(body)` plus the same checks beyond the schema.

The batch is realistic and valid (`bench/_events.py`): mostly the seed's page views, chart
interactions and affiliate clicks, with product views, carts, purchases, searches, QR
scans and custom events. The seed's schema knows only its three event types, so
jsonschema is timed on the seed-typed events of the batch, and its ratio compares ours on
that same body. Before timing, every validator must accept every event it is given, and
a set of invalid and borderline events checks that they agree on what they reject.

Everything is timed twice, with the garbage collector on (as in the service; pydantic
allocates several tracked objects per event, msgspec one per Struct, so collection pauses
cost pydantic more) and off (timeit's convention).

The script reports; it always exits 0.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final, NamedTuple

import jsonschema
import pydantic

from clicklake.errors import ContractError
from clicklake.schema import decode_batch

try:  # run as a script, bench/ is on sys.path; imported as `bench.contract`, it is a package
    import _events as events_gen
    import _pydantic_contract as pyd
except ModuleNotFoundError:  # pragma: no cover
    from bench import _events as events_gen  # type: ignore[no-redef]
    from bench import _pydantic_contract as pyd  # type: ignore[no-redef]

ROOT: Final = Path(__file__).resolve().parent.parent
SEED_SCHEMA: Final = ROOT / "tests" / "schema" / "seed_004_ingest.json"
TARGET_JSONSCHEMA: Final = 20.0
TARGET_PYDANTIC: Final = 5.0


# -- the three validators --------------------------------------------------------


def load_jsonschema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SEED_SCHEMA.read_text())
    # The seed names a draft that does not exist ("2025-08"); validate as 2020-12.
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def ours_accepts(body: bytes) -> list[str]:
    """Ours on a body: the reasons for the rejected events (empty when all pass)."""
    try:
        batch = decode_batch(body)
    except ContractError as exc:
        return [str(exc)]
    return [f"[{r.index}] {r.error}" for r in batch.rejected]


def pydantic_accepts(body: bytes) -> list[str]:
    try:
        pyd.validate_batch(body)
    except pydantic.ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    except ValueError as exc:
        return [str(exc)]
    return []


def jsonschema_accepts(validator: jsonschema.Draft202012Validator, body: bytes) -> list[str]:
    return [
        f"[{i}] {'.'.join(map(str, e.absolute_path))}: {e.message}"
        for i, event in enumerate(json.loads(body))
        for e in validator.iter_errors(event)
    ]


# -- agreement on borderline and invalid events ----------------------------------

_OLD_TS: Final = "1999-12-31T23:59:59Z"


def _future_ts() -> str:
    return (datetime.now(UTC) + timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting (or, for `...`, deleting) the dotted `path` of an event."""

    def apply(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = event
        for key in parents:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value

    return apply


class Case(NamedTuple):
    """An edge case: a change to a valid event of `event_type`, and the contract's verdict."""

    event_type: str
    what: str
    mutate: Callable[[dict[str, Any]], None]
    accepted: bool
    #: False when the seed's schema does not state the rule (the ts range, the 64-bit bound):
    #: jsonschema's verdict is then not compared.
    seed_schema: bool = True


CASES: Final[list[Case]] = [
    Case("affiliate_click", "payout_cents 5.0 (integral float)", _set("affiliate.payout_cents", 5.0), True),
    Case("page_view", "unknown key inside ctx (seed objects are open)", _set("ctx.color", "red"), True),
    Case("page_view", "ts with lower-case t/z", _set("ts", "2026-01-02t03:04:05.678z"), True),
    Case("page_view", "ts with +02:00 offset, no fraction", _set("ts", "2026-01-02T03:04:05+02:00"), True),
    Case("chart_interaction", "chart.control_value null", _set("chart.control_value", None), True),
    Case("chart_interaction", "chart.action 'zoom'", _set("chart.action", "zoom"), False),
    Case("page_view", "ts with a final newline (Python re's $)", _set("ts", "2026-01-02T03:04:05Z\n"), True),
    Case("page_view", "ts without offset", _set("ts", "2026-01-02T03:04:05"), False),
    Case("page_view", "ts 30 February", _set("ts", "2026-02-30T03:04:05Z"), False),
    Case("page_view", "ts missing", _set("ts", ...), False),
    Case("page_view", "unknown top-level key", _set("colour", "red"), False),
    Case("page_view", "event_type unknown", _set("event_type", "zoom_event"), False),
    Case("page_view", "event_id not a UUID", _set("event_id", "not-a-uuid"), False),
    Case("page_view", "schema_version 2.0.0", _set("schema_version", "2.0.0"), False),
    Case("page_view", "consent.analytics missing", _set("user.consent.analytics", ...), False),
    Case("page_view", "consent.ads null", _set("user.consent.ads", None), False),
    Case("page_view", "consent.analytics 1 (not a boolean)", _set("user.consent.analytics", 1), False),
    Case("chart_interaction", "chart missing", _set("chart", ...), False),
    Case("affiliate_click", "affiliate missing", _set("affiliate", ...), False),
    Case("affiliate_click", "payout_cents -1", _set("affiliate.payout_cents", -1), False),
    Case("affiliate_click", "payout_cents 5.5", _set("affiliate.payout_cents", 5.5), False),
    Case("affiliate_click", "payout_cents '5' (a string)", _set("affiliate.payout_cents", "5"), False),
    Case("affiliate_click", "payout_cents 2**63", _set("affiliate.payout_cents", 2**63), False, seed_schema=False),
    Case("affiliate_click", "payout_cents 2.0**63", _set("affiliate.payout_cents", 2.0**63), False, seed_schema=False),
    Case("affiliate_click", "payout_cents 2**63 - 1", _set("affiliate.payout_cents", 2**63 - 1), True),
    Case("page_view", "ts before 2000", _set("ts", _OLD_TS), False, seed_schema=False),
    Case("purchase", "order.revenue_cents (a typo)", _set("order.revenue_cents", 100), False),
    Case("purchase", "order.currency 'usd'", _set("order.currency", "usd"), False),
    Case("purchase", "order.items[0].quantity 0", lambda e: e["order"]["items"][0].update(quantity=0), False),
    Case("purchase", "order.items[0].quantity 2.0", lambda e: e["order"]["items"][0].update(quantity=2.0), True),
    Case("product_view", "product.product_id missing", _set("product.product_id", ...), False),
    Case("search", "search.query of 1025 characters", _set("search.query", "q" * 1025), False),
    Case("custom", "custom.name '1bad'", _set("custom.name", "1bad"), False),
    Case("custom", "51 custom properties", _set("custom.properties", {f"p{i}": i for i in range(51)}), False),
    Case("custom", "properties over 8 KB", _set("custom.properties", {f"p{i}": "y" * 999 for i in range(9)}), False),
    Case("custom", "custom property key of 65 characters", _set("custom.properties", {"k" * 65: 1}), False),
    Case("qr_scan", "chart on a qr_scan", _set("chart", {"action": "sort"}), False),
]


def agreement(base: list[dict[str, Any]], validator: jsonschema.Draft202012Validator) -> list[str]:
    """Run the cases through all three; return one line per verdict that differs from the contract's."""
    by_type = {e["event_type"]: e for e in reversed(base)}
    future = Case("page_view", "ts 48 h ahead", _set("ts", _future_ts()), False, seed_schema=False)
    problems = []
    for case in [*CASES, future]:
        event = copy.deepcopy(by_type[case.event_type])
        case.mutate(event)
        body = json.dumps([event]).encode()
        verdicts = {"ours": not ours_accepts(body), "pydantic": not pydantic_accepts(body)}
        if case.event_type in events_gen.SEED_TYPES and case.seed_schema:
            verdicts["jsonschema"] = not jsonschema_accepts(validator, body)
        for name, verdict in verdicts.items():
            if verdict != case.accepted:
                problems.append(f"{name} {'accepts' if verdict else 'rejects'}: {case.event_type}, {case.what}")
    return problems


# -- timing ----------------------------------------------------------------------


class Run(NamedTuple):
    name: str
    batch: str
    events: int
    fn: Callable[[], object]


@dataclass
class Result:
    name: str
    batch: str
    events: int
    seconds: float  # best time of one repetition
    loops: int  # passes over the batch in one repetition

    @property
    def rate(self) -> float:
        return self.events * self.loops / self.seconds


def _time(fn: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return time.perf_counter() - start


def _loops(fn: Callable[[], object], min_time: float) -> int:
    """How many passes over the batch last at least `min_time`."""
    fn()  # warm up (caches, lazy schema building)
    loops = 1
    elapsed = _time(fn, loops)
    while elapsed < min_time:
        loops = max(loops + 1, int(loops * min_time / max(elapsed, 1e-9) * 1.1))
        elapsed = _time(fn, loops)
    return loops


def measure(runs: list[Run], *, reps: int, min_time: float) -> list[Result]:
    """Best of `reps` repetitions of each run, each repetition lasting at least `min_time`.

    The runs take turns within a repetition, so a slow spell of a shared machine hits them
    all rather than one, and the ratios stay meaningful.
    """
    loops = [_loops(run.fn, min_time) for run in runs]
    best = [float("inf")] * len(runs)
    for _ in range(reps):
        for i, run in enumerate(runs):
            gc.collect()
            best[i] = min(best[i], _time(run.fn, loops[i]))
    return [Result(run.name, run.batch, run.events, t, n) for run, t, n in zip(runs, best, loops, strict=True)]


# -- the report ------------------------------------------------------------------


def _verdict(ratio: float, target: float) -> str:
    return f">= {target:g}x  {'PASS' if ratio >= target else 'FAIL'}"


def report(rows: list[tuple[Result, Result | None, float | None]]) -> str:
    head = f"{'validator':<44} {'batch':<24} {'events/s':>12} {'ours / x':>9}   target"
    lines = [head, "-" * len(head)]
    for result, ours, target in rows:
        line = f"{result.name:<44} {result.batch:<24} {result.rate:>12,.0f}"
        if ours is not None and target is not None:
            ratio = ours.rate / result.rate
            line += f" {ratio:>8.1f}x   {_verdict(ratio, target)}"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (smoke test): 200 events, 2 repetitions")
    parser.add_argument("--events", type=int, default=None, help="events in the batch (default 1000, quick 200)")
    parser.add_argument("--seed", type=int, default=4, help="random seed of the batch")
    args = parser.parse_args(argv)
    n = args.events or (200 if args.quick else 1000)
    reps, min_time = (2, 0.05) if args.quick else (5, 0.3)
    started = time.perf_counter()

    batch = events_gen.make_batch(n, seed=args.seed)
    seed_batch = [e for e in batch if e["event_type"] in events_gen.SEED_TYPES]
    body = json.dumps(batch, separators=(",", ":")).encode()
    seed_body = json.dumps(seed_batch, separators=(",", ":")).encode()
    validator = load_jsonschema_validator()

    # Fair only if everyone accepts everything it is timed on.
    for name, errors in (
        ("ours", ours_accepts(body)),
        ("pydantic", pydantic_accepts(body)),
        ("jsonschema", jsonschema_accepts(validator, seed_body)),
    ):
        assert not errors, f"{name} rejects events of the batch: {errors[:5]}"
    disagreements = agreement(batch, validator)

    mix = Counter(e["event_type"] for e in batch)
    print(
        f"clicklake contract benchmark: {n} events, {len(body) / n:.0f} B/event on average, "
        f"best of {reps} repetitions of >= {min_time:g} s"
    )
    print("mix: " + ", ".join(f"{t} {c}" for t, c in mix.most_common()))
    print(
        f"python {platform.python_version()}, msgspec {version('msgspec')}, pydantic {version('pydantic')} "
        f"(core {version('pydantic-core')}), jsonschema {version('jsonschema')}"
    )
    print()

    def ours_mixed() -> object:
        return decode_batch(body)

    def ours_seed() -> object:
        return decode_batch(seed_body)

    def with_pydantic() -> object:
        return pyd.validate_batch(body)

    is_valid = validator.is_valid

    def with_jsonschema() -> object:
        return [is_valid(event) for event in json.loads(seed_body)]

    mixed = f"mixed, {n} events"
    seed_only = f"seed types, {len(seed_batch)} events"
    runs = [
        Run("ours: clicklake decode_batch (msgspec)", mixed, n, ours_mixed),
        Run("pydantic v2: TypeAdapter.validate_json", mixed, n, with_pydantic),
        Run("ours: clicklake decode_batch (msgspec)", seed_only, len(seed_batch), ours_seed),
        Run("jsonschema Draft 2020-12, seed 004 schema", seed_only, len(seed_batch), with_jsonschema),
    ]
    for title, collect in (
        ("gc on, as in the running service", True),
        ("gc off, as timeit measures (the validators' own work, without collection pauses)", False),
    ):
        gc.collect()
        if not collect:
            gc.disable()
        try:
            results = measure(runs, reps=reps, min_time=min_time)
        finally:
            gc.enable()
        print(title)
        print(
            report(
                [
                    (results[0], None, None),
                    (results[1], results[0], TARGET_PYDANTIC),
                    (results[2], None, None),
                    (results[3], results[2], TARGET_JSONSCHEMA),
                ]
            )
        )
        print()
    checked = len(CASES) + 1
    if disagreements:
        print(f"agreement: {len(disagreements)} verdict(s) differ from the contract's over {checked} edge cases:")
        for line in disagreements:
            print(f"  {line}")
    else:
        print(f"agreement: all validators give the contract's verdict on {checked} edge cases")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
