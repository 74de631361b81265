"""Built-in job functions (always allowed): for checks, benches and tests."""

from __future__ import annotations

import time
from typing import Any

from shipyard.pipelines.functions import job


@job
def noop(**_: Any) -> None:
    """Do nothing (queue throughput and handoff benches)."""


@job
def echo(**kwargs: Any) -> dict[str, Any]:
    """Print the arguments and answer them."""
    print(kwargs)
    return kwargs


@job
def sleep(seconds: float = 1.0) -> float:
    """Sleep (timeouts, leases and draining in tests)."""
    time.sleep(seconds)
    return seconds
