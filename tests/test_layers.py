"""Every stage imports only to its left (DESIGN.md): read from the source with `ast`, every import counted.

The order, lowest first, is the one the code depends on: the contract and settings at the
base; the stream and the lake, the media the stages meet at; then the stages in the order data
flows through them. A stage calls the medium to its right in DESIGN.md's drawing (the collector
appends to the stream, the loader commits to the lake), so in imports the media sit below the
stages that use them. At the top, the composition roots build and run the stages from the
settings: `wiring`, the process tree, and the commands (`cli.py`, and a package's own `cli.py`,
which `clicklake.cli` adds).
"""

from __future__ import annotations

import ast
from pathlib import Path

import clicklake

SRC = Path(clicklake.__file__).parent

#: Each group may import its own members and any group before it.
LAYERS: list[set[str]] = [
    {"errors", "config", "_failpoint", "_filelock", "_lazy", "schema", "sdk"},
    {"stream"},
    {"lake"},
    {"collect"},
    {"load"},
    # destinations read the stream beside the loader, each with its own consumer group
    {"destinations"},
    {"transform"},
    # the warehouse export reads what the transform wrote
    {"export"},
    {"realtime"},
    {"query"},
    {"recommend"},
    {"alerts"},
    {"web"},
    {"demo"},
    # the composition roots: they build and run the stages
    {"wiring", "jobs", "tree", "stages", "up", "_preload", "cli", "_docs", "__init__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
TOP = len(LAYERS) - 1


def _unit(path: Path) -> str:
    """The layer name of a module: its package under clicklake, or its own name at the top level."""
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, unit) of every `clicklake.X` import in the file, at any depth (also inside functions)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "clicklake":
                names = [f"clicklake.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "clicklake" and len(parts) > 1:
                out.append((node.lineno, parts[1]))
    return out


def test_every_module_belongs_to_a_layer() -> None:
    units = {_unit(p) for p in SRC.rglob("*.py")}
    assert units - RANK.keys() == set(), "a new package or module: place it in LAYERS"


def test_every_stage_imports_only_to_its_left() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        unit = _unit(path)
        # a package's cli.py is its commands: added by clicklake.cli, it builds stages as the commands do
        rank = TOP if path.name == "cli.py" else RANK[unit]
        for line, target in _imports(path):
            if target in RANK and RANK[target] > rank:
                wrong.append(f"{path.relative_to(SRC)}:{line} imports clicklake.{target}")
    assert wrong == []


def test_the_check_sees_an_import_to_the_right(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from clicklake.web.app import Web\n    from clicklake import up\n")
    assert _imports(module) == [(2, "web"), (3, "up")]
