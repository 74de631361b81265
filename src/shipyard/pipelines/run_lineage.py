"""A pipeline run's ``job:`` asset and its lineage to what its steps read and wrote.

Actions are known before they run (``actions.ACTIONS`` says what each writes); a
step function is not. So the worker listens (``shipyard._internal.service.listening``)
to the platform calls a step makes on its thread -- each audited change, each audited
lake read -- and records them here once the step ends: an edge ``job:<run> -> asset``
for what it wrote, ``asset -> job:<run>`` for what it read. What a written asset was
made from (its own upstream edges at the version written: the tables a training set
joined, the run a model came from) counts as read. An asset the run itself wrote is
never also its input, so a run that writes bronze and then reads it has no cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard.catalog.context import ServiceContext
from shipyard.catalog.models import AssetRef
from shipyard.errors import InvalidArgument, NotFound
from shipyard.pipelines.definitions import KIND as PIPELINE_KIND
from shipyard.pipelines.tables import pipeline_runs

RUN_KIND = "job"
#: The operation of the edges between a run and what its steps touched.
STEP_EDGE = "pipeline_step"


@dataclass
class StepAccess:
    """What one step's platform calls wrote and read (an ``AccessListener``)."""

    wrote_refs: list[str] = field(default_factory=list)
    read_refs: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wrote(self, action: str, assets: Sequence[str]) -> None:
        with self._lock:
            self.wrote_refs += [a for a in dict.fromkeys(assets) if a not in self.wrote_refs]

    def read(self, action: str, assets: Sequence[str]) -> None:
        with self._lock:
            self.read_refs += [a for a in dict.fromkeys(assets) if a not in self.read_refs]

    def __bool__(self) -> bool:
        return bool(self.wrote_refs or self.read_refs)

    def update(self, other: StepAccess) -> None:
        """Add what ``other`` saw (a step run in a child process or a Ray task)."""
        self.wrote("", other.wrote_refs)
        self.read("", other.read_refs)

    def to_json(self) -> dict[str, list[str]]:
        """What a child process or a Ray task sends back with the step's result."""
        with self._lock:
            return {"wrote": list(self.wrote_refs), "read": list(self.read_refs)}

    @classmethod
    def from_json(cls, data: Any) -> StepAccess | None:
        """The access ``to_json`` sent (None when absent: an older child, or malformed)."""
        if not isinstance(data, dict):
            return None
        access = cls()
        access.wrote("", _strings(data.get("wrote")))
        access.read("", _strings(data.get("read")))
        return access


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def job_asset(ctx: ServiceContext, conn: Connection, row: Any) -> Any:
    """The run's ``job:<id>`` asset, made on first need (one version per run)."""
    return ctx.catalog.upsert(
        conn,
        kind=RUN_KIND,
        name=row.id,
        owner=row.team,
        created_by=row.created_by,
        description=f"run of pipeline {row.pipeline}",
        properties={"pipeline": row.pipeline, "trigger": row.trigger, "partition": row.partition},
        new_version=False,
    )


def record_step_access(ctx: ServiceContext, run_id: str, access: StepAccess) -> None:
    """Record what a step of run ``run_id`` wrote and read as the run's lineage."""
    with ctx.db.begin() as conn:
        row = conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.id == run_id)).first()
        if row is None or ctx.catalog.find(conn, PIPELINE_KIND, row.pipeline) is None:
            return
        _record(ctx, conn, job_asset(ctx, conn, row), row.created_by, access)


def record_job_access(
    ctx: ServiceContext, job_id: str, team: str, created_by: str, target: str, access: StepAccess
) -> None:
    """Record what a job that is not a pipeline step (``jobs submit`` of a function)
    wrote and read, as the lineage of its own ``job:<job id>`` asset (made here: only
    jobs that touched an asset get one)."""
    with ctx.db.begin() as conn:
        job = ctx.catalog.upsert(
            conn,
            kind=RUN_KIND,
            name=job_id,
            owner=team,
            created_by=created_by,
            description=f"job {target}",
            properties={"target": target},
            new_version=False,
        )
        _record(ctx, conn, job, created_by, access)


def _record(
    ctx: ServiceContext, conn: Connection, job: Any, created_by: str, access: StepAccess
) -> None:
    """Edges ``job -> asset`` for what ``access`` wrote, ``asset -> job`` for what it read
    (and what each write was made from), once each."""
    catalog = ctx.catalog
    done = {e.target_id for e in catalog.edges(conn, [job.id], upstream=False)}
    written: list[tuple[Any, int]] = []
    for ref in access.wrote_refs:
        found = _find(ctx, conn, ref)
        if found is not None and found[0].id != job.id:
            written.append(found)
            done.add(found[0].id)
    inputs: dict[str, tuple[Any, int]] = {}
    for ref in access.read_refs:
        found = _find(ctx, conn, ref)
        if found is not None:
            inputs.setdefault(found[0].id, found)
    for asset, version in written:  # what each write was made from
        for e in catalog.edges(conn, [asset.id], upstream=True):
            if e.target_version == version and e.source_id not in inputs:
                with suppress(NotFound):
                    source = catalog.get_by_id(conn, e.source_id)
                    inputs[e.source_id] = (source, e.source_version)
    for asset, version in written:
        catalog.add_edge(
            conn, job, asset, operation=STEP_EDGE, created_by=created_by,
            target_version=version,
        )  # fmt: skip
    for source_id, (asset, version) in inputs.items():
        if source_id in done or source_id == job.id or asset.kind == RUN_KIND:
            continue
        catalog.add_edge(
            conn, asset, job, operation=STEP_EDGE, created_by=created_by,
            source_version=version,
        )  # fmt: skip


def _find(ctx: ServiceContext, conn: Connection, ref: str) -> tuple[Any, int] | None:
    try:
        parsed = AssetRef.parse(ref)
    except InvalidArgument:
        return None
    asset = ctx.catalog.find(conn, parsed.kind, parsed.name)
    if asset is None:
        return None
    return asset, parsed.version if parsed.version is not None else asset.version


def downstream_pipelines(
    ctx: ServiceContext, conn: Connection, pipeline: Any, *, recent: int = 20
) -> list[tuple[str, str, str]]:
    """``(pipeline, owner, table)``: the pipelines whose table triggers watch a table that
    one of ``pipeline``'s ``recent`` last runs wrote (so a run of it starts them)."""
    cat = ctx.catalog
    runs = [
        r for r in cat.walk_level(conn, [pipeline.id], upstream=False) if r.far_kind == RUN_KIND
    ]
    run_ids = [r.target_id for r in runs[-recent:]]
    if not run_ids:
        return []
    tables = {
        r.target_id: r.far_name
        for r in cat.walk_level(conn, run_ids, upstream=False)
        if r.far_kind == "table"
    }
    found: dict[tuple[str, str], str] = {}
    for r in cat.walk_level(conn, list(tables), upstream=False) if tables else []:
        if r.far_kind != PIPELINE_KIND or r.far_name == pipeline.name:
            continue
        other = cat.find(conn, PIPELINE_KIND, r.far_name)
        watched = ((other.properties.get("spec") or {}).get("triggers") or {}) if other else {}
        if tables[r.source_id] in (watched.get("tables") or []):
            found[(r.far_name, tables[r.source_id])] = r.far_owner
    return [(name, owner, table) for (name, table), owner in sorted(found.items())]
