"""The view of a table that clicklake commits through: no retry of pyiceberg's own, and a
transaction that works its metadata out once per state.

pyiceberg (0.12) rebuilds `Transaction.table_metadata` on every read: it replays the staged
updates and deep-copies the whole result, every snapshot of the table included, and an append
reads it some twenty times. With the loader's 60-70 snapshots that was most of a commit's fixed
cost (measured: about 190 ms of CPU to commit 200 records). The transaction here keeps the
result for as long as neither the table's metadata nor the tuple of staged updates is replaced
(both are immutable and rebound on every change, so their identity says when it is stale),
which is what the pyiceberg maintainers have discussed doing upstream. The one visible
difference: repeated reads of one state give one `last_updated_ms`; the catalog stamps the
committed metadata itself.
"""

from __future__ import annotations

from pyiceberg.table import Table, TableProperties, Transaction
from pyiceberg.table.metadata import TableMetadata


class _Transaction(Transaction):
    _memo: tuple[object, object, TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates, memo = self._table.metadata, self._updates, self._memo
        if memo is None or memo[0] is not base or memo[1] is not updates:
            memo = self._memo = (base, updates, super().table_metadata)
        return memo[2]


class _View(Table):
    def transaction(self) -> Transaction:
        return _Transaction(self)


def commit_once(table: Table, *, codec: str | None = None) -> Table:
    """A view of `table` whose commits pyiceberg does not retry itself (see `clicklake.lake.maintain`).

    `codec`: the Parquet compression of the data files written through the view, in place of
    the table's own (`write.parquet.compression-codec`). Only this process's writes see it: the
    table's properties in the catalog do not change.
    """
    properties = {**table.metadata.properties, TableProperties.COMMIT_NUM_RETRIES: "0"}
    if codec is not None:
        properties[TableProperties.PARQUET_COMPRESSION] = codec
    metadata = table.metadata.model_copy(update={"properties": properties})
    return _View(table.name(), metadata, table.metadata_location, table.io, table.catalog, table.config)
