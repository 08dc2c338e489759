"""The fixed cost of one `clicklake query`, beside DuckDB's own start-up, in the same run.

    .venv/bin/python bench/query_startup.py [--runs N]

Each command is started N times (default 7) as a new process, as a user or a script
starts it, and the median wall time is printed:

- baseline: `python -c "import duckdb; duckdb.sql('select 1')"`;
- `clicklake query "select 1"` on a data directory with the lake's tables;
- `clicklake query "select count(*) from bronze.events"`, which opens one table.

The target of issue 13 is `select 1` at most 0.3 s over the baseline; the script
reports, and exits 1 only when a command fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.3


def _median(argv: list[str], env: dict[str, str], cwd: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from clicklake.lake.catalog import open_catalog
    from clicklake.lake.tables import ensure_tables

    exe = str(Path(sys.executable).parent / "clicklake")
    with tempfile.TemporaryDirectory() as tmp:
        ensure_tables(open_catalog(Path(tmp) / "data"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKLAKE_")}
        env["CLICKLAKE_DATA"] = str(Path(tmp) / "data")
        try:
            base = _median([sys.executable, "-c", "import duckdb; duckdb.sql('select 1')"], env, tmp, args.runs)
            one = _median([exe, "query", "select 1"], env, tmp, args.runs)
            table = _median([exe, "query", "select count(*) from bronze.events"], env, tmp, args.runs)
        except subprocess.CalledProcessError as exc:
            print(f"{exc.cmd} failed: {exc.stderr.decode(errors='replace')}", file=sys.stderr)
            return 1
    print(f"{'command (median of ' + str(args.runs) + ' runs)':<58} {'s':>6} {'over baseline':>14}")
    print(f"{'python -c import duckdb; duckdb.sql(select 1) (baseline)':<58} {base:>6.3f} {'':>14}")
    print(f"{'clicklake query select 1':<58} {one:>6.3f} {one - base:>+14.3f}")
    print(f"{'clicklake query select count(*) from bronze.events':<58} {table:>6.3f} {table - base:>+14.3f}")
    verdict = "met" if one - base <= TARGET_S else "missed"
    print(f"target: select 1 at most {TARGET_S} s over the baseline: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
