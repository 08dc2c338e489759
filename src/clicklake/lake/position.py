"""Stream positions kept in Iceberg snapshot summaries: how a table knows what it holds.

The loader writes, in the same commit as the data, the stream's id and the next offset of
every partition (`clicklake.stream-id`, `clicklake.stream-offsets`). The table is then the
only record of what was loaded: a loader that starts reads the position back and goes on
from there, so a crash before, during or after a commit neither loses nor repeats an event.

Other writers (compaction, quarantine replay) copy the position of the snapshot they
replace into their own summary with `carry_position`, so the latest snapshot always
carries it; `committed_position` also walks back through parent snapshots for safety.
"""

from __future__ import annotations

from typing import Final

import msgspec
from pyiceberg.table import Table

STREAM_ID_KEY: Final = "clicklake.stream-id"
OFFSETS_KEY: Final = "clicklake.stream-offsets"


class StreamPosition(msgspec.Struct, frozen=True):
    """The next offset to read in every partition of the stream named `stream_id`."""

    stream_id: str
    offsets: dict[int, int]

    def properties(self) -> dict[str, str]:
        """The snapshot summary properties that record this position."""
        return {
            STREAM_ID_KEY: self.stream_id,
            OFFSETS_KEY: msgspec.json.encode({str(p): o for p, o in sorted(self.offsets.items())}).decode(),
        }


def committed_position(table: Table) -> StreamPosition | None:
    """The position recorded by the latest snapshot (or nearest ancestor) that has one; None if none does."""
    metadata = table.metadata
    snapshot = table.current_snapshot()
    while snapshot is not None:
        summary = snapshot.summary
        if summary is not None and OFFSETS_KEY in summary.additional_properties:
            props = summary.additional_properties
            offsets = msgspec.json.decode(props[OFFSETS_KEY], type=dict[int, int])
            return StreamPosition(props.get(STREAM_ID_KEY, ""), offsets)
        parent = snapshot.parent_snapshot_id
        snapshot = metadata.snapshot_by_id(parent) if parent is not None else None
    return None


def carry_position(table: Table) -> dict[str, str]:
    """Summary properties that repeat the table's current position (empty when it has none)."""
    position = committed_position(table)
    return position.properties() if position is not None else {}
