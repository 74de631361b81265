"""Drift incidents and alert delivery.

A drift alert fires once per incident: the first ``drift`` report of a deployment
opens an incident (a row of ``monitoring_incidents`` with source ``drift``, beside
the SLO incidents) and fires; further ``drift`` reports join it without firing; the
next ``ok`` report resolves it and fires ``resolved``. ``insufficient_data`` and
``no_reference`` change nothing (an empty window is said, never fired).

Every alert (drift and SLO) is published on ``monitoring.alert_topic`` by the caller
and POSTed as JSON to each of ``monitoring.alert_webhooks``, best effort: a webhook
that fails or times out is logged and counted, never raised (the report and the
incident are stored whether the chat answers or not).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

import sqlalchemy as sa

from shipyard._internal.ids import new_id
from shipyard._internal.prom import ALERT_DELIVERIES
from shipyard.monitoring.models import DriftReport
from shipyard.monitoring.slo import Incident
from shipyard.monitoring.tables import incident_row, incidents

log = logging.getLogger("shipyard.monitoring.alerts")

DRIFT_SOURCE = "drift"
#: Seconds one webhook delivery may take.
WEBHOOK_TIMEOUT = 5.0


def record_drift(conn: Any, report: DriftReport, owner: str) -> dict[str, Any] | None:
    """Open, join or resolve the deployment's drift incident; the alert to send, if any."""
    if report.status not in ("drift", "ok"):
        return None
    row = conn.execute(
        sa.select(incidents.c.body).where(
            incidents.c.deployment == report.deployment,
            incidents.c.source == DRIFT_SOURCE,
            incidents.c.state == "open",
        )
    ).first()
    current = Incident.model_validate(row.body) if row else None
    if report.status == "drift" and current is None:
        current = Incident(
            id=new_id(),
            deployment=report.deployment,
            source=DRIFT_SOURCE,
            state="open",
            opened_at=report.created_at,
            summary=f"{report.deployment}: drift in {', '.join(_drifted(report)) or '-'}",
            details={"opened_by": report.id, "reports": 1},
        )
        conn.execute(incidents.insert().values(**incident_row(current, owner)))
        return _alert("firing", current, report)
    if current is None:
        return None
    if report.status == "drift":  # the same incident goes on: no new alert
        current.details["reports"] = int(current.details.get("reports", 1)) + 1
        current.details["last_report"] = report.id
        conn.execute(
            incidents.update()
            .where(incidents.c.id == current.id)
            .values(**incident_row(current, owner))
        )
        return None
    current.state, current.resolved_at = "resolved", report.created_at
    current.details["resolved_by"] = report.id
    conn.execute(
        incidents.update()
        .where(incidents.c.id == current.id)
        .values(**incident_row(current, owner))
    )
    return _alert("resolved", current, report)


def _drifted(report: DriftReport) -> list[str]:
    names = report.drifted_features
    if report.prediction is not None and report.prediction.drifted:
        names = [*names, "prediction"]
    return names


def _alert(state: str, incident: Incident, report: DriftReport) -> dict[str, Any]:
    return {
        "type": "drift",
        "state": state,
        "id": incident.id,
        "deployment": report.deployment,
        "report_id": report.id,
        "model": report.model,
        "model_version": report.model_version,
        "features": report.drifted_features,
        "prediction_drifted": bool(report.prediction and report.prediction.drifted),
        "worst_psi": max((f.psi for f in report.features), default=0.0),
        "window_end": report.window_end.isoformat(),
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


def deliver(urls: list[str], alert: dict[str, Any]) -> int:
    """POST ``alert`` as JSON to every URL; how many answered 2xx (failures are logged)."""
    body = json.dumps(alert, default=str).encode()
    ok = 0
    for url in urls:
        req = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT) as resp:
                delivered = 200 <= resp.status < 300
        except Exception as exc:  # a chat being down never fails the report
            log.warning("alert %s to %s not delivered: %s", alert.get("id"), url, exc)
            delivered = False
        ALERT_DELIVERIES.labels("sent" if delivered else "failed").inc()  # /metrics
        ok += delivered
    return ok
