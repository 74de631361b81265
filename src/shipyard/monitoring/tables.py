"""Monitoring schema: reference profiles and drift reports (bodies as JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

if TYPE_CHECKING:
    from shipyard.monitoring.slo import Incident

#: One row per profile; the newest of a (kind, name, version) is the reference.
profiles = sa.Table(
    "monitoring_profiles",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("body", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_monitoring_profiles_subject", "kind", "name", "version"),
)

#: One row per drift run of a deployment's window.
drift_reports = sa.Table(
    "monitoring_drift",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("deployment", sa.String(256), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("body", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_monitoring_drift_deployment", "deployment", "created_at"),
)

#: One row per data-quality snapshot of a lake table.
quality_snapshots = sa.Table(
    "monitoring_quality",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("table_name", sa.String(512), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("body", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_monitoring_quality_table", "table_name", "created_at"),
)

#: One row per SLO of a deployment (the body is the ``SLO``).
slos = sa.Table(
    "monitoring_slos",
    metadata,
    sa.Column("deployment", sa.String(256), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("body", Json, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

#: One row per incident: opened by a burning SLO, resolved when it stops burning.
incidents = sa.Table(
    "monitoring_incidents",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("deployment", sa.String(256), nullable=False),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.Column("body", Json, nullable=False),
    sa.Index("ix_monitoring_incidents_deployment", "deployment", "opened_at"),
)


def incident_row(incident: Incident, owner: str) -> dict[str, Any]:
    """The ``incidents`` row of an incident (drift or SLO): its columns and its JSON body."""
    return {
        "id": incident.id,
        "deployment": incident.deployment,
        "source": incident.source,
        "owner": owner,
        "state": incident.state,
        "opened_at": incident.opened_at,
        "resolved_at": incident.resolved_at,
        "body": incident.model_dump(mode="json"),
    }
