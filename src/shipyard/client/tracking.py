"""``RemoteTrackingService``: ``TrackingAPI`` over HTTP.

``start_run`` hands out the same ``ActiveRun`` as in-process, so metric logging
is asynchronous and batched here too (one HTTP request per batch). ``log_model``
packages the model locally (signature, pinned requirements) and uploads it.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from shipyard._internal.paging import Page, all_items
from shipyard.client.http import HttpTransport
from shipyard.client.ops import API, Args, RemoteService, local, segment
from shipyard.errors import InvalidArgument, NotFound
from shipyard.storage import safe_key
from shipyard.tracking.active_run import ActiveRun
from shipyard.tracking.batching import BatchLoggingMixin
from shipyard.tracking.buffer import MetricBuffer
from shipyard.tracking.models import Experiment, FileInfo, LoggedModel, Metric, Run
from shipyard.tracking.ops import OPS, RUN
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

    @local(TrackingAPI.create_experiment)
    def create_experiment(self, a: Args) -> Experiment:
        if a["artifact_location"] is not None:
            # A path on the server's disk is the server's choice (it used to be dropped).
            raise InvalidArgument("artifact_location cannot be chosen over HTTP")
        body = {
            "name": a["name"],
            "owner": a["owner"],
            "tags": dict(a["tags"]) if a["tags"] else None,
        }
        return Experiment.model_validate(self._http.post(f"{API}/tracking/experiments", body))

    @local(TrackingAPI.find_experiment)
    def find_experiment(self, a: Args) -> Experiment | None:
        try:
            return self.get_experiment_by_name(a["name"])
        except NotFound:
            return None

    @local(TrackingAPI.start_run)
    def start_run(self, a: Args) -> ActiveRun:
        from shipyard.tracking.source import source_tags

        local_tags = source_tags() if a.pop("capture_source") else {}
        a["tags"] = {**local_tags, **dict(a["tags"] or {})}
        return ActiveRun(self, self.create_run(a.pop("experiment"), **a))

    @local(TrackingAPI.end_run)
    def end_run(self, a: Args) -> Run:
        self.flush()
        return self.update_run(a["run_id"], status=a["status"])

    @local(TrackingAPI.set_run_lifecycle)
    def set_run_lifecycle(self, a: Args) -> Run:
        if a["stage"] == "deleted":
            return Run.model_validate(self._http.delete(_run(a["run_id"])))
        return Run.model_validate(self._http.post(_run(a["run_id"]) + "/restore"))

    @local(TrackingAPI.get_metric_history)
    def get_metric_history(self, a: Args) -> list[Metric]:
        self.flush()  # the queued values are part of the history
        return self._send("get_metric_history", a)

    @property
    def buffer(self) -> MetricBuffer:
        with self._lock:
            if self._buffer is None:
                self._buffer = MetricBuffer(lambda rid, ms: self.log_batch(rid, metrics=ms))
            return self._buffer

    @local(TrackingAPI.flush)
    def flush(self, a: Args) -> None:
        if self._buffer is not None:
            self._buffer.flush()

    @local(TrackingAPI.search_runs)
    def search_runs(self, a: Args) -> Page[Run]:
        self.flush()  # the queued metrics count in the search
        return self._send("search_runs", a)

    # -- artifacts and models -----------------------------------------------------------------

    @local(TrackingAPI.put_artifact)
    def put_artifact(self, a: Args) -> str:
        params = {"path": safe_key(a["path"])}
        out = self._http.request(
            "PUT", _run(a["run_id"]) + "/artifacts/content", params=params, content=a["data"]
        )
        return str(out["path"])

    @local(TrackingAPI.log_artifact)
    def log_artifact(self, a: Args) -> str:
        run_id, src = a["run_id"], Path(a["local_path"])
        if not src.exists():
            raise NotFound(f"no local file {src}", path=str(src))
        if src.is_dir():
            return self.log_artifacts(run_id, src, safe_key(a["artifact_path"], src.name))
        return self.put_artifact(run_id, safe_key(a["artifact_path"], src.name), src.read_bytes())

    @local(TrackingAPI.log_artifacts)
    def log_artifacts(self, a: Args) -> str:
        src = Path(a["local_dir"])
        if not src.is_dir():
            raise NotFound(f"no local folder {src}", path=str(src))
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            rel = safe_key(a["artifact_path"], path.relative_to(src).as_posix())
            self.put_artifact(a["run_id"], rel, path.read_bytes())
        return safe_key(a["artifact_path"])

    def _all_artifacts(self, run_id: str, path: str | None) -> list[FileInfo]:
        return list(all_items(lambda t: self.list_artifacts(run_id, path, page_token=t)))

    @local(TrackingAPI.download_artifacts)
    def download_artifacts(self, a: Args) -> Path:
        run_id, dst = a["run_id"], a["dst"]
        target_root = Path(dst) if dst is not None else Path(tempfile.mkdtemp(prefix="shipyard-"))
        rel = safe_key(a["path"])
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
            local_path = base / item.path[len(rel) + 1 if rel else 0 :]
            if item.is_dir:
                todo.extend(self._all_artifacts(run_id, item.path))
            else:
                local_path.parent.mkdir(parents=True, exist_ok=True)
                local_path.write_bytes(self.read_artifact(run_id, item.path))
        return base

    @local(TrackingAPI.log_model)
    def log_model(self, a: Args) -> LoggedModel:
        run_id, registered = a.pop("run_id"), a.pop("registered_model_name")
        rel = a["artifact_path"] = safe_key(a["artifact_path"])
        tmp = Path(tempfile.mkdtemp(prefix="shipyard-model-"))
        try:
            save_model(a.pop("model"), tmp / "model", run_id=run_id, **a)
            self.log_artifacts(run_id, tmp / "model", rel)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        logged = self.record_model(run_id, rel)
        if registered:
            self._http.post(
                f"{API}/registry/models/{segment(registered)}/versions",
                {"source": f"runs:/{run_id}/{rel}"},
            )
        return logged
