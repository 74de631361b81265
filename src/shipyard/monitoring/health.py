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


def readiness(ctx: Any) -> tuple[bool, dict[str, str]]:
    """(ready, checks) for ``/v2/health/ready``; the checks name no asset (the probe is public)."""
    from shipyard.serving.context import WORKERS_KEY

    checks: dict[str, str] = {}
    try:
        with ctx.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["catalog"] = "ok"
    except Exception as exc:  # any driver error: the probe says so, never a 500
        checks["catalog"] = f"unavailable ({type(exc).__name__})"
    pool = ctx.extras.get(WORKERS_KEY)
    pids = pool.pids() if pool is not None else []
    dead = [p for p in pids if not _alive(p)]
    checks["workers"] = f"{len(pids) - len(dead)} of {len(pids)} alive"
    return checks["catalog"] == "ok" and not dead, checks
