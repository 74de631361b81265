"""Monitoring use-cases: reference profiles, drift runs over the inference log, alerts.

Profiles and drift reports are rows in the catalog DB (``monitoring/tables.py``). A
drift incident opens on the first ``drift`` report and resolves on the next ``ok``
one; both are alerts (``monitoring/alerts.py``).
The log and training sets are read as the monitoring service principal once the
caller is authorized on the deployment or model they ask about.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.ids import new_id
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import InvalidArgument, NotFound
from shipyard.monitoring import alerts, drift, performance, sketch, window, window_stream
from shipyard.monitoring.models import (
    DriftReport,
    FeatureDrift,
    FeatureProfile,
    Profile,
    Thresholds,
)
from shipyard.monitoring.performance import PerformanceReport
from shipyard.monitoring.service_metrics import MetricsMixin
from shipyard.monitoring.service_quality import QualityMixin
from shipyard.monitoring.service_scorecard import ScorecardMixin
from shipyard.monitoring.service_slo import SLOMixin
from shipyard.monitoring.tables import drift_reports, profiles
from shipyard.security.models import ALL_TEAMS, Permission, Principal, Role

if TYPE_CHECKING:
    from shipyard.events.service import EventService
    from shipyard.features.service import FeatureService
    from shipyard.lake.service import LakeService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.service import ServingService

log = logging.getLogger("shipyard.monitoring")

#: Reads logs and training sets, publishes alerts; callers are authorized first.
MONITOR_PRINCIPAL = Principal(
    id="monitoring", name="monitoring", kind="service", roles={ALL_TEAMS: Role.EDITOR}
)
MAX_WINDOW = timedelta(days=366)


class MonitoringService(QualityMixin, ScorecardMixin, SLOMixin, MetricsMixin, Service):
    """Reference profiles, drift, model performance, data quality (docs/monitoring.md)."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        lake: Callable[[], LakeService],
        registry: Callable[[], RegistryService],
        serving: Callable[[], ServingService],
        features: Callable[[], FeatureService],
        events: Callable[[], EventService],
        internal: Callable[[], MonitoringService],
    ) -> None:
        super().__init__(ctx)
        # The other capabilities as this caller, built when first used.
        self._lake, self._registry, self._serving = lake, registry, serving
        self._features, self._events = features, events
        #: This service acting as ``MONITOR_PRINCIPAL``: reads logs and training sets,
        #: publishes alerts, once the caller is authorized.
        self._internal = internal

    # -- profiles ---------------------------------------------------------------------------

    def profile_table(
        self, table: str, *, version: int | None = None, columns: list[str] | None = None
    ) -> Profile:
        """Profile a lake table (as of ``version``) and store it as ``table:<name>@<v>``.

        Raises:
            NotFound: no such table, version or column. PermissionDenied: no read on it.
        """
        lake = self._lake()
        info = lake.get_table(table)  # authorizes the read
        data = lake.read(table, version=version)
        missing = [c for c in columns or [] if c not in data.column_names]
        if missing:
            raise NotFound(f"table '{table}' has no columns {missing}", columns=missing)
        v = version if version is not None else info.version
        return self._store(
            "table", table, v, info.owner, f"{table}@{v}", data, columns, "monitoring.profile_table"
        )

    def profile_model_version(self, name: str, version: int) -> Profile:
        """Profile the training set of model ``name`` version ``version`` (its run's input).

        Raises:
            NotFound: no such version, or its run logged no training set or table.
            PermissionDenied: the caller may not write to the model's team.
        """
        mv = self._registry().get_model_version(name, version)
        owner = self._model_owner(name)
        self._ctx.require(
            Permission.WRITE, owner, action="monitoring.profile_model", asset=f"model:{name}"
        )
        table, table_version, columns = self._training_data(mv.run_id)
        data = self._internal()._lake().read(table, version=table_version)
        cols = [c for c in columns if c in data.column_names] or None
        return self._store(
            "model",
            name,
            version,
            owner,
            f"{table}@{table_version}",
            data,
            cols,
            "monitoring.profile_model",
        )

    def get_profile(self, kind: str, name: str, version: int | None = None) -> Profile:
        """The newest profile of ``model:<name>@<version>`` or ``table:<name>@<version>``.

        Raises:
            NotFound: none stored. InvalidArgument: an unknown kind.
        """
        if kind not in ("model", "table"):
            raise InvalidArgument("kind must be 'model' or 'table'")
        q = sa.select(profiles.c.body, profiles.c.owner).where(
            profiles.c.kind == kind, profiles.c.name == name
        )
        if version is not None:
            q = q.where(profiles.c.version == version)
        with self._ctx.db.connect() as conn:
            row = conn.execute(
                q.order_by(profiles.c.version.desc(), profiles.c.created_at.desc()).limit(1)
            ).first()
        if row is None:
            at = f"@{version}" if version is not None else ""
            raise NotFound(f"no profile of {kind}:{name}{at}", kind=kind, name=name)
        self._ctx.require(
            Permission.READ, row.owner, action="monitoring.get_profile", asset=f"{kind}:{name}"
        )
        return Profile.model_validate(row.body)

    def _model_owner(self, name: str) -> str:
        return self._internal()._registry().get_registered_model(name).owner

    def _training_data(self, run_id: str | None) -> tuple[str, int | None, list[str]]:
        from shipyard.tracking.tables import inputs

        if not run_id:
            raise NotFound("the model version has no run, so no training set to profile")
        with self._ctx.db.connect() as conn:
            rows = conn.execute(
                sa.select(inputs.c.kind, inputs.c.name, inputs.c.version, inputs.c.context)
                .where(inputs.c.run_id == run_id, inputs.c.kind.in_(["training_set", "table"]))
                .order_by((inputs.c.context == "training").desc())
            ).all()
        if not rows:
            raise NotFound(f"run {run_id} logged no training set or table (log_input)")
        kind, name, version, _ = rows[0]
        if kind == "table":
            return name, version, []
        ts = self._internal()._features().get_training_set(name, version)
        return ts.table, ts.table_version, list(ts.features)

    def _store(
        self,
        kind: str,
        name: str,
        version: int,
        owner: str,
        source: str,
        data: Any,
        columns: list[str] | None,
        action: str,
    ) -> Profile:
        profile = Profile(
            id=new_id(),
            subject=f"{kind}:{name}@{version}",
            kind=kind,  # type: ignore[arg-type]
            name=name,
            version=version,
            source=source,
            owner=owner,
            rows=data.num_rows,
            features=sketch.profile_table(data, columns),
            created_at=utcnow(),
            created_by=self.principal.name,
        )
        permission = Permission.READ if kind == "table" else Permission.WRITE
        with self._ctx.mutation(
            action, team=owner, asset=profile.subject, permission=permission
        ) as m:
            m.conn.execute(
                profiles.insert().values(
                    id=profile.id,
                    kind=kind,
                    name=name,
                    version=version,
                    owner=owner,
                    rows=profile.rows,
                    body=profile.model_dump(mode="json"),
                    created_at=profile.created_at,
                )
            )
            m.details = {"rows": profile.rows, "features": len(profile.features)}
            if kind == "model":
                self._show_in_catalog(m.conn, profile)
        return profile

    def _show_in_catalog(self, conn: Any, profile: Profile) -> None:
        """The model's catalog asset lists its versions' reference profiles (newest 20)."""
        asset = self._ctx.catalog.find(conn, "model", profile.name)
        if asset is None:
            return
        shown = dict(asset.properties.get("reference_profiles") or {})
        shown[str(profile.version)] = {
            "profile_id": profile.id,
            "source": profile.source,
            "rows": profile.rows,
            "features": sorted(profile.features),
            "created_at": profile.created_at.isoformat(),
        }
        newest = sorted(shown, key=int)[-20:]
        self._ctx.catalog.update(
            conn,
            asset,
            description=None,
            owner=None,
            tags=None,
            properties={"reference_profiles": {k: shown[k] for k in newest}},
        )

    # -- drift ------------------------------------------------------------------------------

    def thresholds(
        self, deployment: str, overrides: Mapping[str, float] | None = None
    ) -> Thresholds:
        """The settings' thresholds, with the deployment's overrides, then ``overrides``.

        Raises:
            InvalidArgument: an unknown threshold or a value out of its range.
        """
        s = self._ctx.settings.monitoring
        base = {
            "psi": s.drift_psi,
            "js": s.drift_js,
            "ks": s.drift_ks,
            "pvalue": s.drift_pvalue,
            "min_rows": s.drift_min_rows,
        }
        return Thresholds.merged({**base, **s.deployments.get(deployment, {})}, overrides)

    def run_drift(
        self,
        deployment: str,
        *,
        window_seconds: float = 3600.0,
        end: datetime | None = None,
        thresholds: Mapping[str, float] | None = None,
        features: list[str] | None = None,
    ) -> DriftReport:
        """Drift of the deployment's last ``window_seconds`` of logged predictions.

        Features are compared with the reference profile of the model version that
        served most of the window; predictions with the window before it. The report is
        stored. The first ``drift`` report opens an incident and fires an alert, the next
        ``ok`` one resolves it (``monitoring/alerts.py``); alerts are published on
        ``monitoring.alert_topic`` and POSTed to ``monitoring.alert_webhooks``.
        ``thresholds`` replace the deployment's for this run (a monitor's);
        ``features`` limits the scored features to these.

        Raises:
            NotFound: no such deployment. PermissionDenied: no write on its team.
            InvalidArgument: a window that is not positive or longer than a year, a bad
                threshold.
        """
        dep = self._serving().get_deployment(deployment)
        self._ctx.require(
            Permission.WRITE,
            dep.owner,
            action="monitoring.run_drift",
            asset=f"deployment:{deployment}",
        )
        if not 0 < window_seconds <= MAX_WINDOW.total_seconds():
            raise InvalidArgument("window_seconds must be in (0, 366 days]")
        end = end or datetime.now(UTC)
        start = end - timedelta(seconds=window_seconds)
        limits = self.thresholds(deployment, thresholds)
        t0 = time.perf_counter()
        report = self._drift(deployment, start, end, limits, features)
        report.seconds = time.perf_counter() - t0
        alert = self._save_report(report, dep.owner)
        if alert is not None:
            self._alert(alert)
        return report

    def _drift(
        self,
        deployment: str,
        start: datetime,
        end: datetime,
        limits: Thresholds,
        only: list[str] | None,
    ) -> DriftReport:
        from shipyard.serving.predlog import LOG_TABLE

        report = DriftReport(
            id=new_id(),
            deployment=deployment,
            model=None,
            model_version=None,
            reference=None,
            window_start=start,
            window_end=end,
            rows=0,
            status="insufficient_data",
            thresholds=limits,
            created_at=utcnow(),
            created_by=self.principal.name,
        )
        self._serving().runtimes.flush_log()  # the spooled predictions first (ADR 0052)
        lake = self._internal()._lake()
        try:
            dt = lake.storage.open(LOG_TABLE)
        except NotFound:
            report.message = "no predictions logged yet"
            return report
        report.rows, by_model = window_stream.served(dt, deployment, start, end)
        served = window_stream.served_most(by_model)
        if served is None or report.rows < limits.min_rows:
            report.message = f"{report.rows} rows in the window; at least {limits.min_rows} needed"
            return report
        report.model, report.model_version = served
        reference = self._reference(*served)
        if reference is None:
            report.status = "no_reference"
            report.message = f"no profile of model:{report.model}@{report.model_version}"
            return report
        report.reference = reference.subject
        feats = reference.features
        if only is not None:
            feats = {k: v for k, v in feats.items() if k in set(only)}
            if not feats:
                report.status = "no_reference"
                report.message = f"none of {sorted(only)} is in {reference.subject}"
                return report
        counters = window_stream.WindowDrift(feats)
        for part, batch in window_stream.batches(dt, deployment, start, end, *served):
            counters.add(part, batch)
        report.features = counters.report(limits)
        absent = sorted(set(feats) - {f.feature for f in report.features})
        report.message = f"not in the logged features, not checked: {absent}" if absent else ""
        # predictions are one float a row: read whole (the baseline's quantiles need it)
        baseline = window.scan(dt, deployment, start - (end - start), start, ["prediction"])
        current = window.scan(dt, deployment, start, end, ["prediction"])
        report.prediction = self._prediction_drift(baseline, current, limits)
        drifted = report.drifted_features or (report.prediction and report.prediction.drifted)
        report.status = "drift" if drifted else "ok"
        return report

    def _reference(self, model: str, version: int) -> Profile | None:
        try:
            return self._internal().get_profile("model", model, version)
        except NotFound:
            pass
        try:  # not profiled at registration (older version, or the setting was off)
            return self._internal().profile_model_version(model, version)
        except NotFound:
            return None

    @staticmethod
    def _feature_drift(
        feats: dict[str, FeatureProfile], table: Any, limits: Thresholds
    ) -> list[FeatureDrift]:
        out = []
        for name, found in window.features(table, feats).items():
            if found is None:  # e.g. the label or an id: in the training data, not served
                continue
            values, nulls = found
            prof = feats[name]
            if prof.kind == "numeric":
                if prof.count:
                    out.append(drift.numeric_drift(prof, values, nulls, limits))
            else:
                out.append(drift.categorical_drift(prof, values, nulls, limits))
        return out

    @staticmethod
    def _prediction_drift(base: Any, table: Any, limits: Thresholds) -> FeatureDrift | None:
        """Predictions of this window against those of the window before it."""
        base_values, base_nulls = window.numeric(base.column("prediction"))
        if base_values.size < limits.min_rows:
            return None
        ref = sketch.numeric_profile("prediction", base_values, base_nulls)
        values, nulls = window.numeric(table.column("prediction"))
        return drift.numeric_drift(ref, values, nulls, limits)

    def _save_report(self, report: DriftReport, owner: str) -> dict[str, Any] | None:
        """Store the report, open/join/resolve its incident: the alert to send, if any."""
        with self._ctx.mutation(
            "monitoring.run_drift", team=owner, asset=f"deployment:{report.deployment}"
        ) as m:
            m.conn.execute(
                drift_reports.insert().values(
                    id=report.id,
                    deployment=report.deployment,
                    owner=owner,
                    status=report.status,
                    rows=report.rows,
                    body=report.model_dump(mode="json"),
                    created_at=report.created_at,
                )
            )
            alert = alerts.record_drift(m.conn, report, owner)
            m.details = {"status": report.status, "drifted": report.drifted_features}
            if alert is not None:
                m.details["alert"] = alert["state"]
        return alert

    def _alert(self, alert: dict[str, Any]) -> None:
        """Publish an alert on the event bus and POST it to the configured webhooks."""
        s = self._ctx.settings.monitoring
        key = f"{alert['type']}-{alert['id']}-{alert['state']}"
        self._internal()._events().publish(s.alert_topic, [alert], key=key)
        if s.alert_webhooks:
            alerts.deliver(list(s.alert_webhooks), alert)

    def list_drift_reports(self, deployment: str, *, limit: int = 20) -> list[DriftReport]:
        """The deployment's newest drift reports, newest first.

        Raises:
            NotFound: no such deployment. PermissionDenied: no read on its team.
        """
        rows = self._newest_bodies(drift_reports, drift_reports.c.created_at, deployment, limit)
        return [DriftReport.model_validate(body) for body in rows]

    # -- model performance -----------------------------------------------------------------

    def model_performance(
        self,
        deployment: str,
        *,
        window_seconds: float = 7 * 86400.0,
        bucket_seconds: float | None = None,
        end: datetime | None = None,
    ) -> PerformanceReport:
        """Accuracy/AUC/RMSE per variant and per bucket of the window, from the ground truth
        posted so far (``serving.log_ground_truth``) joined to the logged predictions.
        ``bucket_seconds`` defaults to a 24th of the window.

        Raises:
            NotFound: no such deployment. PermissionDenied: no read on its team.
            InvalidArgument: a window that is not in (0, 366 days], a bucket longer than the
                window, or more than 1,000 buckets.
        """
        from shipyard.serving.predlog import GROUND_TRUTH_TABLE, LOG_TABLE

        self._serving().get_deployment(deployment)  # authorizes the read
        if not 0 < window_seconds <= MAX_WINDOW.total_seconds():
            raise InvalidArgument("window_seconds must be in (0, 366 days]")
        if bucket_seconds is None:
            bucket_seconds = window_seconds / 24
        if not 0 < bucket_seconds <= window_seconds or window_seconds / bucket_seconds > 1000:
            raise InvalidArgument("bucket_seconds must be in (0, window_seconds], <= 1000 buckets")
        end = end or datetime.now(UTC)
        start = end - timedelta(seconds=window_seconds)
        self._serving().runtimes.flush_log()  # the spooled predictions first (ADR 0052)
        storage = self._internal()._lake().storage
        try:
            log_dt = storage.open(LOG_TABLE)
        except NotFound:
            return performance.report(deployment, pd.DataFrame(), start, end, bucket_seconds)
        try:
            labels_dt = storage.open(GROUND_TRUTH_TABLE)
        except NotFound:
            labels_dt = None
        joined = performance.join(
            performance.read_log(log_dt, deployment, start, end),
            performance.read_labels(labels_dt, deployment),
        )
        return performance.report(deployment, joined, start, end, bucket_seconds)

    def profile_on_register(self, name: str, version: int) -> None:
        """The registry's hook: profile a new version's training set (as the caller who
        registered it); never fails the register."""
        if not self._ctx.settings.monitoring.profile_on_register:
            return
        try:
            self.profile_model_version(name, version)
        except NotFound as exc:
            log.info("model %s v%s not profiled: %s", name, version, exc.message)
        except Exception:  # a profile is evidence, not a gate: the version is registered
            log.warning("model %s v%s: profiling failed", name, version, exc_info=True)
