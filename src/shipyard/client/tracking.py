"""``RemoteTrackingService``: ``TrackingAPI`` over HTTP.

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

from shipyard._internal.paging import Page, all_items
from shipyard.client.http import HttpTransport
from shipyard.client.ops import API, RemoteService, segment
from shipyard.errors import InvalidArgument, NotFound
from shipyard.storage import safe_key
from shipyard.tracking.active_run import ActiveRun
from shipyard.tracking.batching import BatchLoggingMixin
from shipyard.tracking.buffer import MetricBuffer
from shipyard.tracking.models import Experiment, FileInfo, LoggedModel, Metric, Run, RunStatus
from shipyard.tracking.ops import OPS, RUN, nan_metrics
from shipyard.tracking.packaging.mlmodel import save_model
from shipyard.tracking.protocol import TrackingAPI


def _run(run_id: str) -> str:
    return API + RUN.format(run_id=segment(run_id))


class RemoteTrackingService(RemoteService, BatchLoggingMixin, TrackingAPI, ops=OPS):
    """``TrackingService`` over HTTP."""

    def __init__(self, http: HttpTransport) -> None:
        super().__init__(http)
        self._buffer: MetricBuffer | None = None
        self._lock = threading.Lock()

    def create_experiment(
        self,
        name: str,
        *,
        owner: str | None = None,
        tags: Mapping[str, str] | None = None,
        artifact_location: str | None = None,
    ) -> Experiment:
        if artifact_location is not None:
            # A path on the server's disk is the server's choice (it used to be dropped).
            raise InvalidArgument("artifact_location cannot be chosen over HTTP")
        body = {"name": name, "owner": owner, "tags": dict(tags) if tags else None}
        return Experiment.model_validate(self._http.post(f"{API}/tracking/experiments", body))

    def find_experiment(self, name: str) -> Experiment | None:
        try:
            return self.get_experiment_by_name(name)
        except NotFound:
            return None

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

    def end_run(self, run_id: str, status: str | RunStatus = RunStatus.FINISHED) -> Run:
        self.flush()
        return self.update_run(run_id, status=status)

    def set_run_lifecycle(self, run_id: str, stage: str) -> Run:
        if stage == "deleted":
            return Run.model_validate(self._http.delete(_run(run_id)))
        return Run.model_validate(self._http.post(_run(run_id) + "/restore"))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.flush()
        data = self._http.get(_run(run_id) + f"/metrics/{segment(key)}/history")
        return [Metric.model_validate(m) for m in nan_metrics(data)]

    @property
    def buffer(self) -> MetricBuffer:
        with self._lock:
            if self._buffer is None:
                self._buffer = MetricBuffer(lambda rid, ms: self.log_batch(rid, metrics=ms))
            return self._buffer

    def flush(self) -> None:
        if self._buffer is not None:
            self._buffer.flush()

    def search_runs(
        self,
        experiments: Iterable[str] | str | None = None,
        *,
        filter: str | None = None,
        order_by: list[str] | None = None,
        view: str = "active",
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Run]:
        exps = [experiments] if isinstance(experiments, str) else experiments
        self.flush()
        body = {
            "experiments": list(exps) if exps is not None else None,
            "filter": filter,
            "order_by": order_by,
            "view": view,
            "limit": limit,
            "page_token": page_token,
        }
        data = self._http.post(f"{API}/tracking/runs/search", body)
        return Page[Run].model_validate(nan_metrics(data))

    # -- artifacts and models -----------------------------------------------------------------

    def put_artifact(self, run_id: str, path: str, data: bytes) -> str:
        rel = safe_key(path)
        out = self._http.request(
            "PUT", _run(run_id) + "/artifacts/content", params={"path": rel}, content=data
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

    def _all_artifacts(self, run_id: str, path: str | None) -> list[FileInfo]:
        return list(all_items(lambda t: self.list_artifacts(run_id, path, page_token=t)))

    def download_artifacts(
        self, run_id: str, path: str | None = None, dst: str | Path | None = None
    ) -> Path:
        target_root = Path(dst) if dst is not None else Path(tempfile.mkdtemp(prefix="shipyard-"))
        rel = safe_key(path)
        listing = self._all_artifacts(run_id, rel or None)
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
                todo.extend(self._all_artifacts(run_id, item.path))
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
                f"{API}/registry/models/{segment(registered_model_name)}/versions",
                {"source": f"runs:/{run_id}/{rel}"},
            )
        return logged
