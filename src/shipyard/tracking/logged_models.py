"""Logged models as MLflow 3 clients create them, external dataset inputs, and the
artifact proxy by raw path (what ``/api/2.0/mlflow-artifacts`` serves).

Artifact paths are ``<experiment_id>/<run_id>/artifacts/...`` for runs and
``<experiment_id>/models/<model_id>/artifacts/...`` for logged models; the
experiment in the first segment decides who may read or write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.ids import new_id
from shipyard._internal.paging import Key, Keyset, Page, keyset_page, resolve_limit
from shipyard.errors import InvalidArgument, NotFound
from shipyard.security.models import Permission
from shipyard.storage import ArtifactStore, list_dir, safe_key
from shipyard.tracking import store
from shipyard.tracking.models import FileInfo, LoggedModel, RunInput
from shipyard.tracking.tables import inputs, logged_models
from shipyard.tracking.validation import check_key, check_tag, now_ms

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.tracking.models import Experiment

LOGGED_MODEL_STATUSES = ("PENDING", "READY", "FAILED")


def _logged(row: Any) -> LoggedModel:
    return LoggedModel(
        id=row.id,
        experiment_id=row.experiment_id,
        run_id=row.run_id,
        name=row.name,
        artifact_location=row.artifact_location,
        status=row.status,
        model_type=row.model_type,
        tags=dict(row.tags or {}),
        params=dict(row.params or {}),
        creation_time=row.creation_time,
        last_updated_time=row.last_updated_time,
        flavor=row.model_type
        if row.model_type in ("sklearn", "lightgbm", "xgboost", "onnx", "pyfunc")
        else None,
        model_uri=f"models:/{row.id}",
    )


class LoggedModelsMixin:
    _ctx: ServiceContext

    if TYPE_CHECKING:

        @property
        def artifacts(self) -> ArtifactStore: ...
        def get_experiment(self, experiment_id: str) -> Experiment: ...
        def _owner(self, run_id: str) -> str: ...

    def create_logged_model(
        self,
        experiment_id: str,
        *,
        name: str = "model",
        source_run_id: str | None = None,
        model_type: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        """A pending logged model whose files go to ``<exp>/models/<id>/artifacts``."""
        exp = self.get_experiment(experiment_id)
        model_id = f"m-{new_id()}"
        now = now_ms()
        with self._ctx.mutation(
            "tracking.log_model", team=exp.owner, asset=f"experiment:{exp.name}"
        ) as m:
            if source_run_id:
                store.run_row(m.conn, source_run_id)
            m.conn.execute(
                logged_models.insert().values(
                    id=model_id,
                    experiment_id=exp.id,
                    run_id=source_run_id,
                    name=name or "model",
                    artifact_location=f"{exp.id}/models/{model_id}/artifacts",
                    status="PENDING",
                    model_type=model_type,
                    source_run_id=source_run_id,
                    tags=dict(check_tag(k, v) for k, v in (tags or {}).items()),
                    params={k: str(v) for k, v in (params or {}).items()},
                    creation_time=now,
                    last_updated_time=now,
                )
            )
            m.details = {"model_id": model_id}
            return self._logged_row(m.conn, model_id)

    def _logged_row(self, conn: Any, model_id: str) -> LoggedModel:
        row = conn.execute(sa.select(logged_models).where(logged_models.c.id == model_id)).first()
        if row is None:
            raise NotFound(f"no logged model '{model_id}'", model_id=model_id)
        return _logged(row)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Raises NotFound."""
        with self._ctx.db.connect() as conn:
            found = self._logged_row(conn, model_id)
        self.get_experiment(found.experiment_id)  # read permission
        return found

    def update_logged_model(
        self,
        model_id: str,
        *,
        status: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        delete_tag: str | None = None,
        run_id: str | None = None,
    ) -> LoggedModel:
        """Finalize (``status``), tag, add params to or link a run to a logged model."""
        if status is not None and status not in LOGGED_MODEL_STATUSES:
            raise InvalidArgument(f"status is one of {', '.join(LOGGED_MODEL_STATUSES)}")
        found = self.get_logged_model(model_id)
        exp = self.get_experiment(found.experiment_id)
        with self._ctx.mutation(
            "tracking.update_logged_model", team=exp.owner, asset=f"experiment:{exp.name}"
        ) as m:
            values: dict[str, Any] = {"last_updated_time": now_ms()}
            if status is not None:
                values["status"] = status
            if tags or delete_tag:
                merged = {**found.tags, **dict(check_tag(k, v) for k, v in (tags or {}).items())}
                merged.pop(delete_tag or "", None)
                values["tags"] = merged
            if params:
                values["params"] = {**found.params, **{k: str(v) for k, v in params.items()}}
            if run_id is not None:
                values["run_id"] = run_id
            m.conn.execute(
                logged_models.update().where(logged_models.c.id == model_id).values(**values)
            )
            return self._logged_row(m.conn, model_id)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        *,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[LoggedModel]:
        """Logged models of the experiments (each must be readable), newest first."""
        size = resolve_limit(self._ctx.settings, limit)
        for exp_id in experiment_ids:
            self.get_experiment(exp_id)
        q = sa.select(logged_models).where(logged_models.c.experiment_id.in_(experiment_ids))
        keyset = Keyset(
            "tracking.logged_models",
            Key(logged_models.c.creation_time, descending=True),
            Key(logged_models.c.id, descending=True),
        )
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(
                conn,
                q,
                keyset,
                limit=size,
                page_token=page_token,
                filters={"experiments": sorted(experiment_ids)},
            )
        return Page(items=[_logged(r) for r in rows], next_page_token=token)

    def log_dataset(
        self,
        run_id: str,
        name: str,
        *,
        digest: str | None = None,
        context: str = "training",
        properties: Mapping[str, Any] | None = None,
    ) -> RunInput:
        """Record a dataset that is not a catalog asset (MLflow's ``log_input``)."""
        check_key(name, "dataset")
        ref = f"dataset:{name}" + (f"@{digest}" if digest else "")
        with self._ctx.mutation(
            "tracking.log_input", team=self._owner(run_id), asset=f"run:{run_id}"
        ) as m:
            store.require_active(store.run_row(m.conn, run_id))
            m.conn.execute(sa.delete(inputs).where(inputs.c.run_id == run_id, inputs.c.ref == ref))
            m.conn.execute(
                inputs.insert().values(
                    run_id=run_id,
                    ref=ref,
                    kind="dataset",
                    name=name,
                    version=None,
                    context=context,
                    digest=digest,
                    properties=dict(properties or {}),
                )
            )
            return RunInput(
                ref=ref,
                kind="dataset",
                name=name,
                context=context,
                digest=digest,
                properties=dict(properties or {}),
            )

    # -- the artifact proxy ----------------------------------------------------------------

    def _proxy_team(self, path: str, *, write: bool) -> str:
        key = safe_key(path)
        head = key.split("/", 2)
        if not key or len(head) < 1:
            raise InvalidArgument("an artifact path starts with an experiment id", path=path)
        exp = self.get_experiment(head[0])
        if write:
            self._ctx.require(
                Permission.WRITE,
                exp.owner,
                action="tracking.log_artifact",
                asset=f"experiment:{exp.name}",
            )
        return exp.owner

    def proxy_put(self, path: str, data: bytes) -> None:
        """Store bytes at a raw artifact path (``<experiment>/...``)."""
        key = safe_key(path)
        team = self._proxy_team(key, write=True)
        with self._ctx.mutation("tracking.log_artifact", team=team, asset=None) as m:
            self.artifacts.put_bytes(data, key)
            m.details = {"path": key, "bytes": len(data)}

    def proxy_get(self, path: str) -> bytes:
        key = safe_key(path)
        self._proxy_team(key, write=False)
        return self.artifacts.get_bytes(key)

    def proxy_list(self, path: str) -> list[FileInfo]:
        """Direct children of a raw path, with paths relative to it."""
        key = safe_key(path)
        if not key:
            return []
        self._proxy_team(key, write=False)
        prefix = key + "/"
        return [
            f.model_copy(
                update={"path": f.path[len(prefix) :] if f.path.startswith(prefix) else f.path}
            )
            for f in list_dir(
                self.artifacts, key, max_entries=self._ctx.settings.artifacts.list_max_entries
            )
        ]
