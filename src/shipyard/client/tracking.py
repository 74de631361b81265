"""``RemoteTrackingService``: ``TrackingService``'s methods over HTTP.

``start_run`` hands out the same ``ActiveRun`` as in-process, so metric logging
is asynchronous and batched here too (one HTTP request per batch). ``log_model``
packages the model locally (signature, pinned requirements) and uploads it.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shipyard._internal.paging import Page
from shipyard.client.http import HttpTransport
from shipyard.errors import NotFound
from shipyard.tracking.active_run import ActiveRun
from shipyard.tracking.artifacts import safe_key
from shipyard.tracking.batching import BatchLoggingMixin
from shipyard.tracking.buffer import MetricBuffer
from shipyard.tracking.models import (
    Experiment,
    FileInfo,
    LoggedModel,
    Metric,
    Run,
    RunComparison,
    RunInput,
    RunStatus,
)
from shipyard.tracking.packaging.mlmodel import save_model

API = "/api/v1/tracking"


def _q(value: str) -> str:
    return quote(value, safe="")


class RemoteTrackingService(BatchLoggingMixin):
    def __init__(self, http: HttpTransport) -> None:
        self._http = http
        self._buffer: MetricBuffer | None = None
        self._lock = threading.Lock()

    # -- experiments ------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        *,
        owner: str | None = None,
        tags: Mapping[str, str] | None = None,
        artifact_location: str | None = None,
    ) -> Experiment:
        body = {"name": name, "owner": owner, "tags": dict(tags) if tags else None}
        return Experiment.model_validate(self._http.post(f"{API}/experiments", body))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return Experiment.model_validate(self._http.get(f"{API}/experiments/{_q(experiment_id)}"))

    def get_experiment_by_name(self, name: str) -> Experiment:
        return Experiment.model_validate(self._http.get(f"{API}/experiments/by-name/{_q(name)}"))

    def find_experiment(self, name: str) -> Experiment | None:
        try:
            return self.get_experiment_by_name(name)
        except NotFound:
            return None

    def list_experiments(
        self,
        *,
        name_like: str | None = None,
        view: str = "active",
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        data = self._http.get(
            f"{API}/experiments",
            name_like=name_like,
            view=view,
            page_size=page_size,
            page_token=page_token,
        )
        return Page[Experiment].model_validate(data)

    def update_experiment(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        lifecycle_stage: str | None = None,
    ) -> Experiment:
        body = {
            "name": name,
            "tags": dict(tags) if tags else None,
            "lifecycle_stage": lifecycle_stage,
        }
        return Experiment.model_validate(
            self._http.patch(f"{API}/experiments/{_q(experiment_id)}", body)
        )

    # -- runs -----------------------------------------------------------------------------------

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
        body = {
            "experiment": experiment,
            "experiment_id": experiment_id,
            "run_name": run_name,
            "tags": dict(tags) if tags else None,
            "parent_run_id": parent_run_id,
            "start_time": start_time,
            "user": user,
        }
        return Run.model_validate(self._http.post(f"{API}/runs", body))

    def start_run(
        self,
        experiment: str | None = None,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        capture_source: bool = True,
    ) -> ActiveRun:
        from shipyard.tracking.source import source_tags

        all_tags = {**(source_tags() if capture_source else {}), **dict(tags or {})}
        run = self.create_run(
            experiment, run_name=run_name, tags=all_tags, parent_run_id=parent_run_id
        )
        return ActiveRun(self, run)

    def get_run(self, run_id: str) -> Run:
        return Run.model_validate(self._http.get(f"{API}/runs/{_q(run_id)}"))

    def update_run(
        self,
        run_id: str,
        *,
        status: str | RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> Run:
        body = {
            "status": str(RunStatus(status).value) if status else None,
            "end_time": end_time,
            "run_name": run_name,
        }
        return Run.model_validate(self._http.patch(f"{API}/runs/{_q(run_id)}", body))

    def end_run(self, run_id: str, status: str | RunStatus = RunStatus.FINISHED) -> Run:
        self.flush()
        return self.update_run(run_id, status=status)

    def set_run_lifecycle(self, run_id: str, stage: str) -> Run:
        if stage == "deleted":
            return Run.model_validate(self._http.delete(f"{API}/runs/{_q(run_id)}"))
        return Run.model_validate(self._http.post(f"{API}/runs/{_q(run_id)}/restore"))

    # -- logging ----------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Iterable[Metric | Mapping[str, Any]] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        body = {
            "metrics": [m.model_dump() if isinstance(m, Metric) else dict(m) for m in metrics],
            "params": {k: str(v) for k, v in (params or {}).items()} or None,
            "tags": {k: str(v) for k, v in (tags or {}).items()} or None,
        }
        return int(self._http.post(f"{API}/runs/{_q(run_id)}/log", body)["metrics_written"])

    def delete_tag(self, run_id: str, key: str) -> None:
        self._http.delete(f"{API}/runs/{_q(run_id)}/tags/{_q(key)}")

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.flush()
        data = self._http.get(f"{API}/runs/{_q(run_id)}/metrics/{_q(key)}/history")
        return [Metric.model_validate(m) for m in data]

    @property
    def buffer(self) -> MetricBuffer:
        with self._lock:
            if self._buffer is None:
                self._buffer = MetricBuffer(lambda rid, ms: self.log_batch(rid, metrics=ms))
            return self._buffer

    def flush(self) -> None:
        if self._buffer is not None:
            self._buffer.flush()

    def log_input(
        self, run_id: str, data: Any, *, context: str = "training", digest: str | None = None
    ) -> RunInput:
        from shipyard.tracking.service import input_ref

        body = {"ref": input_ref(data), "context": context, "digest": digest}
        return RunInput.model_validate(self._http.post(f"{API}/runs/{_q(run_id)}/inputs", body))

    # -- search --------------------------------------------------------------------------------

    def search_runs(
        self,
        experiments: Iterable[str] | str | None = None,
        *,
        filter: str | None = None,
        order_by: list[str] | None = None,
        view: str = "active",
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[Run]:
        exps = (
            [experiments]
            if isinstance(experiments, str)
            else (list(experiments) if experiments is not None else None)
        )
        self.flush()
        body = {
            "experiments": exps,
            "filter": filter,
            "order_by": order_by,
            "view": view,
            "page_size": page_size,
            "page_token": page_token,
        }
        return Page[Run].model_validate(self._http.post(f"{API}/runs/search", body))

    def compare_runs(self, run_ids: list[str]) -> RunComparison:
        return RunComparison.model_validate(
            self._http.post(f"{API}/runs/compare", {"run_ids": run_ids})
        )

    # -- artifacts and models -----------------------------------------------------------------

    def put_artifact(self, run_id: str, path: str, data: bytes) -> str:
        rel = safe_key(path)
        out = self._http.request(
            "PUT", f"{API}/runs/{_q(run_id)}/artifacts/content", params={"path": rel}, content=data
        )
        return str(out["path"])

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> str:
        src = Path(local_path)
        if not src.exists():
            raise NotFound(f"no local file {src}", path=str(src))
        if src.is_dir():
            return self.log_artifacts(run_id, src, safe_key(artifact_path, src.name))
        return self.put_artifact(run_id, safe_key(artifact_path, src.name), src.read_bytes())

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> str:
        src = Path(local_dir)
        if not src.is_dir():
            raise NotFound(f"no local folder {src}", path=str(src))
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            self.put_artifact(
                run_id, safe_key(artifact_path, path.relative_to(src).as_posix()), path.read_bytes()
            )
        return safe_key(artifact_path)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        data = self._http.request(
            "GET", f"{API}/runs/{_q(run_id)}/artifacts", params={"path": path}
        )
        return [FileInfo.model_validate(f) for f in data]

    def read_artifact(self, run_id: str, path: str) -> bytes:
        return bytes(
            self._http.request(
                "GET", f"{API}/runs/{_q(run_id)}/artifacts/content", params={"path": path}
            )
        )

    def download_artifacts(
        self, run_id: str, path: str | None = None, dst: str | Path | None = None
    ) -> Path:
        target_root = Path(dst) if dst is not None else Path(tempfile.mkdtemp(prefix="shipyard-"))
        rel = safe_key(path)
        listing = self.list_artifacts(run_id, rel or None)
        if rel and not listing:  # a single file
            out = target_root / Path(rel).name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(self.read_artifact(run_id, rel))
            return out
        base = target_root / (Path(rel).name if rel else "artifacts")
        todo = listing
        while todo:
            item = todo.pop()
            local = base / item.path[len(rel) + 1 if rel else 0 :]
            if item.is_dir:
                todo.extend(self.list_artifacts(run_id, item.path))
            else:
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(self.read_artifact(run_id, item.path))
        return base

    def log_model(
        self,
        run_id: str,
        model: Any,
        artifact_path: str = "model",
        *,
        input_example: Any = None,
        signature: dict[str, Any] | None = None,
        predict_method: str = "predict",
        flavor: str | None = None,
        pip_requirements: list[str] | None = None,
        registered_model_name: str | None = None,
    ) -> LoggedModel:
        rel = safe_key(artifact_path)
        tmp = Path(tempfile.mkdtemp(prefix="shipyard-model-"))
        try:
            save_model(
                model,
                tmp / "model",
                artifact_path=rel,
                run_id=run_id,
                input_example=input_example,
                signature=signature,
                predict_method=predict_method,
                flavor=flavor,
                pip_requirements=pip_requirements,
            )
            self.log_artifacts(run_id, tmp / "model", rel)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        logged = self.record_model(run_id, rel)
        if registered_model_name:
            self._http.post(
                f"/api/v1/registry/models/{_q(registered_model_name)}/versions",
                {"source": f"runs:/{run_id}/{rel}"},
            )
        return logged

    def record_model(self, run_id: str, artifact_path: str = "model") -> LoggedModel:
        return LoggedModel.model_validate(
            self._http.post(f"{API}/runs/{_q(run_id)}/models", {"artifact_path": artifact_path})
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return LoggedModel.model_validate(self._http.get(f"{API}/logged-models/{_q(model_id)}"))
