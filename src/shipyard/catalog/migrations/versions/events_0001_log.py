"""events schema: the append-only log, topic offsets, consumer positions, publish keys

Revision ID: events_0001
Revises:
Create Date: 2026-11-26 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "events_0001"
down_revision = None
branch_labels = ("events",)
depends_on = "core_0001"

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "event_topics",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_topics")),
    )
    op.create_table(
        "event_records",
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("offset", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("value", _JSON, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", "offset", name=op.f("pk_event_records")),
    )
    op.create_table(
        "event_offsets",
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("group_name", sa.String(length=256), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("pending_end", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", "group_name", name=op.f("pk_event_offsets")),
    )
    op.create_table(
        "event_publish_keys",
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("batch_key", sa.String(length=256), nullable=False),
        sa.Column("first_offset", sa.BigInteger(), nullable=False),
        sa.Column("last_offset", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "batch_key", name=op.f("pk_event_publish_keys")),
    )


def downgrade() -> None:
    op.drop_table("event_publish_keys")
    op.drop_table("event_offsets")
    op.drop_table("event_records")
    op.drop_table("event_topics")
