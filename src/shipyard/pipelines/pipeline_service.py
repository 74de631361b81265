"""``PipelineService``: plan, apply, run, backfill, pause and inspect pipelines.

A pipeline is a catalog asset ``pipeline:<name>`` (its spec in the properties, one
version per change); its runs are rows of ``pipeline_runs`` and, once ended,
``job:<run id>`` assets with lineage. Writes need ``write`` on the pipeline's team
(its STORED owner), reads need ``read``; every write is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel

from shipyard._internal import cron
from shipyard._internal.ids import new_id
from shipyard._internal.paging import Key, Keyset, Page, keyset_page, readable_teams, resolve_limit
from shipyard._internal.shared import Shared
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.events.models import KIND as TOPIC
from shipyard.pipelines import actions
from shipyard.pipelines.definitions import KIND, PipelineSpec, check_shape, parse_spec
from shipyard.pipelines.functions import check_allowed
from shipyard.pipelines.periodic import PeriodicSource
from shipyard.pipelines.run_lineage import downstream_pipelines
from shipyard.pipelines.runs import PipelineRun, RunEngine, RunState, run_from_row
from shipyard.pipelines.scheduler import Periodic, Scheduler
from shipyard.pipelines.tables import jobs, pipeline_runs
from shipyard.pipelines.triggers import check_fields
from shipyard.security.models import Permission
from shipyard.security.store import load_principal

if TYPE_CHECKING:
    from shipyard.events.service import EventService
    from shipyard.pipelines.backends.base import JobQueue

#: Partitions one backfill may create at most.
MAX_BACKFILL = 50_000


class PipelineInfo(BaseModel):
    name: str
    owner: str
    version: int
    paused: bool
    spec: dict[str, Any]
    applied_by: str | None = None


class BackfillResult(BaseModel):
    backfill_id: str | None
    pipeline: str
    partitions: int
    runs: list[str]


def _info(asset: Any) -> PipelineInfo:
    props = asset.properties
    return PipelineInfo(
        name=asset.name,
        owner=asset.owner,
        version=asset.version,
        paused=bool(props.get("paused", False)),
        spec=props["spec"],
        applied_by=props.get("applied_by"),
    )


def daily_partitions(start: date, end: date) -> list[str]:
    if end < start:
        raise InvalidArgument(f"backfill range ends ({end}) before it starts ({start})")
    n = (end - start).days + 1
    if n > MAX_BACKFILL:
        raise InvalidArgument(f"backfill of {n} partitions; at most {MAX_BACKFILL} at once")
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


class PipelineService(Service):
    """Pipelines of one project, acting for one principal.

    Example:
        >>> p.pipelines.apply([churn])
        >>> run = p.pipelines.run("churn")
        >>> p.pipelines.get_run(run.id).state
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        queue: Shared[JobQueue],
        events: Callable[[], EventService],
        periodic: Sequence[Periodic] = (),
        relay: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(ctx)
        #: Publishes lifecycle events left in the event outbox (each scheduler pass).
        self._relay = relay
        self._engine = RunEngine(ctx, queue=queue.get)
        self._events = events
        self._queue = queue
        #: Jobs each scheduler pass queues besides runs (the canary checks).
        self._periodic = tuple(periodic)

    @property
    def periodic_kinds(self) -> tuple[str, ...]:
        """The kinds of the jobs the periodic sources queue (job retention keeps the
        succeeded ones ``jobs.periodic_retention_hours``)."""
        return tuple(sorted({s.kind for s in self._periodic if isinstance(s, PeriodicSource)}))

    @property
    def engine(self) -> RunEngine:
        """Creates and advances runs, without authorization: for workers and the scheduler."""
        return self._engine

    def scheduler(self, *, interval: float = 1.0) -> Scheduler:
        """A scheduler over this project's pipelines (``run()`` it, or call ``tick()``)."""
        return Scheduler(
            self._ctx,
            engine=self._engine,
            topic_offset=self._topic_offset,
            topic_records=self._topic_records,
            interval=interval,
            queue=self._queue.get,
            periodic=self._periodic,
            relay=self._relay,
        )

    # -- definitions ---------------------------------------------------------------

    def validate(self, spec: PipelineSpec) -> None:
        """Refuse a bad definition with one line naming the pipeline and step."""
        check_shape(spec)
        where = f"pipeline '{spec.name}'"
        if spec.schedule is not None:
            try:
                cron.check(spec.schedule.cron, spec.schedule.timezone)
            except InvalidArgument as exc:
                raise InvalidArgument(f"{where}, schedule: {exc.message}") from None
        # topics first: a step's table declared beside the pipeline defers the rest to apply
        for trigger in spec.triggers.topics:
            try:
                self._events_topic(trigger.topic)
            except ShipyardError as exc:
                raise InvalidArgument(f"{where}, trigger: {exc.message}") from None
            try:
                check_fields(trigger)
            except InvalidArgument as exc:
                raise InvalidArgument(f"{where}, trigger {trigger.topic}: {exc.message}") from None
        for s in spec.steps:
            try:
                self._check_step(s.action, s.function, s.args)
            except ShipyardError as exc:
                raise InvalidArgument(f"{where}, step '{s.name}': {exc.message}") from None
        written = {
            ref.partition(":")[2]: s.name
            for s in spec.steps
            if s.action is not None
            for ref in actions.ACTIONS[s.action].writes(s.args)
        }
        for t in spec.triggers.tables:
            self._check_table(t, f"{where}, trigger")
            if t in written:
                raise InvalidArgument(
                    f"{where}, trigger: table {t} is written by step '{written[t]}' "
                    "(each run would start the next)"
                )

    def _check_step(self, action: str | None, function: str | None, args: dict[str, Any]) -> None:
        if function is not None:
            if function.startswith("shipyard_definitions_"):
                raise InvalidArgument(
                    f"function {function} is defined in a definitions file; put step "
                    "functions in an importable module listed in jobs.modules"
                )
            check_allowed(function, self._ctx.settings.jobs)
            return
        found = actions.check_args(action or "", args)
        for param in found.tables:
            if param in args:
                self._check_table(str(args[param]), "")

    def _check_table(self, name: str, where: str) -> None:
        from shipyard.lake.records import KIND as TABLE_KIND

        with self._ctx.db.connect() as conn:
            if self._ctx.catalog.find(conn, TABLE_KIND, name) is None:
                raise InvalidArgument(f"{where + ': ' if where else ''}unknown table {name}")

    def _events_topic(self, topic: str) -> int:
        return self._events().get_topic(topic).end_offset

    def _topic_offset(self, topic: str) -> int | None:
        try:
            return self._events_topic(topic)
        except Exception:  # deleted, or not readable any more: nothing to trigger
            return None

    def _topic_records(self, principal: str, topic: str, offset: int, limit: int) -> Any:
        """Up to ``limit`` records of ``topic`` from ``offset``, read as ``principal`` may
        NOW (its roles read each pass, like a run's steps); None when it may not (or no
        longer exists). Apply checked the same READ (``get_topic``); a refusal here is not
        audited, or a revoked role would write a denial every pass."""
        with self._ctx.db.connect() as conn:
            acting = load_principal(conn, principal)
            found = self._ctx.catalog.find(conn, TOPIC, topic)
        if acting is None or found is None or not acting.can(Permission.READ, found.owner):
            return None
        return self._events().bus.read(topic, offset, limit)

    def plan(self, objects: Iterable[Any]) -> list[dict[str, Any]]:
        """``{"name", "action": create|update|unchanged, "diff"}`` per pipeline.

        Raises:
            InvalidArgument: a malformed definition (a cycle, an unknown step, table,
                topic or action, a bad cron or time zone), naming the place.
        """
        specs = [parse_spec(o) for o in objects]
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise InvalidArgument("a pipeline is declared twice")
        out = []
        for spec in specs:
            current = self._find(spec.name)
            # the diff shows the stored spec: READ on its stored owner (or the one named)
            team = current.owner if current is not None else spec.owner or self._ctx.default_team
            self._ctx.require(
                Permission.READ, team, action="pipelines.plan", asset=f"{KIND}:{spec.name}"
            )
            self.validate(spec)
            new = spec.model_dump(mode="json")
            if current is None:
                out.append({"name": spec.name, "action": "create", "diff": []})
                continue
            old = current.properties["spec"]
            diff = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in new if old.get(k) != new[k]]
            out.append(
                {"name": spec.name, "action": "update" if diff else "unchanged", "diff": diff}
            )
        return out

    def apply(self, objects: Iterable[Any]) -> list[dict[str, Any]]:
        """Create or update pipelines (needs WRITE on each one's stored owner)."""
        specs = [parse_spec(o) for o in objects]
        plan = self.plan(specs)
        for change, spec in zip(plan, specs, strict=True):
            if change["action"] == "unchanged":
                continue
            current = self._find(spec.name)
            asset_ref = f"{KIND}:{spec.name}"
            team = self._ctx.require_owner(
                current.owner if current else None,
                spec.owner,
                action="pipelines.apply",
                asset=asset_ref,
            )
            with self._ctx.mutation("pipelines.apply", team=team, asset=asset_ref) as m:
                asset = self._ctx.catalog.upsert(
                    m.conn,
                    kind=KIND,
                    name=spec.name,
                    owner=team,
                    created_by=self.principal.name,
                    description=spec.description,
                    tags=spec.tags,
                    properties={
                        "spec": spec.model_dump(mode="json"),
                        "applied_by": self.principal.name,
                        "paused": bool(current.properties.get("paused")) if current else False,
                    },
                )
                self._link_reads(m.conn, spec, asset)
                m.details = {"action": change["action"], "steps": [s.name for s in spec.steps]}
        return plan

    def _link_reads(self, conn: Any, spec: PipelineSpec, asset: Any) -> None:
        from shipyard.lake.records import KIND as TABLE_KIND

        tables = set(spec.triggers.tables)
        for s in spec.steps:
            if s.action is not None:  # what it reads (what it writes hangs off its runs)
                action = actions.ACTIONS[s.action]
                writes = set(action.writes(s.args))
                tables |= {
                    str(s.args[p])
                    for p in action.tables
                    if p in s.args and f"table:{s.args[p]}" not in writes
                }
        for name in sorted(tables):
            table = self._ctx.catalog.find(conn, TABLE_KIND, name)
            if table is not None:
                self._ctx.catalog.add_edge(
                    conn, table, asset, operation="pipeline", created_by=self.principal.name
                )

    def _find(self, name: str) -> Any:
        with self._ctx.db.connect() as conn:
            return self._ctx.catalog.find(conn, KIND, name)

    def _asset(
        self, name: str, permission: Permission = Permission.READ, action: str = "pipelines.get"
    ) -> Any:
        asset = self._find(name)
        if asset is None:
            raise NotFound(f"no pipeline named '{name}'", name=name)
        if permission == Permission.READ:
            self._ctx.require(permission, asset.owner, action=action, asset=f"{KIND}:{name}")
        return asset

    def get(self, name: str) -> PipelineInfo:
        return _info(self._asset(name))

    def downstream(self, name: str) -> list[tuple[str, str]]:
        """``(pipeline, table)``: the readable pipelines that ``name``'s runs start, by
        writing a table they watch (``on_tables``), from what its recent runs wrote."""
        asset = self._asset(name)
        with self._ctx.db.connect() as conn:
            found = downstream_pipelines(self._ctx, conn, asset)
        return [(p, t) for p, owner, t in found if self.principal.can(Permission.READ, owner)]

    def list(self) -> list[PipelineInfo]:
        """The pipelines the caller may read, by name."""
        with self._ctx.db.connect() as conn:
            found = self._ctx.catalog.search(conn, kind=KIND, limit=10_000)
        return sorted(
            (_info(a) for a in found if self.principal.can(Permission.READ, a.owner)),
            key=lambda i: i.name,
        )

    def _set_paused(self, name: str, paused: bool) -> PipelineInfo:
        asset = self._asset(name, Permission.WRITE)
        action = "pipelines.pause" if paused else "pipelines.resume"
        with self._ctx.mutation(action, team=asset.owner, asset=f"{KIND}:{name}") as m:
            self._ctx.catalog.upsert(
                m.conn,
                kind=KIND,
                name=name,
                owner=asset.owner,
                created_by=self.principal.name,
                properties={"paused": paused},
                new_version=False,
            )
        return self.get(name)

    def pause(self, name: str) -> PipelineInfo:
        """Stop schedules and triggers from starting runs (manual runs still start)."""
        return self._set_paused(name, True)

    def resume(self, name: str) -> PipelineInfo:
        """Start scheduling again; missed ticks follow the catch-up policy."""
        return self._set_paused(name, False)

    # -- runs ----------------------------------------------------------------------

    def run(self, name: str, *, partition: str | None = None) -> PipelineRun:
        """Start a run now: its root steps are queued; workers do the rest."""
        asset = self._asset(name, Permission.WRITE)
        spec = PipelineSpec.model_validate(asset.properties["spec"])
        if partition is not None:
            _check_partition(spec, partition)
        with self._ctx.mutation("pipelines.run", team=asset.owner, asset=f"{KIND}:{name}") as m:
            (run_id,) = self._engine.create(
                m.conn,
                spec,
                version=asset.version,
                team=asset.owner,
                principal=self.principal.name,
                trigger="manual",
                partitions=[partition],
            )
            m.details = {"run": run_id, "partition": partition}
        return self.get_run(run_id)

    def backfill(self, name: str, start: date, end: date) -> BackfillResult:
        """One run per day in [start, end] of a daily-partitioned pipeline, queued in one
        transaction (one audit record)."""
        asset = self._asset(name, Permission.WRITE)
        spec = PipelineSpec.model_validate(asset.properties["spec"])
        if spec.partitioned != "daily":
            raise InvalidArgument(f"pipeline '{name}' is not partitioned (partitioned='daily')")
        parts = daily_partitions(start, end)
        backfill_id = new_id()
        with self._ctx.mutation(
            "pipelines.backfill", team=asset.owner, asset=f"{KIND}:{name}"
        ) as m:
            runs = self._engine.create(
                m.conn,
                spec,
                version=asset.version,
                team=asset.owner,
                principal=self.principal.name,
                trigger="backfill",
                partitions=parts,
                backfill_id=backfill_id,
            )
            m.details = {
                "backfill": backfill_id,
                "from": parts[0],
                "to": parts[-1],
                "runs": len(runs),
            }
        return BackfillResult(
            backfill_id=backfill_id, pipeline=name, partitions=len(parts), runs=runs
        )

    def backfill_progress(self, backfill_id: str) -> dict[str, int]:
        """Runs of a backfill by state (``{"running": n, "succeeded": n, ...}``)."""
        q = (
            sa.select(pipeline_runs.c.state, pipeline_runs.c.team, sa.func.count())
            .where(pipeline_runs.c.backfill_id == backfill_id)
            .group_by(pipeline_runs.c.state, pipeline_runs.c.team)
        )
        with self._ctx.db.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            raise NotFound(f"no backfill {backfill_id}", backfill_id=backfill_id)
        self._ctx.require(Permission.READ, rows[0].team, action="pipelines.backfill_progress")
        return {r.state: r[2] for r in rows}

    def get_run(self, run_id: str) -> PipelineRun:
        with self._ctx.db.connect() as conn:
            row = conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no pipeline run {run_id}", run_id=run_id)
        run = run_from_row(row)
        self._ctx.require(Permission.READ, run.team, action="pipelines.get_run", asset=run.asset)
        return run

    def list_runs(
        self,
        name: str | None = None,
        *,
        state: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[PipelineRun]:
        """Newest first, among the teams the caller may read (filtered in the query)."""
        if state is not None and state not in {s.value for s in RunState}:
            raise InvalidArgument(
                f"unknown run state {state!r}: one of {[s.value for s in RunState]}"
            )
        size = resolve_limit(self._ctx.settings, limit)
        cols = [c for c in pipeline_runs.c if c.name != "spec"]
        q = sa.select(*cols)
        if name is not None:
            self._asset(name)
            q = q.where(pipeline_runs.c.pipeline == name)
        if state is not None:
            q = q.where(pipeline_runs.c.state == state)
        teams = readable_teams(self.principal)
        if teams is not None:
            q = q.where(pipeline_runs.c.team.in_(teams))
        keyset = Keyset(
            "pipelines.list_runs",
            Key(pipeline_runs.c.created_at, descending=True),
            Key(pipeline_runs.c.id, descending=True),
        )
        filters = {"name": name, "state": state, "teams": teams}
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(
                conn, q, keyset, limit=size, page_token=page_token, filters=filters
            )
        return Page(items=[run_from_row(r) for r in rows], next_page_token=token)

    def logs(self, run_id: str) -> dict[str, str]:
        """Each step's captured output (last attempt), in step order."""
        run = self.get_run(run_id)
        ids = {v["job"]: k for k, v in run.steps.items() if "job" in v}
        with self._ctx.db.connect() as conn:
            rows = conn.execute(sa.select(jobs.c.id, jobs.c.logs).where(jobs.c.id.in_(list(ids))))
            found = {ids[r.id]: r.logs or "" for r in rows}
        return {k: found.get(k, "") for k in run.steps}

    def cancel_run(self, run_id: str) -> PipelineRun:
        """Cancel a running run: queued and running steps are cancelled, pending ones never run."""
        with self._ctx.db.connect() as conn:
            row = conn.execute(
                sa.select(pipeline_runs.c.team).where(pipeline_runs.c.id == run_id)
            ).first()
        if row is None:
            raise NotFound(f"no pipeline run {run_id}", run_id=run_id)
        with self._ctx.mutation("pipelines.cancel", team=row.team, asset=f"job:{run_id}") as m:
            self._engine.cancel(m.conn, run_id)
        return self.get_run(run_id)


def _check_partition(spec: PipelineSpec, partition: str) -> None:
    if spec.partitioned != "daily":
        raise InvalidArgument(f"pipeline '{spec.name}' is not partitioned; no partition to run")
    try:
        date.fromisoformat(partition)
    except ValueError:
        raise InvalidArgument(f"partition {partition!r} is not a day (YYYY-MM-DD)") from None


__all__ = ["BackfillResult", "PipelineInfo", "PipelineService", "daily_partitions"]
