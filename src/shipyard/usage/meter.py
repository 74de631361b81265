"""Measure one hour of usage: the rows of ``system.usage`` for that hour.

- jobs and batch scoring: the ``usage_records`` workers wrote (CPU-seconds of the
  job's own thread or child process, and its peak resident memory);
- deployments: requests and compute time (the sum of request latencies) from
  the inference log;
- lake tables: the Delta bytes of each table at metering time; artifact roots:
  the bytes under each top-level folder of the artifact store (an experiment's
  folder belongs to the experiment's owner);
- online store: rows in each feature view's current namespace;
- idle capacity: what the cores paid for (``usage.capacity_cores``, default this
  machine's) could have done in the hour, less the metered CPU and compute time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.catalog.tables import assets
from shipyard.usage.models import NOBODY, USAGE_COLUMNS
from shipyard.usage.tables import usage_records

if TYPE_CHECKING:
    from shipyard.features.backends.base import OnlineStore
    from shipyard.storage.base import ArtifactStore

Row = dict[str, Any]
HOUR = timedelta(hours=1)


def row(hour: datetime, team: str, principal: str, kind: str, resource: str, **m: Any) -> Row:
    out: Row = {name: 0 for name in USAGE_COLUMNS}
    out.update(hour=hour, team=team, principal=principal, kind=kind, resource=resource)
    out.update(m)
    out["cpu_seconds"] = float(out["cpu_seconds"])
    out["compute_seconds"] = float(out["compute_seconds"])
    return out


def job_rows(conn: Connection, hour: datetime) -> list[Row]:
    r = usage_records.c
    q = (
        sa.select(
            r.team,
            r.principal,
            r.kind,
            r.resource,
            sa.func.sum(r.cpu_seconds).label("cpu"),
            sa.func.max(r.peak_memory_bytes).label("mem"),
            sa.func.count().label("n"),
        )
        .where(r.ts >= hour, r.ts < hour + HOUR)
        .group_by(r.team, r.principal, r.kind, r.resource)
        .order_by(r.team, r.principal, r.kind, r.resource)
    )
    return [
        row(
            hour,
            x.team,
            x.principal,
            x.kind,
            x.resource,
            cpu_seconds=x.cpu,
            peak_memory_bytes=int(x.mem),
            requests=int(x.n),
        )
        for x in conn.execute(q)
    ]


def table_rows(conn: Connection, hour: datetime) -> list[Row]:
    q = sa.select(assets.c.name, assets.c.owner, assets.c.created_by, assets.c.properties).where(
        assets.c.kind == "table"
    )
    return [
        row(
            hour,
            x.owner,
            x.created_by,
            "table",
            f"table:{x.name}",
            stored_bytes=int((x.properties or {}).get("size_bytes", 0) or 0),
        )
        for x in conn.execute(q.order_by(assets.c.name))
    ]


def deployment_rows(
    sql: Callable[[str], list[Row]], owners: dict[str, tuple[str, str]], hour: datetime
) -> list[Row]:
    """``sql`` runs lake SQL (the inference log may not exist yet: then no rows)."""
    from shipyard.serving.predlog import LOG_TABLE

    until = hour + HOUR
    found = sql(
        f"""SELECT deployment, count(*) AS requests, sum(lat) / 1000.0 AS compute_seconds
FROM (SELECT deployment, request_id, any_value(latency_ms) AS lat FROM {LOG_TABLE}
      WHERE ts >= TIMESTAMPTZ '{hour.isoformat()}' AND ts < TIMESTAMPTZ '{until.isoformat()}'
        AND NOT shadow
      GROUP BY deployment, request_id)
GROUP BY deployment ORDER BY deployment"""
    )
    out = []
    for x in found:
        team, by = owners.get(x["deployment"], (NOBODY, NOBODY))
        out.append(
            row(
                hour,
                team,
                by,
                "deployment",
                f"deployment:{x['deployment']}",
                requests=int(x["requests"]),
                compute_seconds=x["compute_seconds"] or 0.0,
            )
        )
    return out


def deployment_owners(conn: Connection) -> dict[str, tuple[str, str]]:
    q = sa.select(assets.c.name, assets.c.owner, assets.c.created_by).where(
        assets.c.kind == "deployment"
    )
    return {x.name: (x.owner, x.created_by) for x in conn.execute(q)}


def artifact_roots(
    store: ArtifactStore, owners: dict[str, str], *, max_entries: int, max_depth: int
) -> list[tuple[str, str, int]]:
    """(root, owner team, bytes) per top-level folder of the artifact store."""
    from shipyard.storage.listing import walk_files

    out = []
    for item in store.list("", limit=max_entries):
        root = item.path.strip("/").split("/")[-1]
        if not root:
            continue
        if item.is_dir:
            files = walk_files(store, root, max_entries=max_entries, max_depth=max_depth)
            size = sum(f.file_size or 0 for f in files)
        else:
            size = item.file_size or 0
        out.append((root, owners.get(root, NOBODY), size))
    return out


def view_namespaces(
    conn: Connection, where: sa.ColumnElement[bool] | None = None
) -> list[tuple[str, str, str, str]]:
    """(view, its latest materialized namespace, owner, created_by) of the feature views
    matching ``where`` (a condition on the catalog's assets)."""
    from shipyard.features.tables import feature_materializations as fm

    latest = sa.select(fm.c.view, sa.func.max(fm.c.id).label("id")).group_by(fm.c.view).subquery()
    q = (
        sa.select(fm.c.view, fm.c.namespace, assets.c.owner, assets.c.created_by)
        .join(latest, fm.c.id == latest.c.id)
        .join(assets, (assets.c.kind == "feature_view") & (assets.c.name == fm.c.view))
    )
    if where is not None:
        q = q.where(where)
    return [(r.view, r.namespace, r.owner, r.created_by) for r in conn.execute(q)]


def online_rows(
    store: OnlineStore, views: Iterable[tuple[str, str, str, str]], hour: datetime
) -> list[Row]:
    """``views``: (view, namespace, owner, created_by)."""
    return [
        row(hour, owner, by, "online", f"feature_view:{view}", online_rows=store.count(ns))
        for view, ns, owner, by in views
    ]


def idle_row(hour: datetime, rows: list[Row], cores: float | None) -> Row:
    capacity = (cores or float(os.cpu_count() or 1)) * HOUR.total_seconds()
    used = sum(r["cpu_seconds"] + r["compute_seconds"] for r in rows)
    return row(hour, NOBODY, NOBODY, "idle", "idle", cpu_seconds=max(capacity - used, 0.0))
