"""Read-only SQL over the lake tables, in DuckDB."""
