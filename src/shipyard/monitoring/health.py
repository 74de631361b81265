"""Readiness: the metadata DB and the online store answer, and no inference worker of
this process is dead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def readiness(
    db: Any,
    worker_pids: list[int],
    online: Callable[[], Any] | None = None,
    not_loaded: int | None = None,
) -> tuple[bool, dict[str, str]]:
    """(ready, checks) for ``/v2/health/ready``; the checks name no asset (the probe is public).

    ``db``: the metadata database; ``worker_pids``: this process's inference workers;
    ``online``: one read of the online store (a key that does not exist);
    ``not_loaded``: how many deployments this server should hold are not loaded (``None``:
    the server preloads nothing, no ``models`` check).
    """
    checks: dict[str, str] = {}
    try:
        with db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["catalog"] = "ok"
    except Exception as exc:  # any driver error: the probe says so, never a 500
        checks["catalog"] = f"unavailable ({type(exc).__name__})"
    if online is not None:
        try:
            online()
            checks["online_store"] = "ok"
        except Exception as exc:  # Redis down, a locked file: not ready, never a 500
            checks["online_store"] = f"unavailable ({type(exc).__name__})"
    if not_loaded is not None:
        checks["models"] = f"{not_loaded} deployment(s) not loaded" if not_loaded else "ok"
    dead = [p for p in worker_pids if not _alive(p)]
    checks["workers"] = f"{len(worker_pids) - len(dead)} of {len(worker_pids)} alive"
    ok = all(v == "ok" for k, v in checks.items() if k != "workers")
    return ok and not dead, checks
