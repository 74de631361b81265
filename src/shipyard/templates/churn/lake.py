"""Lake: the bronze tables the raw files land in, and the curated tables computed from them.

The silver and gold SQL is the demo's (``shipyard.demo.definitions``): replace
``TABLES`` with your own ``TableDefinition``s as the project grows.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.demo.definitions import table_definitions
from shipyard.platform import Platform

TABLES = table_definitions()  # silver.orders, silver.customers, gold.customer_daily


def build(p: Platform, raw: dict[str, Path]) -> None:
    """Ingest the raw files (idempotent), declare the curated tables, refresh them."""
    for table, path in raw.items():
        p.lake.ingest(table, path)
    for definition in TABLES:
        p.lake.define(definition)
    p.lake.refresh_all()
