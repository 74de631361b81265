"""Lake metadata in the catalog database: table definitions and refresh runs.

The data itself lives in Delta tables; the catalog asset ``table:<name>`` carries
the table's schema, version and stats. These tables hold what Delta does not:
how a curated table is computed, and what each refresh found.
"""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

lake_definitions = sa.Table(
    "lake_definitions",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("definition", Json, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

lake_refreshes = sa.Table(
    "lake_refreshes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("table_name", sa.String(256), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("rows_written", sa.BigInteger, nullable=False),
    sa.Column("rows_quarantined", sa.BigInteger, nullable=False),
    sa.Column("expectations", Json, nullable=False),
    sa.Column("source_versions", Json, nullable=False),
    sa.Column("principal", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
