"""SLOs of deployments and the incidents their error-budget burn opens
(``MonitoringService``'s SLO half; the arithmetic is in ``monitoring/slo.py``).

An evaluation reads the deployment's requests of the inference log once (``ts``,
``latency_ms``, ``error`` of each request's row 0 over the longest span any SLO needs),
computes every SLO's burn, and in one audited transaction opens an incident for an SLO
that burns without an open one and resolves the open incident of an SLO that is ``ok``
again (``no_data`` changes nothing). Each opening and resolution is published on
``monitoring.alert_topic``, as drift alerts are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import sqlalchemy as sa
from pydantic import ValidationError

from shipyard._internal.clock import utcnow
from shipyard._internal.ids import new_id
from shipyard.catalog.context import Service
from shipyard.errors import InvalidArgument, NotFound
from shipyard.monitoring import slo as slo_math
from shipyard.monitoring.slo import SLO, Incident, SLOKind, SLOStatus
from shipyard.monitoring.tables import incident_row, incidents, slos
from shipyard.security.models import Permission

if TYPE_CHECKING:
    from shipyard.events.service import EventService
    from shipyard.lake.service import LakeService
    from shipyard.monitoring.service import MonitoringService
    from shipyard.serving.service import ServingService

MAX_SLOS = 20  # per deployment


class SLOMixin(Service):
    _serving: Callable[[], ServingService]
    _lake: Callable[[], LakeService]
    _events: Callable[[], EventService]
    _internal: Callable[[], MonitoringService]

    def put_slo(
        self,
        deployment: str,
        name: str,
        *,
        kind: SLOKind,
        objective: float,
        threshold_ms: float | None = None,
        period_seconds: float = 28 * 86400.0,
        min_requests: int = 20,
    ) -> SLO:
        """Create or replace the deployment's SLO ``name``.

        Raises:
            NotFound: no such deployment. PermissionDenied: no write on its team.
            InvalidArgument: a bad name, kind, objective, threshold or period, or more
                than 20 SLOs on the deployment.
        """
        dep = self._serving().get_deployment(deployment)
        try:
            spec = SLO(
                deployment=deployment,
                name=name,
                kind=kind,
                objective=objective,
                threshold_ms=threshold_ms,
                period_seconds=period_seconds,
                min_requests=min_requests,
                owner=dep.owner,
                created_at=utcnow(),
                created_by=self.principal.name,
            )
        except ValidationError as exc:
            raise InvalidArgument(f"bad SLO: {_first_error(exc)}") from None
        with self._ctx.mutation(
            "monitoring.put_slo", team=dep.owner, asset=f"deployment:{deployment}"
        ) as m:
            key = (slos.c.deployment == deployment) & (slos.c.name == name)
            m.conn.execute(slos.delete().where(key))
            count = m.conn.execute(
                sa.select(sa.func.count()).where(slos.c.deployment == deployment)
            ).scalar_one()
            if count >= MAX_SLOS:
                raise InvalidArgument(f"a deployment has at most {MAX_SLOS} SLOs")
            m.conn.execute(
                slos.insert().values(
                    deployment=deployment,
                    name=name,
                    owner=dep.owner,
                    body=spec.model_dump(mode="json"),
                    updated_at=spec.created_at,
                )
            )
            m.details = spec.model_dump(mode="json", exclude={"created_at", "created_by"})
        return spec

    def list_slos(self, deployment: str) -> list[SLO]:
        """The deployment's SLOs by name.

        Raises:
            NotFound: no such deployment. PermissionDenied: no read on its team.
        """
        self._serving().get_deployment(deployment)  # authorizes the read
        return self._slos(deployment)

    def delete_slo(self, deployment: str, name: str) -> None:
        """Delete the deployment's SLO ``name`` (its incidents stay, as history).

        Raises:
            NotFound: no such deployment or SLO. PermissionDenied: no write on its team.
        """
        dep = self._serving().get_deployment(deployment)
        with self._ctx.mutation(
            "monitoring.delete_slo", team=dep.owner, asset=f"deployment:{deployment}"
        ) as m:
            gone = m.conn.execute(
                slos.delete().where((slos.c.deployment == deployment) & (slos.c.name == name))
            ).rowcount
            if not gone:
                raise NotFound(f"deployment '{deployment}' has no SLO '{name}'", name=name)
            m.details = {"slo": name}

    def evaluate_slos(self, deployment: str, *, end: datetime | None = None) -> list[SLOStatus]:
        """Every SLO of the deployment at ``end`` (default now); opens an incident for a
        burning SLO and resolves it once the SLO is ``ok`` again (published on
        ``monitoring.alert_topic``).

        Raises:
            NotFound: no such deployment. PermissionDenied: no write on its team.
        """
        dep = self._serving().get_deployment(deployment)
        self._ctx.require(
            Permission.WRITE,
            dep.owner,
            action="monitoring.evaluate_slos",
            asset=f"deployment:{deployment}",
        )
        end = end or datetime.now(UTC)
        specs = self._slos(deployment)
        if not specs:
            return []
        ts, latency, failed = self._requests(deployment, end, max(map(slo_math.scan_span, specs)))
        statuses = [slo_math.evaluate(s, end, ts, latency, failed) for s in specs]
        alerts = self._record(deployment, dep.owner, statuses)
        for alert in alerts:
            self._internal()._alert(alert)  # the event bus and the webhooks
        return statuses

    def list_incidents(self, deployment: str, *, limit: int = 20) -> list[Incident]:
        """The deployment's incidents, newest first (open and resolved).

        Raises:
            NotFound: no such deployment. PermissionDenied: no read on its team.
        """
        rows = self._newest_bodies(incidents, incidents.c.opened_at, deployment, limit)
        return [Incident.model_validate(body) for body in rows]

    # -- internals --------------------------------------------------------------------------

    def _newest_bodies(
        self, table: sa.Table, order: sa.Column[Any], deployment: str, limit: int
    ) -> list[Any]:
        """The JSON bodies of a deployment's newest rows of ``table`` (incidents, drift
        reports), newest first by ``order``; reading them needs read access on the
        deployment's team.

        Raises:
            NotFound: no such deployment. PermissionDenied: no read on its team.
            InvalidArgument: ``limit`` outside [1, 1000].
        """
        self._serving().get_deployment(deployment)  # authorizes the read
        if not 1 <= limit <= 1000:
            raise InvalidArgument("limit must be in [1, 1000]")
        with self._ctx.db.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.body)
                .where(table.c.deployment == deployment)
                .order_by(order.desc(), table.c.id)
                .limit(limit)
            ).all()
        return [r.body for r in rows]

    def _slos(self, deployment: str) -> list[SLO]:
        with self._ctx.db.connect() as conn:
            rows = conn.execute(
                sa.select(slos.c.body).where(slos.c.deployment == deployment).order_by(slos.c.name)
            ).all()
        return [SLO.model_validate(r.body) for r in rows]

    def _requests(
        self, deployment: str, end: datetime, span: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ts in µs, latency_ms, failed) of the deployment's served requests in the span."""
        from shipyard.serving.predlog import LOG_TABLE

        empty = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool)
        self._serving().runtimes.flush_log()  # the spooled predictions first (ADR 0052)
        try:
            dt = self._internal()._lake().storage.open(LOG_TABLE)
        except NotFound:
            return empty
        ts = ds.field("ts")
        where = (
            (ds.field("deployment") == deployment)
            & ~ds.field("shadow")
            & (ds.field("row") == 0)
            & (ts >= pa.scalar(end - span, pa.timestamp("us", tz="UTC")))
            & (ts < pa.scalar(end, pa.timestamp("us", tz="UTC")))
        )
        table = dt.to_pyarrow_dataset().to_table(
            columns=["ts", "latency_ms", "error"], filter=where
        )
        if table.num_rows == 0:
            return empty
        micros = pc.cast(table.column("ts"), pa.int64()).to_numpy()
        latency = pc.fill_null(table.column("latency_ms"), float("nan")).to_numpy()
        failed = table.column("error").is_valid().to_numpy(zero_copy_only=False)
        return micros, latency, failed

    def _record(self, deployment: str, owner: str, statuses: list[SLOStatus]) -> list[dict]:
        """Open or resolve the SLOs' incidents in one audited transaction; the alerts."""
        alerts: list[dict[str, Any]] = []
        with self._ctx.mutation(
            "monitoring.evaluate_slos", team=owner, asset=f"deployment:{deployment}"
        ) as m:
            for st in statuses:
                source = f"slo:{st.slo.name}"
                row = m.conn.execute(
                    sa.select(incidents.c.body).where(
                        incidents.c.deployment == deployment,
                        incidents.c.source == source,
                        incidents.c.state == "open",
                    )
                ).first()
                current = Incident.model_validate(row.body) if row else None
                if st.status == "burning" and current is None:
                    current = _open(deployment, owner, st)
                    m.conn.execute(incidents.insert().values(**incident_row(current, owner)))
                    alerts.append(_alert("firing", current, st))
                elif st.status == "ok" and current is not None:
                    current.state, current.resolved_at = "resolved", st.evaluated_at
                    current.details["resolved_with"] = _evidence(st)
                    m.conn.execute(
                        incidents.update()
                        .where(incidents.c.id == current.id)
                        .values(**incident_row(current, owner))
                    )
                    alerts.append(_alert("resolved", current, st))
                st.incident = current
            m.details = {s.slo.name: s.status for s in statuses}
        return alerts


def _open(deployment: str, owner: str, st: SLOStatus) -> Incident:
    s = st.slo
    what = f"latency <= {s.threshold_ms:g} ms" if s.kind == "latency" else "availability"
    return Incident(
        id=new_id(),
        deployment=deployment,
        source=f"slo:{s.name}",
        state="open",
        opened_at=st.evaluated_at,
        summary=f"{deployment}: SLO '{s.name}' ({what} >= {s.objective:.4g}) burning {st.firing}",
        details={"opened_with": _evidence(st)},
    )


def _evidence(st: SLOStatus) -> dict[str, Any]:
    return {
        "firing": st.firing,
        "budget_remaining": st.budget_remaining,
        "windows": [w.model_dump() for w in st.windows],
    }


def _alert(state: str, incident: Incident, st: SLOStatus) -> dict[str, Any]:
    return {
        "type": "slo",
        "state": state,
        "id": incident.id,
        "deployment": incident.deployment,
        "slo": st.slo.name,
        "firing": st.firing,
        "budget_remaining": st.budget_remaining,
        "opened_at": incident.opened_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err.get("loc", ()))
    return f"{where}: {err['msg']}" if where else str(err["msg"])
