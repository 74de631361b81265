"""core: the audit log's hash chain (prev_hash, row_hash)

Rows already in the log are hashed in id order here, from the genesis hash
(64 zeros), exactly as ``SqlAuditLog.write`` would have: the chain covers the
whole log, and what the log held before this migration is vouched for from the
moment it ran (an edit made earlier cannot be told apart).

Revision ID: core_0002
Revises: core_0001
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shipyard.governance.chain import hash_existing

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

_PAGE = 5000


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("ts", sa.DateTime(timezone=True)),
        sa.column("principal", sa.String()),
        sa.column("action", sa.String()),
        sa.column("asset", sa.String()),
        sa.column("team", sa.String()),
        sa.column("outcome", sa.String()),
        sa.column("details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
        sa.column("prev_hash", sa.String()),
        sa.column("row_hash", sa.String()),
    )
    update = (
        log.update()
        .where(log.c.id == sa.bindparam("_id"))
        .values(prev_hash=sa.bindparam("_prev"), row_hash=sa.bindparam("_hash"))
    )

    def rows() -> Iterator[Any]:
        after = 0
        while True:
            page = conn.execute(
                sa.select(log).where(log.c.id > after).order_by(log.c.id).limit(_PAGE)
            ).all()
            yield from page
            if len(page) < _PAGE:
                return
            after = page[-1].id

    batch: list[dict[str, object]] = []
    for row_id, prev, digest in hash_existing(rows()):
        batch.append({"_id": row_id, "_prev": prev, "_hash": digest})
        if len(batch) >= _PAGE:
            conn.execute(update, batch)
            batch = []
    if batch:
        conn.execute(update, batch)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
