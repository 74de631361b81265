"""The lakehouse: medallion Delta tables, ingestion, expectations, time travel, lineage."""

from shipyard.lake.models import (
    ColumnDoc,
    ColumnInfo,
    Expectation,
    ExpectationResult,
    IngestResult,
    RefreshResult,
    TableDefinition,
    TableInfo,
    table,
)

__all__ = [
    "ColumnDoc",
    "ColumnInfo",
    "Expectation",
    "ExpectationResult",
    "IngestResult",
    "RefreshResult",
    "TableDefinition",
    "TableInfo",
    "table",
]
