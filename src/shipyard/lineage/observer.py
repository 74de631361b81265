"""OpenLineage run events from the platform's audited changes (the kernel's observer hook).

One run per lake write, ingest, refresh or CDC apply, materialization and
training-set build: START when it begins, COMPLETE (with the datasets it read and
wrote, read back from the catalog) once its change committed, FAIL with the error
code otherwise. A tracked training run is one OpenLineage run from
``tracking.create_run`` (START) to the ``tracking.update_run`` that ends it.
Jobs are reported by the pipelines worker as ``jobs.run`` around each job it runs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated.error_message_run import ErrorMessageRunFacet
from openlineage.client.generated.job_type_job import JobTypeJobFacet

from shipyard._internal.clock import utcnow
from shipyard.catalog.models import AssetRef
from shipyard.lineage import facets
from shipyard.lineage.emitter import LineageEmitter

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard.catalog.store import SqlCatalogStore

log = logging.getLogger(__name__)

#: Actions that are one run each (START .. COMPLETE/FAIL around one change).
RUN_ACTIONS = frozenset(
    {
        "lake.write",
        "lake.ingest",
        "lake.refresh",
        "lake.apply_changes",
        "features.materialize",
        "features.create_training_set",
        "jobs.run",  # told by the pipelines worker around each job it runs
    }
)
TERMINAL = {"FINISHED": RunState.COMPLETE, "FAILED": RunState.FAIL, "KILLED": RunState.ABORT}
PRODUCER = "urn:shipyard"


@dataclass
class OpenRun:
    action: str
    key: str
    run_id: str
    job: str
    done: bool = False
    inputs: list[InputDataset] = field(default_factory=list)


class LineageObserver:
    """Turns audited changes into OpenLineage run events (``MutationObserver``)."""

    def __init__(
        self, emitter: LineageEmitter, db: Database, catalog: SqlCatalogStore, namespace: str
    ) -> None:
        self.emitter = emitter
        self._db = db
        self._catalog = catalog
        self.namespace = namespace
        self._local = threading.local()

    # -- the kernel's hook -------------------------------------------------------------

    def started(self, action: str, *, principal: str, asset: str | None) -> OpenRun | None:
        try:
            if action in RUN_ACTIONS:
                return self._start(action, asset)
            if action in ("tracking.create_run", "tracking.update_run") and asset:
                run = OpenRun(action, asset, _stable_id(self.namespace, asset), "training/" + asset)
                if action == "tracking.create_run":
                    self._send(RunState.START, run)
                    run.done = True
                return run  # an update ends the run only if it sets a terminal status
            return None
        except Exception as exc:  # an observer never fails the change
            log.warning("OpenLineage: %s", exc)
            return None

    def completed(self, token: OpenRun, *, asset: str | None, details: dict[str, Any]) -> None:
        if token.done:
            return
        token.done = True
        try:
            if token.action == "tracking.update_run":
                self._run_ended(token, str(details.get("status") or ""))
                return
            self._open().pop(token.key, None)
            inputs, outputs = self._datasets(asset, details)
            self._send(RunState.COMPLETE, token, inputs=inputs, outputs=outputs)
        except Exception as exc:
            log.warning("OpenLineage: %s", exc)

    def failed(self, token: OpenRun, *, code: str) -> None:
        if token.done:
            return
        token.done = True
        self._open().pop(token.key, None)
        try:
            self._send(RunState.FAIL, token, error=code)
        except Exception as exc:
            log.warning("OpenLineage: %s", exc)

    def _run_ended(self, run: OpenRun, status: str) -> None:
        """A tracked run reached ``status`` (FINISHED, FAILED, KILLED): its last event."""
        state = TERMINAL.get(status)
        if state is None:
            return
        if state == RunState.COMPLETE:  # what it trained on; its models are registered later
            inputs, _ = self._datasets(run.key, {}, any_version=True)
            self._send(state, run, inputs=inputs)
        else:
            self._send(state, run, error=status)

    # -- internals -----------------------------------------------------------------------

    def _open(self) -> dict[str, OpenRun]:
        runs = getattr(self._local, "runs", None)
        if runs is None:
            runs = self._local.runs = {}
        return runs

    def _start(self, action: str, asset: str | None) -> OpenRun:
        ref = AssetRef.parse(asset) if asset else None
        key = f"{action}|{ref.kind}:{ref.name}" if ref else action
        runs = self._open()
        if key in runs:  # the lake opened it before its Delta work; the record completes it
            return runs[key]
        job = f"{action}/{ref.kind}:{ref.name}" if ref else action
        run = OpenRun(action, key, str(uuid.uuid4()), job)
        runs[key] = run
        self._send(RunState.START, run)
        return run

    def _datasets(
        self, asset: str | None, details: dict[str, Any], *, any_version: bool = False
    ) -> tuple[list[InputDataset], list[OutputDataset]]:
        """What the change read (its lineage edges at this version) and wrote (the asset)."""
        if not asset:
            return [], []
        ref = AssetRef.parse(asset)
        with self._db.connect() as conn:
            row = self._catalog.find(conn, ref.kind, ref.name)
            if row is None:
                return [], []
            version = ref.version if ref.version is not None else row.version
            edges = [
                e
                for e in self._catalog.edges(conn, [row.id], upstream=True)
                if any_version or e.target_version == version
            ]
            refs = self._catalog.refs(conn, [e.source_id for e in edges])
        inputs = [
            facets.input_dataset(*refs[e.source_id], e.source_version, self.namespace)
            for e in edges
            if e.source_id in refs
        ]
        return inputs, [facets.output_dataset(row, version, self.namespace, details)]

    def _send(
        self,
        state: RunState,
        run: OpenRun,
        *,
        inputs: list[InputDataset] | None = None,
        outputs: list[OutputDataset] | None = None,
        error: str | None = None,
    ) -> None:
        run_facets: dict[str, Any] = {}
        if error is not None:
            run_facets["errorMessage"] = ErrorMessageRunFacet(
                message=error, programmingLanguage="python"
            )
        event = RunEvent(
            eventType=state,
            eventTime=utcnow().isoformat(),
            producer=PRODUCER,
            run=Run(runId=run.run_id, facets=run_facets),
            job=Job(
                namespace=self.namespace,
                name=run.job,
                facets={
                    "jobType": JobTypeJobFacet(
                        processingType="BATCH", integration="SHIPYARD", jobType=run.action
                    )
                },
            ),
            inputs=inputs or [],
            outputs=outputs or [],
        )
        self.emitter.emit(event)


def _stable_id(namespace: str, key: str) -> str:
    """The same run id for every event of one tracked run (a UUID, as OpenLineage wants)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{key}"))
