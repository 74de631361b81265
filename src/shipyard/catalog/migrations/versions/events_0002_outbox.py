"""events schema: the transactional outbox of lifecycle events for a bus outside the DB

Revision ID: events_0002
Revises: events_0001
Create Date: 2026-12-06 02:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "events_0002"
down_revision = "events_0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("value", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_outbox")),
        sa.UniqueConstraint("msg_id", name=op.f("uq_event_outbox_msg_id")),
    )
    op.create_index("ix_event_outbox_sent_at", "event_outbox", ["sent_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_outbox_sent_at", table_name="event_outbox")
    op.drop_table("event_outbox")
