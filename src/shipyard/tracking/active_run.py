"""``ActiveRun``: the context manager the SDK hands out by ``start_run``.

It works over any object with ``TrackingService``'s methods (the in-process
service or the remote client). ``log_metric`` only validates and queues: the
service's ``MetricBuffer`` writes in batches in the background.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from shipyard.errors import Conflict
from shipyard.tracking.models import LoggedModel, Metric, Run, RunInput, RunStatus
from shipyard.tracking.validation import check_key, check_metric_value, check_step, now_ms


class ActiveRun:
    """A running run. ``with service.start_run(...) as run: run.log_metric("auc", 0.8)``."""

    def __init__(self, service: Any, run: Run) -> None:
        self._service = service
        self.info = run
        self._ended = False
        self._autolog: Any = None

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def experiment_id(self) -> str:
        return self.info.experiment_id

    def _check_open(self) -> None:
        if self._ended:
            raise Conflict(f"run '{self.id}' has ended; log to a running run", run_id=self.id)

    # -- params, metrics, tags ---------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self._check_open()
        self._service.log_params(self.id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Params are write-once: another value for a logged key raises Conflict."""
        self._check_open()
        self._service.log_params(self.id, params)

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Queue one value (validated now, written in the background)."""
        self._check_open()
        check_key(key, "metric")
        metric = Metric.model_construct(
            key=key,
            value=check_metric_value(key, value),
            step=check_step(step),
            timestamp=timestamp if timestamp is not None else now_ms(),
        )
        self._service.buffer.add(self.id, metric)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        ts = now_ms()
        for key, value in metrics.items():
            self.log_metric(key, value, step=step, timestamp=ts)

    def set_tag(self, key: str, value: Any) -> None:
        self._service.set_tags(self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._service.set_tags(self.id, tags)

    def flush(self) -> None:
        """Wait until every queued metric is written."""
        self._service.flush()

    # -- inputs, artifacts, models ---------------------------------------------------------

    def log_input(self, data: Any, *, context: str = "training") -> RunInput:
        """Record a training set or lake table (ref or object) with its exact version."""
        self._check_open()
        return self._service.log_input(self.id, data, context=context)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> str:
        self._check_open()
        return self._service.log_artifact(self.id, local_path, artifact_path)

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> str:
        self._check_open()
        return self._service.log_artifacts(self.id, local_dir, artifact_path)

    def log_text(self, text: str, artifact_file: str) -> str:
        self._check_open()
        return self._service.put_artifact(self.id, artifact_file, text.encode())

    def log_dict(self, data: Mapping[str, Any], artifact_file: str) -> str:
        return self.log_text(json.dumps(data, indent=2, default=str), artifact_file)

    def log_model(self, model: Any, artifact_path: str = "model", **kwargs: Any) -> LoggedModel:
        """Save the model with signature (from ``input_example``) and pinned requirements.

        Keyword arguments: ``input_example``, ``signature``, ``predict_method``,
        ``flavor``, ``pip_requirements``, ``registered_model_name``.
        """
        self._check_open()
        self._service.flush()
        return self._service.log_model(self.id, model, artifact_path, **kwargs)

    def autolog(self, *, log_models: bool = True) -> None:
        """Log params, training metrics and the model of every scikit-learn ``fit``
        until the run ends."""
        from shipyard.tracking.autolog import SklearnAutolog

        self._check_open()
        if self._autolog is None:
            self._autolog = SklearnAutolog(self, log_models=log_models).start()

    # -- nesting and ending ----------------------------------------------------------------

    def start_run(self, run_name: str | None = None, **kwargs: Any) -> ActiveRun:
        """A child run of this one (in the same experiment)."""
        self._check_open()
        return self._service.start_run(
            self.experiment_id_name(), run_name=run_name, parent_run_id=self.id, **kwargs
        )

    def experiment_id_name(self) -> str:
        return self._service.get_experiment(self.experiment_id).name

    def end(self, status: str | RunStatus = RunStatus.FINISHED) -> Run:
        """Flush queued metrics and end the run."""
        if self._ended:
            return self.info
        if self._autolog is not None:
            self._autolog.stop()
            self._autolog = None
        self.info = self._service.end_run(self.id, status)
        self._ended = True
        return self.info

    def refresh(self) -> Run:
        self._service.flush()
        self.info = self._service.get_run(self.id)
        return self.info

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end(RunStatus.FINISHED)
            return
        with contextlib.suppress(Exception):  # the user's exception matters more
            self.end(RunStatus.KILLED if exc_type is KeyboardInterrupt else RunStatus.FAILED)

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, name={self.info.name!r})"
