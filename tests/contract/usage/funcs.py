"""Job functions the usage tests run (allowed through ``jobs.modules``)."""

from __future__ import annotations

import time

from shipyard.pipelines import job


@job
def burn(cpu_seconds: float = 0.2) -> int:
    """Spin the CPU for ``cpu_seconds`` of this thread's CPU time."""
    end = time.thread_time() + cpu_seconds
    n = 0
    while time.thread_time() < end:
        n += 1
    return n
