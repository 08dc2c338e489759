"""The Iceberg lake: catalog, table definitions and (later) maintenance."""
