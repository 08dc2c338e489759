"""Every benchmark script imports: `make bench` is not in `make test`, and a moved helper must not break it unseen."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py")))
def test_the_benchmark_imports(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH.parent))
    module = importlib.import_module(f"bench.{name}")
    if not name.startswith("_"):
        assert callable(getattr(module, "main", None)), f"bench/{name}.py has no main()"
    sys.modules.pop(f"bench.{name}", None)
