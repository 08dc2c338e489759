"""Regenerate the generated parts of `docs/` (`make docs`); tests check they are current.

- `docs/schema/v1.json`: the published event schema.
- `docs/configuration.md`: the settings table between the `settings` markers.
- `docs/cli.md`: the `--help` of every command between the `cli` markers.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from clicklake.cli import build_parser
from clicklake.config import settings_table
from clicklake.schema import json_schema_bytes

DOCS = Path(__file__).resolve().parents[2] / "docs"


def settings_markdown() -> str:
    rows = ["| setting | environment variable | default | type | meaning |", "|---|---|---|---|---|"]
    for doc in settings_table():
        rows.append(f"| `{doc.key}` | `{doc.env}` | `{doc.default}` | {doc.type} | {doc.description} |")
    return "\n".join(rows)


def cli_markdown() -> str:
    parser = build_parser()
    # A fixed width keeps the text the same on every terminal.
    os.environ["COLUMNS"] = "100"
    parts = ["### clicklake", "", "```text", parser.format_help().rstrip(), "```"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                parts += ["", f"### clicklake {name}", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(parts)


def splice(text: str, marker: str, body: str) -> str:
    """Replace what stands between `<!-- marker:start -->` and `<!-- marker:end -->`."""
    pattern = re.compile(rf"(<!-- {marker}:start -->\n)(?:.*?\n)?(<!-- {marker}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"markers <!-- {marker}:start/end --> are missing")
    return pattern.sub(lambda m: m[1] + body + "\n" + m[2], text)


def expected() -> dict[Path, bytes]:
    """Every generated file as it should be now."""
    config = DOCS / "configuration.md"
    cli = DOCS / "cli.md"
    return {
        DOCS / "schema" / "v1.json": json_schema_bytes(),
        config: splice(config.read_text(), "settings", settings_markdown()).encode(),
        cli: splice(cli.read_text(), "cli", cli_markdown()).encode(),
    }


def main() -> None:
    for path, content in expected().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            print(f"wrote {path.relative_to(DOCS.parent)}")


if __name__ == "__main__":
    main()
