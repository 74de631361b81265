"""What a capability service needs to respect quotas, without importing ``quotas``.

Services that add to a capped resource (jobs, deployments, the lake) take a
``QuotaCheck`` provider from ``Platform``; ``shipyard.quotas`` implements it. Kept
here, below every capability, so that ``quotas`` may read their tables without an
import circle.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class QuotaResource(StrEnum):
    """What a quota caps."""

    #: API requests per second (a moving one-second window; shared by every API worker
    #: when ``quotas.rate_storage`` is Redis).
    REQUESTS_PER_SECOND = "requests_per_second"
    #: Jobs queued or running at once.
    CONCURRENT_JOBS = "concurrent_jobs"
    #: Bytes stored in the lake (the tables' Delta files) and under the artifact root.
    STORAGE_BYTES = "storage_bytes"
    #: Deployments.
    DEPLOYMENTS = "deployments"
    #: Rows in the online store (over the team's feature views).
    ONLINE_ROWS = "online_rows"
    #: CPUs that running training jobs and search workers hold at once (a job asks for
    #: ``resources.cpus``; a search worker holds one). A job past it waits its turn.
    CPUS = "cpus"
    #: GPUs that running training jobs hold at once, like ``cpus``.
    GPUS = "gpus"


class QuotaCheck(Protocol):
    def enforce(self, resource: QuotaResource, team: str, *, action: str, adding: int = 1) -> None:
        """Raise ``QuotaExceeded`` if the caller or ``team`` would pass its cap."""
        ...

    def enforce_request(
        self, resource: QuotaResource, team: str, *, action: str, amount: float
    ) -> None:
        """Raise ``QuotaExceeded`` if ``amount`` is more than the caller's or ``team``'s
        whole cap of a held resource (it could never run)."""
        ...
