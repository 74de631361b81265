"""The interfaces of jobs and pipelines: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process services and the remote clients implement them; mypy checks both
(``shipyard.client.conformance``) and ``tests/unit/client/test_signatures.py``
compares every signature and default (ADR 0008).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from shipyard._internal.paging import Page
from shipyard.pipelines.models import Job, JobState
from shipyard.pipelines.pipeline_service import BackfillResult, PipelineInfo
from shipyard.pipelines.retention import PruneResult
from shipyard.pipelines.runs import PipelineRun


class JobAPI(Protocol):
    """What ``JobService`` offers both in-process and over HTTP."""

    def get(self, job_id: str) -> Job:
        """The job with id ``job_id``."""
        ...

    def logs(self, job_id: str) -> str:
        """The captured stdout, stderr and logging of the job's last attempt."""
        ...

    def list(
        self,
        *,
        state: JobState | str | None = None,
        pool: str | None = None,
        team: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Job]:
        """Newest first, among the teams the caller may read (or ``team``)."""
        ...

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (a running one is stopped at its next heartbeat)."""
        ...

    def wait(self, job_id: str, *, timeout: float = 60.0) -> Job:
        """The job once it has ended, or as it is after ``timeout`` seconds."""
        ...

    def prune(self, *, older_than_days: float | None = None, dry_run: bool = False) -> PruneResult:
        """Delete job history past retention (admins of every team; ``dry_run``: count)."""
        ...


class PipelineAPI(Protocol):
    """What ``PipelineService`` offers both in-process and over HTTP."""

    def get(self, name: str) -> PipelineInfo:
        """The pipeline ``name``."""
        ...

    def list(self) -> list[PipelineInfo]:
        """The pipelines the caller may read, by name."""
        ...

    def pause(self, name: str) -> PipelineInfo:
        """Stop schedules and triggers from starting runs (manual runs still start)."""
        ...

    def resume(self, name: str) -> PipelineInfo:
        """Start scheduling again; missed ticks follow the catch-up policy."""
        ...

    def run(self, name: str, *, partition: str | None = None) -> PipelineRun:
        """Start a run now: its root steps are queued; workers do the rest."""
        ...

    def backfill(self, name: str, start: date, end: date) -> BackfillResult:
        """One run per day in [start, end] of a daily-partitioned pipeline."""
        ...

    def backfill_progress(self, backfill_id: str) -> dict[str, int]:
        """Runs of a backfill by state (``{"running": n, "succeeded": n, ...}``)."""
        ...

    def get_run(self, run_id: str) -> PipelineRun:
        """The run with id ``run_id``."""
        ...

    def list_runs(
        self,
        name: str | None = None,
        *,
        state: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[PipelineRun]:
        """Newest first, among the teams the caller may read (of ``name`` when given)."""
        ...

    def logs(self, run_id: str) -> dict[str, str]:
        """Each step's captured output (last attempt), in step order."""
        ...

    def cancel_run(self, run_id: str) -> PipelineRun:
        """Cancel a running run: queued and running steps are cancelled, pending ones never run."""
        ...
