"""Experiment tracking: the one entry point for the SDK, the CLI and the HTTP API."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from shipyard._internal.enums import parse_enum
from shipyard._internal.ids import new_id
from shipyard._internal.shared import Shared
from shipyard.catalog.context import Service, ServiceContext
from shipyard.catalog.models import AssetRef
from shipyard.errors import InvalidArgument, NotFound
from shipyard.security.models import Permission
from shipyard.tracking import store
from shipyard.tracking.active_run import ActiveRun
from shipyard.tracking.artifacts import ArtifactStore
from shipyard.tracking.artifacts_service import ArtifactsMixin, ModelRegistrar
from shipyard.tracking.batching import BatchLoggingMixin
from shipyard.tracking.buffer import MetricBuffer
from shipyard.tracking.experiments import ExperimentsMixin
from shipyard.tracking.logged_models import LoggedModelsMixin
from shipyard.tracking.models import (
    LifecycleStage,
    Metric,
    Run,
    RunInput,
    RunStatus,
)
from shipyard.tracking.search_service import SearchMixin
from shipyard.tracking.tables import inputs, runs
from shipyard.tracking.validation import (
    check_key,
    check_metric_value,
    check_param,
    check_step,
    check_tag,
    now_ms,
)


def input_ref(data: Any) -> str:
    """The asset ref of a training set, lake table or any object with a ``ref``."""
    if isinstance(data, str | AssetRef):
        return str(data)
    ref = getattr(data, "ref", None)
    if ref is not None and not callable(ref):
        return str(ref)
    kind = {"TrainingSet": "training_set", "TableInfo": "table"}.get(type(data).__name__)
    name, version = getattr(data, "name", None), getattr(data, "version", None)
    if kind and name:
        return f"{kind}:{name}" + (f"@{version}" if version is not None else "")
    raise InvalidArgument(
        f"cannot record a {type(data).__name__} as a run input: pass an asset ref "
        "such as 'training_set:churn_train@1', a TrainingSet or a TableInfo"
    )


@dataclass
class TrackingState:
    """What tracking keeps per platform: run owners (they never change) and metric buffers."""

    owners: dict[str, str] = field(default_factory=dict)
    buffers: list[MetricBuffer] = field(default_factory=list)

    def close(self) -> None:
        buffers, self.buffers = self.buffers, []
        for buf in buffers:
            buf.close()


class TrackingService(
    ExperimentsMixin, SearchMixin, ArtifactsMixin, LoggedModelsMixin, BatchLoggingMixin, Service
):
    """Experiments, runs, params, metrics, tags, inputs, artifacts and logged models."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        artifacts: Shared[ArtifactStore],
        state: TrackingState,
        registry: Callable[[], ModelRegistrar],
    ) -> None:
        super().__init__(ctx)
        self._artifact_store = artifacts
        self._state = state
        #: ``log_model(registered_model_name=...)`` registers through it (built when used).
        self._registry = registry

    # -- runs ------------------------------------------------------------------------------

    def create_run(
        self,
        experiment: str | None = None,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
        user: str | None = None,
        experiment_id: str | None = None,
    ) -> Run:
        """Start a run in ``experiment`` (a name, created if missing) or ``experiment_id``.

        Raises:
            NotFound: ``experiment_id`` or ``parent_run_id`` does not exist.
        """
        exp = (
            self.get_experiment(experiment_id)
            if experiment_id is not None
            else self.resolve_experiment(experiment)
        )
        if exp.lifecycle_stage != "active":
            raise InvalidArgument(f"experiment '{exp.name}' is deleted", experiment=exp.name)
        checked = dict(check_tag(k, v) for k, v in (tags or {}).items())
        run_id = new_id()
        name = run_name or checked.get("mlflow.runName") or f"run-{run_id[:8]}"
        checked.setdefault("mlflow.runName", name)
        if parent_run_id:
            checked.setdefault("mlflow.parentRunId", parent_run_id)
        user_name = user or checked.get("mlflow.user") or self.principal.name
        checked.setdefault("mlflow.user", user_name)
        values = {
            "id": run_id,
            "experiment_id": exp.id,
            "name": name,
            "owner": exp.owner,
            "user_name": user_name,
            "status": RunStatus.RUNNING.value,
            "lifecycle_stage": "active",
            "parent_run_id": parent_run_id,
            "start_time": start_time or now_ms(),
            "end_time": None,
            "artifact_uri": f"{exp.id}/{run_id}/artifacts",
        }
        with self._ctx.mutation("tracking.create_run", team=exp.owner, asset=f"run:{run_id}") as m:
            if parent_run_id:
                store.run_row(m.conn, parent_run_id)
            m.conn.execute(runs.insert(), values)
            store.insert_tags(m.conn, run_id, checked)
            self._ctx.catalog.upsert(
                m.conn,
                kind="run",
                name=run_id,
                owner=exp.owner,
                created_by=self.principal.name,
                description=name,
                properties={
                    "experiment": exp.name,
                    "experiment_id": exp.id,
                    "run_name": name,
                    "status": "RUNNING",
                },
            )
            m.details = {"experiment": exp.name, "run_name": name}
        self._owner_cache()[run_id] = exp.owner
        return self._present(store.new_run(values, checked))  # no reload: built from the insert

    def start_run(
        self,
        experiment: str | None = None,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        capture_source: bool = True,
    ) -> ActiveRun:
        """Create a run and return it as a context manager that ends it.

        Leaving the ``with`` block normally ends the run FINISHED, on an exception
        FAILED; queued metrics are flushed first.
        """
        from shipyard.tracking.source import source_tags

        all_tags = {**(source_tags() if capture_source else {}), **dict(tags or {})}
        run = self.create_run(
            experiment, run_name=run_name, tags=all_tags, parent_run_id=parent_run_id
        )
        return ActiveRun(self, run)

    def _load(self, conn: Any, run_id: str) -> Run:
        run = store.load_runs(conn, [store.run_row(conn, run_id)])[0]
        return self._present(run)

    def _present(self, run: Run) -> Run:
        uri = self.artifacts.uri(run.artifact_uri)
        # A server path is for admins; others get the MLflow proxied-artifact URI.
        if not self.principal.is_admin and "://" not in uri:
            uri = f"mlflow-artifacts:/{run.artifact_uri}"
        run.artifact_uri = uri
        return run

    def _owner_cache(self) -> dict[str, str]:
        cache = self._state.owners
        if len(cache) > 100_000:
            cache.clear()
        return cache

    def _owner(self, run_id: str) -> str:
        cache = self._owner_cache()
        owner = cache.get(run_id)
        if owner is None:
            with self._ctx.db.connect() as conn:
                owner = store.run_row(conn, run_id).owner
            cache[run_id] = owner
        return owner

    def get_run(self, run_id: str) -> Run:
        """Raises NotFound when there is no run with this id."""
        with self._ctx.db.connect() as conn:
            run = store.load_runs(conn, [store.run_row(conn, run_id)])[0]
        self._ctx.require(Permission.READ, run.owner, action="tracking.get_run", asset=run.ref)
        return self._present(run)

    def update_run(
        self,
        run_id: str,
        *,
        status: str | RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Change a run's status (ending it when terminal) or its name."""
        new_status = parse_enum(RunStatus, status, "status") if status is not None else None
        with self._ctx.mutation(
            "tracking.update_run", team=self._owner(run_id), asset=f"run:{run_id}"
        ) as m:
            row = store.run_row(m.conn, run_id, lock=True)
            values: dict[str, Any] = {}
            if new_status is not None:
                values["status"] = new_status.value
                if new_status.terminal:
                    values["end_time"] = end_time or row.end_time or now_ms()
            elif end_time is not None:
                values["end_time"] = end_time
            if run_name:
                values["name"] = run_name
                store.upsert_tags(m.conn, run_id, {"mlflow.runName": run_name})
            if values:
                m.conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
            m.details = {k: v for k, v in values.items() if k != "end_time"}
            updated = SimpleNamespace(**{**row._asdict(), **values})  # the row as written
            run = self._present(store.load_runs(m.conn, [updated])[0])
            asset = self._ctx.catalog.get(m.conn, "run", run_id)
            self._ctx.catalog.update(
                m.conn,
                asset,
                description=run.name,
                owner=None,
                tags=None,
                properties={
                    "status": run.status.value,
                    "run_name": run.name,
                    "metrics": {k: v for k, v in run.metrics.items() if v == v},
                },
            )
            return run

    def end_run(self, run_id: str, status: str | RunStatus = RunStatus.FINISHED) -> Run:
        """End a run (flushing its queued metrics first)."""
        self.flush()
        return self.update_run(run_id, status=status)

    def set_run_lifecycle(self, run_id: str, stage: str) -> Run:
        """Delete (``"deleted"``) or restore (``"active"``) a run."""
        if stage not in (LifecycleStage.ACTIVE, LifecycleStage.DELETED):
            raise InvalidArgument("stage is 'active' or 'deleted'", stage=stage)
        with self._ctx.mutation(
            f"tracking.{'delete' if stage == 'deleted' else 'restore'}_run",
            team=self._owner(run_id),
            asset=f"run:{run_id}",
        ) as m:
            store.run_row(m.conn, run_id)
            m.conn.execute(runs.update().where(runs.c.id == run_id).values(lifecycle_stage=stage))
            return self._load(m.conn, run_id)

    # -- logging ------------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Iterable[Metric | Mapping[str, Any]] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        """Log metrics, params and tags in one transaction; returns the metrics written.

        A metric that carries a ``model_id`` (MLflow 3 re-sends the run's metrics
        with the id of a model it just logged) is the logged model's: it joins the
        run's history only when the run does not have that exact point already.

        Raises:
            NotFound: no such run. Conflict: the run has ended, or a param is
            logged again with another value. InvalidArgument: a bad name or value.
        """
        checked_metrics, model_metrics = self._metric_rows(metrics)
        checked_params = dict(check_param(k, v) for k, v in (params or {}).items())
        checked_tags = dict(check_tag(k, v) for k, v in (tags or {}).items())
        with self._ctx.mutation(
            "tracking.log", team=self._owner(run_id), asset=f"run:{run_id}"
        ) as m:
            row = store.run_row(m.conn, run_id)
            if checked_metrics or checked_params or row.lifecycle_stage != "active":
                store.require_active(row)
            store.insert_params(m.conn, run_id, checked_params)
            store.upsert_tags(m.conn, run_id, checked_tags)
            if model_metrics:
                checked_metrics += store.new_points(m.conn, run_id, model_metrics)
            written = store.insert_metrics(m.conn, run_id, checked_metrics)
            m.details = {
                "metrics": written,
                "params": len(checked_params),
                "tags": len(checked_tags),
            }
            return written

    @staticmethod
    def _metric_rows(
        batch: Iterable[Metric | Mapping[str, Any]],
    ) -> tuple[list[store.MetricRow], list[store.MetricRow]]:
        """Checked ``(key, value, step, timestamp)`` rows, and those that carry a
        ``model_id``; each distinct key checked once."""
        rows: list[store.MetricRow] = []
        model_rows: list[store.MetricRow] = []
        keys: set[str] = set()
        now = now_ms()
        for x in batch:
            key: Any
            value: Any
            step: Any
            ts: Any
            model_id = None
            if isinstance(x, Metric):
                key, value, step, ts = x.key, x.value, x.step, x.timestamp
            else:
                key, value, step, ts, model_id = (
                    x.get("key"),
                    x.get("value"),
                    x.get("step"),
                    x.get("timestamp"),
                    x.get("model_id"),
                )
            if type(key) is not str or key not in keys:
                keys.add(check_key(key, "metric"))
            if type(value) is not float:
                value = check_metric_value(key, value)
            if type(step) is not int:
                step = check_step(step)
            if type(ts) is not int:
                ts = _timestamp(key, ts, now)
            (model_rows if model_id else rows).append((key, value, step, ts))
        return rows, model_rows

    def delete_tag(self, run_id: str, key: str) -> None:
        """Raises NotFound when the run has no such tag."""
        from shipyard.tracking.tables import tags as tags_table

        with self._ctx.mutation(
            "tracking.delete_tag", team=self._owner(run_id), asset=f"run:{run_id}"
        ) as m:
            store.run_row(m.conn, run_id)
            res = m.conn.execute(
                sa.delete(tags_table).where(tags_table.c.run_id == run_id, tags_table.c.key == key)
            )
            if not res.rowcount:
                raise NotFound(f"run '{run_id}' has no tag '{key}'", key=key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value of one metric, by step then time."""
        self._ctx.require(Permission.READ, self._owner(run_id), action="tracking.get_run")
        self.flush()
        with self._ctx.db.connect() as conn:
            store.run_row(conn, run_id)
            return store.metric_history(conn, run_id, key)

    # -- async metrics ----------------------------------------------------------------------

    @property
    def buffer(self) -> MetricBuffer:
        buf = self.__dict__.get("_buffer")
        if buf is None:
            with _BUFFER_LOCK:
                buf = self.__dict__.get("_buffer")
                if buf is None:
                    buf = MetricBuffer(lambda rid, ms: self.log_batch(rid, metrics=ms))
                    self._state.buffers.append(buf)
                    self.__dict__["_buffer"] = buf
        return buf

    def flush(self) -> None:
        """Write every metric queued by ``ActiveRun.log_metric`` (raises a failed write)."""
        buf = self.__dict__.get("_buffer")
        if buf is not None:
            buf.flush()

    # -- inputs and lineage ---------------------------------------------------------------------

    def log_input(
        self,
        run_id: str,
        data: Any,
        *,
        context: str = "training",
        digest: str | None = None,
    ) -> RunInput:
        """Record a dataset the run read; adds the lineage edge ``<asset>@v -> run:<id>``.

        ``data`` is an asset ref (``"training_set:churn_train@1"``), a TrainingSet
        or a TableInfo. Without a version the asset's current version is recorded.

        Raises:
            NotFound: the run or the asset does not exist. InvalidArgument: a bad ref.
        """
        ref = AssetRef.parse(input_ref(data))
        check_key(context, "input context")
        with self._ctx.mutation(
            "tracking.log_input", team=self._owner(run_id), asset=f"run:{run_id}"
        ) as m:
            store.require_active(store.run_row(m.conn, run_id))
            asset = self._ctx.catalog.get(m.conn, ref.kind, ref.name)
            self._ctx.require(
                Permission.READ, asset.owner, action="tracking.log_input", asset=str(ref)
            )
            version = ref.version if ref.version is not None else asset.version
            known = {v.version for v in self._ctx.catalog.versions(m.conn, asset)}
            if known and version not in known:
                raise NotFound(
                    f"{ref.kind}:{ref.name} has no version {version}",
                    ref=str(ref),
                    versions=sorted(known),
                )
            exact = f"{ref.kind}:{ref.name}@{version}"
            run_asset = self._ctx.catalog.get(m.conn, "run", run_id)
            self._ctx.catalog.add_edge(
                m.conn,
                asset,
                run_asset,
                operation=context,
                created_by=self.principal.name,
                source_version=version,
                target_version=run_asset.version,
            )
            m.conn.execute(
                sa.delete(inputs).where(inputs.c.run_id == run_id, inputs.c.ref == exact)
            )
            m.conn.execute(
                inputs.insert().values(
                    run_id=run_id,
                    ref=exact,
                    kind=ref.kind,
                    name=ref.name,
                    version=version,
                    context=context,
                    digest=digest,
                    properties={},
                )
            )
            m.details = {"input": exact}
            return RunInput(
                ref=exact,
                kind=ref.kind,
                name=ref.name,
                version=version,
                context=context,
                digest=digest,
            )

    def local_cache_dir(self) -> Path:
        path = self._ctx.settings.home_dir / "cache" / "artifacts"
        path.mkdir(parents=True, exist_ok=True)
        return path


def _timestamp(key: str, ts: Any, now: int) -> int:
    """Epoch milliseconds of a metric (now when absent)."""
    if ts is None:
        return now
    if isinstance(ts, bool) or not isinstance(ts, int | float | str):
        raise InvalidArgument(f"timestamp of metric '{key}' must be epoch milliseconds")
    try:
        return int(ts)
    except ValueError:
        raise InvalidArgument(f"timestamp of metric '{key}' must be epoch milliseconds") from None


_BUFFER_LOCK = threading.Lock()
