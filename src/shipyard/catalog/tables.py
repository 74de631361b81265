"""Catalog schema (SQLAlchemy Core). Migrations live in ``catalog/migrations``."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

assets = sa.Table(
    "assets",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("properties", Json, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("kind", "name", name="uq_assets_kind_name"),
    sa.Index("ix_assets_owner_kind", "owner", "kind"),
)

#: SQLite's FTS5 trigram index over assets' name and description (``catalog_0001``:
#: a virtual table kept in step by triggers, so not part of the metadata).
ASSETS_FTS = "assets_fts"

asset_tags = sa.Table(
    "asset_tags",
    metadata,
    sa.Column(
        "asset_id", sa.String(32), sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(128), primary_key=True),
    sa.Index("ix_asset_tags_tag", "tag"),
)

asset_versions = sa.Table(
    "asset_versions",
    metadata,
    sa.Column(
        "asset_id", sa.String(32), sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("properties", Json, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

lineage_edges = sa.Table(
    "lineage_edges",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "source_id", sa.String(32), sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("source_version", sa.Integer, nullable=False),
    sa.Column(
        "target_id", sa.String(32), sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("target_version", sa.Integer, nullable=False),
    sa.Column("operation", sa.String(128), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint(
        "source_id",
        "source_version",
        "target_id",
        "target_version",
        "operation",
        name="uq_lineage_edges_edge",
    ),
    sa.Index("ix_lineage_edges_source", "source_id"),
    sa.Index("ix_lineage_edges_target", "target_id"),
)
