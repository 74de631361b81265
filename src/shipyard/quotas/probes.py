"""What a team or principal uses now, per quota resource (read from the catalog).

Counts are one indexed query each. Storage is the lake tables' Delta bytes as the
catalog recorded them at their last write, plus the artifact bytes the last usage
metering pass measured (listing an artifact store on every write would cost
seconds). Online rows are counted by the online store for each of the team's
feature views' current namespace. CPUs and GPUs are what the running training jobs
and search workers asked for (a job whose worker died holds nothing once its lease
has expired).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.catalog.tables import assets
from shipyard.quotas.models import QuotaResource, QuotaScope

if TYPE_CHECKING:
    from shipyard.features.backends.base import OnlineStore

Probe = Callable[[Connection, QuotaScope, str], float]


def _who(
    column_team: sa.ColumnElement[str],
    column_principal: sa.ColumnElement[str],
    scope: QuotaScope,
    subject: str,
) -> sa.ColumnElement[bool]:
    return (column_team if scope is QuotaScope.TEAM else column_principal) == subject


def active_jobs(conn: Connection, scope: QuotaScope, subject: str) -> float:
    from shipyard.pipelines.tables import jobs

    q = sa.select(sa.func.count()).where(
        jobs.c.state.in_(("queued", "running")),
        _who(jobs.c.team, jobs.c.created_by, scope, subject),
    )
    return float(conn.execute(q).scalar_one())


def held_training(conn: Connection, scope: QuotaScope, subject: str) -> list[Any]:
    """What the subject's running training jobs and search workers hold (``Resources``),
    a job whose lease has expired (its worker died) holding nothing."""
    from shipyard._internal.clock import utcnow
    from shipyard.pipelines.tables import jobs
    from shipyard.training.models import POOL
    from shipyard.training.resources import held_by

    q = sa.select(jobs.c.args).where(
        jobs.c.state == "running",
        jobs.c.pool == POOL,
        jobs.c.kind == "training",
        jobs.c.lease_until >= utcnow(),
        _who(jobs.c.team, jobs.c.created_by, scope, subject),
    )
    return [held_by(args or {}) for (args,) in conn.execute(q)]


def training_cpus(conn: Connection, scope: QuotaScope, subject: str) -> float:
    return float(sum(r.cpus for r in held_training(conn, scope, subject)))


def training_gpus(conn: Connection, scope: QuotaScope, subject: str) -> float:
    return float(sum(r.gpus for r in held_training(conn, scope, subject)))


def deployments(conn: Connection, scope: QuotaScope, subject: str) -> float:
    q = sa.select(sa.func.count()).where(
        assets.c.kind == "deployment", _who(assets.c.owner, assets.c.created_by, scope, subject)
    )
    return float(conn.execute(q).scalar_one())


def lake_bytes(conn: Connection, scope: QuotaScope, subject: str) -> float:
    q = sa.select(assets.c.properties).where(
        assets.c.kind == "table", _who(assets.c.owner, assets.c.created_by, scope, subject)
    )
    return float(sum(int((p or {}).get("size_bytes", 0) or 0) for (p,) in conn.execute(q)))


def artifact_bytes(conn: Connection, scope: QuotaScope, subject: str) -> float:
    """The last metered bytes of the team's artifact roots (0 before the first pass)."""
    from shipyard.usage.tables import usage_gauges

    if scope is not QuotaScope.TEAM:
        return 0.0
    q = sa.select(sa.func.coalesce(sa.func.sum(usage_gauges.c.value), 0)).where(
        usage_gauges.c.team == subject, usage_gauges.c.metric == "artifact_bytes"
    )
    return float(conn.execute(q).scalar_one())


def storage_bytes(conn: Connection, scope: QuotaScope, subject: str) -> float:
    return lake_bytes(conn, scope, subject) + artifact_bytes(conn, scope, subject)


def online_rows_probe(online: Callable[[], OnlineStore]) -> Probe:
    def probe(conn: Connection, scope: QuotaScope, subject: str) -> float:
        from shipyard.usage.meter import view_namespaces

        store = online()
        owner = assets.c.owner if scope is QuotaScope.TEAM else assets.c.created_by
        found = view_namespaces(conn, owner == subject)
        return float(sum(store.count(ns) for _view, ns, _team, _by in found))

    return probe


def probes(online: Callable[[], OnlineStore]) -> dict[QuotaResource, Probe]:
    return {
        QuotaResource.CONCURRENT_JOBS: active_jobs,
        QuotaResource.DEPLOYMENTS: deployments,
        QuotaResource.STORAGE_BYTES: storage_bytes,
        QuotaResource.ONLINE_ROWS: online_rows_probe(online),
        QuotaResource.CPUS: training_cpus,
        QuotaResource.GPUS: training_gpus,
    }
