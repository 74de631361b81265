"""The platform scorecard: the seed's results table, computed from the audit log and catalog.

- **Deployments** are the audited ``serving.create_deployment``, ``update_deployment`` and
  ``start_canary`` calls that succeeded; a **failure** is one of those that errored, or a
  rollback (``serving.rollback_deployment`` / ``rollback_canary``). Success rate is
  ``1 - failures / deployments``.
- **Lead time** of a model version: from its training run's finish (the run's audited
  ``tracking.update_run`` to FINISHED) to the first deployment that served it.
- **Incidents**: a drift report with status ``drift`` opens one for its deployment; the
  next ``ok`` report of that deployment resolves it. An SLO's incidents are rows of
  their own (opened by an error-budget burn, resolved when the SLO is ok again, see
  ``monitoring/slo.py``) and are counted with them.
- **Adoption** per team: active principals, runs created, deployments.
- **Feature reuse**: feature views that more than one deployed model reads (through the
  deployments' feature services).

Pure functions over rows; the service reads them (``service_scorecard.py``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

DEPLOY_ACTIONS = ("serving.create_deployment", "serving.update_deployment", "serving.start_canary")
ROLLBACK_ACTIONS = ("serving.rollback_deployment", "serving.rollback_canary")
AUDIT_ACTIONS = (
    *DEPLOY_ACTIONS,
    *ROLLBACK_ACTIONS,
    "registry.register_model",
    "tracking.update_run",
    "tracking.create_run",
)


class TeamAdoption(BaseModel):
    team: str
    active_principals: int
    runs: int
    deployments: int


class Scorecard(BaseModel):
    since: datetime
    until: datetime
    deployments: int
    deployments_per_week: float
    failures: int
    rollbacks: int
    success_rate: float | None
    lead_time_median_s: float | None
    lead_time_p90_s: float | None
    lead_times_measured: int
    models_in_production: int
    deployments_live: int
    incidents: int
    incidents_open: int
    #: Of ``incidents`` (and ``incidents_open``), those opened by an SLO's burn.
    slo_incidents: int = 0
    slo_incidents_open: int = 0
    time_to_resolve_median_s: float | None
    adoption: list[TeamAdoption] = Field(default_factory=list)
    #: view -> the deployed models that read it (views read by more than one model).
    reused_feature_views: dict[str, list[str]] = Field(default_factory=dict)


def deploy_counts(rows: list[Any]) -> tuple[int, int, int]:
    """(successful deployments, failures, rollbacks) among the audit rows."""
    deployed = sum(1 for r in rows if r.action in DEPLOY_ACTIONS and r.outcome == "ok")
    errored = sum(1 for r in rows if r.action in DEPLOY_ACTIONS and r.outcome == "error")
    rolled = sum(1 for r in rows if r.action in ROLLBACK_ACTIONS and r.outcome == "ok")
    return deployed, errored + rolled, rolled


def lead_times(rows: list[Any]) -> list[float]:
    """Seconds from a version's run finishing to the first deployment serving it (rows in
    time order, any age: a run may finish before the scorecard's window)."""
    finished: dict[str, datetime] = {}
    run_of: dict[str, str] = {}
    seen: set[str] = set()
    out: list[float] = []
    for r in rows:
        details = r.details or {}
        if r.action == "tracking.update_run" and details.get("status") == "FINISHED":
            finished.setdefault((r.asset or "").removeprefix("run:"), r.ts)
        elif r.action == "registry.register_model" and details.get("run_id"):
            run_of[(r.asset or "").removeprefix("model:").replace("@", "/")] = details["run_id"]
        elif r.action in DEPLOY_ACTIONS and r.outcome == "ok":
            for ref in (details.get("variants") or {}).values():
                if ref in seen or ref not in run_of or run_of[ref] not in finished:
                    continue
                seen.add(ref)
                out.append((r.ts - finished[run_of[ref]]).total_seconds())
    return out


def incidents(reports: list[Any]) -> tuple[int, int, list[float]]:
    """(incidents, still open, seconds to resolve each closed one) from drift report rows
    ``(deployment, status, created_at)`` in time order."""
    opened: dict[str, datetime] = {}
    count, resolved = 0, []
    for dep, status, at in reports:
        if status == "drift" and dep not in opened:
            opened[dep] = at
            count += 1
        elif status == "ok" and dep in opened:
            resolved.append((at - opened.pop(dep)).total_seconds())
    return count, len(opened), resolved


def slo_incidents(rows: list[Any]) -> tuple[int, int, list[float]]:
    """(incidents, still open, seconds to resolve each closed one) from incident rows
    ``(opened_at, resolved_at)``."""
    resolved = [(r[1] - r[0]).total_seconds() for r in rows if r[1] is not None]
    return len(rows), len(rows) - len(resolved), resolved


def adoption(rows: list[Any]) -> list[TeamAdoption]:
    people: dict[str, set[str]] = defaultdict(set)
    runs: dict[str, int] = defaultdict(int)
    deploys: dict[str, int] = defaultdict(int)
    for r in rows:
        if not r.team or r.outcome != "ok":
            continue
        people[r.team].add(r.principal)
        runs[r.team] += r.action == "tracking.create_run"
        deploys[r.team] += r.action in DEPLOY_ACTIONS
    return [
        TeamAdoption(team=t, active_principals=len(people[t]), runs=runs[t], deployments=deploys[t])
        for t in sorted(people)
    ]


def reuse(views_by_model: dict[str, set[str]]) -> dict[str, list[str]]:
    models_of: dict[str, set[str]] = defaultdict(set)
    for model, views in views_by_model.items():
        for v in views:
            models_of[v].add(model)
    return {v: sorted(m) for v, m in sorted(models_of.items()) if len(m) > 1}


def median(xs: list[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def p90(xs: list[float]) -> float | None:
    if not xs:
        return None
    ordered = sorted(xs)
    return float(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))])
