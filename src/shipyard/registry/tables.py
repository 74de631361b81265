"""Registry schema (SQLAlchemy Core): models, versions, aliases, promotions, policies."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

registered_models = sa.Table(
    "registry_models",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

model_versions = sa.Table(
    "registry_versions",
    metadata,
    sa.Column(
        "name",
        sa.String(256),
        sa.ForeignKey("registry_models.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("storage_location", sa.String(1024), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("flavor", sa.String(64), nullable=True),
    sa.Column("signature", Json, nullable=True),
    sa.Column("metrics", Json, nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

aliases = sa.Table(
    "registry_aliases",
    metadata,
    sa.Column(
        "name",
        sa.String(256),
        sa.ForeignKey("registry_models.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("alias", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

alias_history = sa.Table(
    "registry_alias_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("alias", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("previous_version", sa.Integer, nullable=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("principal", sa.String(128), nullable=False),
    sa.Column("approved_by", sa.String(128), nullable=True),
    sa.Column("request_id", sa.String(32), nullable=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_registry_alias_history_name_alias", "name", "alias"),
)

promotions = sa.Table(
    "registry_promotions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("alias", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("requested_by", sa.String(128), nullable=False),
    sa.Column("requested_at", UtcDateTime, nullable=False),
    sa.Column("decided_by", sa.String(128), nullable=True),
    sa.Column("decided_at", UtcDateTime, nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Index("ix_registry_promotions_name_status", "name", "status"),
)

alias_policies = sa.Table(
    "registry_alias_policies",
    metadata,
    # "*" applies to every model that has no policy of its own for the alias.
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("alias", sa.String(128), primary_key=True),
    sa.Column("protected", sa.Boolean, nullable=False),
    sa.Column("require_signature", sa.Boolean, nullable=False),
    sa.Column("metric", sa.String(250), nullable=True),
    sa.Column("min_value", sa.Float, nullable=True),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
