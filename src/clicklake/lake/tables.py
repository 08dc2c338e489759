"""The lake's table definitions, created and evolved at start-up by `ensure_tables`.

A table's columns come from an Arrow schema (for `bronze.events`, the one
derived from `clicklake.schema.record.Record`), so the contract is defined
once. Evolution only adds: a new optional field in the code's schema is added
to the existing table; nothing is ever dropped or renamed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
from pyiceberg.io.pyarrow import _ConvertToIcebergWithoutIDs, visit_pyarrow
from pyiceberg.partitioning import PARTITION_FIELD_ID_START, PartitionField, PartitionSpec
from pyiceberg.schema import Schema, assign_fresh_schema_ids, index_by_name
from pyiceberg.table import Table
from pyiceberg.table.sorting import SortField, SortOrder
from pyiceberg.transforms import IdentityTransform, Transform

from clicklake.errors import TerminalError
from clicklake.schema.arrow import arrow_schema
from clicklake.schema.record import Record

log = logging.getLogger(__name__)

NAMESPACES: Final = ("bronze", "silver", "gold")

BRONZE_EVENTS: Final = "bronze.events"
BRONZE_QUARANTINE: Final = "bronze.quarantine"


@dataclass(frozen=True)
class Partition:
    """One partition field: a transform of a source column, under a name."""

    source: str
    transform: Transform[Any, Any]
    name: str


#: Iceberg table properties of every lake table.
TABLE_PROPERTIES: Final = {
    # The loader commits about once a second: merge small manifests as they pile up
    # so that planning a scan stays cheap, and keep only recent metadata files.
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "50",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "write.parquet.compression-codec": "zstd",
}


@dataclass(frozen=True)
class TableDef:
    """A lake table: its identifier, columns, partitioning and sort order."""

    identifier: str
    arrow: pa.Schema
    partitions: tuple[Partition, ...] = ()
    sort: tuple[str, ...] = ()

    def iceberg_schema(self) -> Schema:
        """The Iceberg schema, with field ids assigned in column order."""
        return iceberg_schema(self.arrow)

    def partition_spec(self, schema: Schema) -> PartitionSpec:
        """The partition spec against `schema`'s field ids."""
        return PartitionSpec(
            *(
                PartitionField(
                    source_id=schema.find_field(p.source).field_id,
                    field_id=PARTITION_FIELD_ID_START + i,
                    transform=p.transform,
                    name=p.name,
                )
                for i, p in enumerate(self.partitions)
            )
        )

    def sort_order(self, schema: Schema) -> SortOrder:
        """Ascending on the `sort` columns, or unsorted when there are none."""
        fields = [SortField(source_id=schema.find_field(c).field_id, transform=IdentityTransform()) for c in self.sort]
        return SortOrder(*fields)


def iceberg_schema(arrow: pa.Schema) -> Schema:
    """Convert an Arrow schema without field ids to an Iceberg schema with fresh ones.

    Arrow nullability becomes optional/required. This is the conversion pyiceberg
    applies itself when `create_table` gets an Arrow schema; doing it here gives
    the ids the partition spec and sort order need.
    """
    converted = visit_pyarrow(arrow, _ConvertToIcebergWithoutIDs())
    assert isinstance(converted, Schema)
    return assign_fresh_schema_ids(converted)


def nested_optional(schema: pa.Schema) -> pa.Schema:
    """`schema` with every field below the top level nullable; top-level nullability is kept.

    A field the contract requires inside an optional object (`product.product_id`) is
    optional in the table: Arrow, and so Iceberg writes, cannot express "required when
    the parent is present" once the parent is null in some rows. The contract still
    enforces it at the door.
    """

    def relax(t: pa.DataType) -> pa.DataType:
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, relax(f.type), nullable=True) for f in t])
        if pa.types.is_map(t):
            return pa.map_(t.key_type, relax(t.item_type))
        if pa.types.is_list(t):
            return pa.list_(pa.field("element", relax(t.value_type), nullable=True))
        return t

    return pa.schema([pa.field(f.name, relax(f.type), nullable=f.nullable) for f in schema])


#: The columns of `bronze.events`: the enriched record of the contract.
EVENTS_SCHEMA: Final = nested_optional(arrow_schema(Record))

QUARANTINE_SCHEMA: Final = pa.schema(
    [
        pa.field("site_id", pa.string(), nullable=True),
        pa.field("received_ts", pa.timestamp("ms", tz="UTC"), nullable=False),
        # The UTC day of received_ts, the partition column. A day(received_ts)
        # transform would need the optional pyiceberg-core package on write.
        pa.field("received_dt", pa.date32(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        # the undecoded payload as received: it may not even be valid UTF-8
        pa.field("raw", pa.binary(), nullable=False),
        pa.field("stream_partition", pa.int32(), nullable=True),
        pa.field("stream_offset", pa.int64(), nullable=True),
        pa.field("replayed", pa.bool_(), nullable=False),
    ]
)

TABLES: Final = (
    TableDef(
        BRONZE_EVENTS,
        EVENTS_SCHEMA,
        # seed 004 section 3.1: events_type=/ingest_dt=/hour=
        partitions=(
            Partition("event_type", IdentityTransform(), "events_type"),
            Partition("ingest_dt", IdentityTransform(), "ingest_dt"),
            Partition("hour", IdentityTransform(), "hour"),
        ),
        sort=("site_id", "ts"),
    ),
    TableDef(
        BRONZE_QUARANTINE,
        QUARANTINE_SCHEMA,
        partitions=(Partition("received_dt", IdentityTransform(), "received_dt"),),
    ),
)


def ensure_tables(catalog: Catalog, tables: tuple[TableDef, ...] = TABLES) -> dict[str, Table]:
    """Create the namespaces and tables that are missing and add new optional columns to the others.

    Safe to call at every start-up and from several processes at once.
    """
    for namespace in NAMESPACES:
        catalog.create_namespace_if_not_exists(namespace)
    return {t.identifier: ensure_table(catalog, t) for t in tables}


def ensure_table(catalog: Catalog, definition: TableDef) -> Table:
    """Create one table if it is missing, else evolve its schema to include every field of `definition`."""
    schema = definition.iceberg_schema()
    # Load first: creating writes a new metadata file before the catalog says the table
    # exists, so "create if not exists" on every open would leave one behind each time.
    try:
        table = catalog.load_table(definition.identifier)
    except NoSuchTableError:
        try:
            table = catalog.create_table(
                definition.identifier,
                schema,
                partition_spec=definition.partition_spec(schema),
                sort_order=definition.sort_order(schema),
                properties=TABLE_PROPERTIES,
            )
        except TableAlreadyExistsError:  # another process created it meanwhile
            table = catalog.load_table(definition.identifier)
    missing = sorted(set(index_by_name(schema)) - set(index_by_name(table.schema())))
    if not missing:
        return table
    log.info("adding columns %s to %s", ", ".join(missing), definition.identifier)
    try:
        with table.update_schema() as update:
            update.union_by_name(schema)
    except ValueError as exc:
        raise TerminalError(
            f"cannot evolve {definition.identifier} to add {', '.join(missing)}: {exc}; "
            "only optional columns can be added to an existing table"
        ) from exc
    return table
