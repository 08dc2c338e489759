"""How much does a browser fetch to draw the dashboard? Its scripts and stylesheet, gzipped.

    .venv/bin/python bench/dashboard_size.py     # after `make dashboard`

Sizes are of the built, minified files that `manifest.json` in `src/clicklake/web/assets/`
names, gzipped at level 9 here: the entry script and stylesheet the page shell at `/`
loads, and the chunks the entry imports (the chart library's is loaded when the first
chart is drawn; the world map's own chunk, `map` in the manifest, only when the Overview's
countries come back, after the figures). The budget is issue 15's: at most 250 KB of
initial JavaScript, gzipped; it is held here against every script but the world map's own
chunk, the chart library included, and the map's chunk is shown apart. The script
reports; it exits 1 only when the dashboard is not built or over the budget.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "src" / "clicklake" / "web" / "assets"
BUDGET = 250 * 1024


def main() -> int:
    try:
        manifest = json.loads((ASSETS / "manifest.json").read_text())
    except FileNotFoundError:
        print(f"{ASSETS / 'manifest.json'} is missing: run 'make dashboard' first", file=sys.stderr)
        return 1
    print(f"{'file':<28} {'bytes':>9} {'gzipped':>9}")
    scripts = lazy = 0
    for name in [manifest["js"], *manifest["chunks"], manifest["css"]]:
        raw = (ASSETS / name).read_bytes()
        gz = len(gzip.compress(raw, compresslevel=9, mtime=0))
        if name == manifest.get("map"):
            lazy += gz
        elif name.endswith(".js"):
            scripts += gz
        print(f"{name:<28} {len(raw):>9} {gz:>9}{'  (the world map, later)' if name == manifest.get('map') else ''}")
    print(f"{'scripts but the map':<28} {'':>9} {scripts:>9}")
    print(f"{'with the world map':<28} {'':>9} {scripts + lazy:>9}")
    print(f"{'budget (issue 15)':<28} {'':>9} {BUDGET:>9}")
    print(
        f"\nThe scripts but the map are {scripts / 1024:.1f} KB gzipped ({100 * scripts / BUDGET:.0f} % of the budget)."
    )
    if scripts > BUDGET:
        print(f"over the budget of {BUDGET} bytes gzipped", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
