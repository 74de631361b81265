"""The narrow interface every job-queue backend implements (one contract suite)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from shipyard._internal.paging import Page
from shipyard.pipelines.models import Job, JobSpec, JobState


class JobQueue(ABC):
    """A durable queue of jobs with leases.

    ``conn``: a transaction of the metadata database to join (the service's audited
    mutation), for backends that live there; others ignore it.
    """

    @abstractmethod
    def enqueue(self, spec: JobSpec, *, team: str, created_by: str, conn: Any = None) -> Job:
        """Queue one job; a spec whose ``idempotency_key`` the team used before
        answers the job queued then (nothing new is queued)."""

    @abstractmethod
    def enqueue_many(
        self,
        specs: Sequence[JobSpec],
        *,
        team: str,
        created_by: str,
        conn: Any = None,
        links: Sequence[tuple[str, str]] | None = None,
    ) -> list[Job]:
        """Queue many jobs in one transaction (same idempotency rule, per spec).

        ``links``: the pipeline ``(run_id, step)`` of each spec (the pipeline engine's)."""

    @abstractmethod
    def claim(
        self,
        worker_id: str,
        pools: Sequence[str],
        *,
        limit: int = 1,
        lease_seconds: float = 30.0,
        conn: Any = None,
    ) -> list[Job]:
        """Lease up to ``limit`` due jobs of ``pools``, highest priority first, oldest
        first within one priority, within the pool and team concurrency limits.
        No job is handed to two claimers at once. ``conn``: claim in that transaction
        (a worker takes the step it just unblocked as it records the upstream)."""

    def watch(  # noqa: B027 - optional
        self, wake: threading.Event, pools: Sequence[str] | None = None
    ) -> None:
        """Set ``wake`` whenever jobs of ``pools`` (``None``: any) become claimable: an
        idle worker then claims at once instead of at its next poll. Every backend
        wakes for the jobs its own process queued; one that can also hear other
        processes (PostgreSQL's ``LISTEN``) wakes for theirs. Best effort: a worker
        still polls."""

    def unwatch(self, wake: threading.Event) -> None:  # noqa: B027 - optional
        """Stop setting ``wake``."""

    @abstractmethod
    def heartbeat(self, job_id: str, worker_id: str, *, lease_seconds: float = 30.0) -> bool:
        """Extend the lease; False when the worker no longer holds the job (cancelled,
        or its lease expired and the job was requeued): the worker must stop it."""

    @abstractmethod
    def complete(
        self, job_id: str, worker_id: str, *, result: Any = None, logs: str | None = None
    ) -> Job:
        """Mark succeeded. Raises ``Conflict`` if ``worker_id`` no longer holds the job."""

    @abstractmethod
    def complete_many(
        self,
        worker_id: str,
        done: Sequence[tuple[str, Any, str | None]],
        *,
        then: Callable[[Any], None] | None = None,
    ) -> int:
        """Mark many held jobs succeeded in one transaction: ``(job_id, result, logs)``
        each. A job the worker no longer holds is left as it is. Returns how many.
        ``then(conn)`` runs in that transaction after the update (the lifecycle events)."""

    @abstractmethod
    def fail(
        self,
        job_id: str,
        worker_id: str,
        error: str,
        *,
        logs: str | None = None,
        retry: bool = True,
    ) -> Job:
        """Record a failed attempt: queued again after a backoff while attempts remain
        (``retry``), else dead (out of attempts) or failed (``retry=False``)."""

    @abstractmethod
    def cancel(self, job_id: str, *, conn: Any = None) -> Job:
        """Cancel a queued or running job (a running one's next heartbeat says stop)."""

    @abstractmethod
    def get(self, job_id: str) -> Job:
        """Raises ``NotFound``."""

    @abstractmethod
    def list(
        self,
        *,
        state: JobState | None = None,
        pool: str | None = None,
        teams: Sequence[str] | None = None,
        limit: int,
        page_token: str | None = None,
    ) -> Page[Job]:
        """One page of ``limit`` jobs, newest first; ``teams=None`` means every team.

        Raises:
            InvalidArgument: a malformed page token (see ``shipyard._internal.paging``).
        """

    @abstractmethod
    def requeue_expired(self) -> int:
        """Requeue (or dead-letter, when out of attempts) running jobs whose lease has
        expired; returns how many."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections the backend holds itself."""
