"""Readiness: the metadata DB answers and no inference worker of this process is dead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def readiness(db: Any, worker_pids: list[int]) -> tuple[bool, dict[str, str]]:
    """(ready, checks) for ``/v2/health/ready``; the checks name no asset (the probe is public).

    ``db``: the metadata database; ``worker_pids``: this process's inference workers.
    """
    checks: dict[str, str] = {}
    try:
        with db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["catalog"] = "ok"
    except Exception as exc:  # any driver error: the probe says so, never a 500
        checks["catalog"] = f"unavailable ({type(exc).__name__})"
    dead = [p for p in worker_pids if not _alive(p)]
    checks["workers"] = f"{len(worker_pids) - len(dead)} of {len(worker_pids)} alive"
    return checks["catalog"] == "ok" and not dead, checks
