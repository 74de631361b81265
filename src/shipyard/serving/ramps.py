"""Canary operations of ``ServingService`` (a mixin): start, advance, roll back, and the
background check that advances scheduled ramps and stops failing ones."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shipyard.errors import NotFound, ShipyardError
from shipyard.serving import canary
from shipyard.serving.models import CanaryPolicy, Deployment, DeploymentSpec, Variant
from shipyard.serving.predlog import LOG_TABLE, stats_sql

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.lake.service import LakeService
    from shipyard.serving.context import ServingRuntimes
    from shipyard.serving.runtime import ServingRuntime

log = logging.getLogger("shipyard.serving.canary")


class CanaryOps:
    if TYPE_CHECKING:
        _ctx: ServiceContext
        _log_lake: Callable[[], LakeService]
        runtimes: ServingRuntimes

        @property
        def runtime(self) -> ServingRuntime: ...

        def get_deployment(self, name: str) -> Deployment: ...

        def _write(
            self,
            name: str,
            spec: DeploymentSpec,
            *,
            team: str,
            action: str,
            description: str | None = None,
            create: bool = False,
            details: dict[str, Any] | None = None,
            load: bool = True,
        ) -> Deployment: ...

    def start_canary(
        self,
        name: str,
        variant: Variant,
        *,
        steps: list[int] | None = None,
        interval_s: float | None = None,
        max_error_rate: float = 0.05,
        max_p99_ms: float | None = None,
        min_requests: int = 20,
    ) -> Deployment:
        """Ramp ``variant`` in: first step now, then on a schedule or by ``advance_canary``.

        Args:
            steps: the canary's weights, increasing (default 5, 25, 100).
            interval_s: seconds between automatic steps (``None``: by command only).
            max_error_rate: roll back when the canary's error rate since its current step
                (in the shared inference log) exceeds this, once it has served
                ``min_requests`` in the step; with fewer the ramp holds.
            max_p99_ms: roll back when its p99 latency exceeds this.

        Raises:
            Conflict: a ramp is already running. InvalidArgument: bad steps or variant.
        """
        policy = CanaryPolicy(
            variant=variant.name,
            steps=steps or [5, 25, 100],
            interval_s=interval_s,
            max_error_rate=max_error_rate,
            max_p99_ms=max_p99_ms,
            min_requests=min_requests,
        )
        dep = self.get_deployment(name)
        spec = canary.start(dep.spec, variant, policy)
        self.runtime.stats.reset(name, variant.name)
        return self._write(
            name,
            spec,
            team=dep.owner,
            action="serving.start_canary",
            details={"canary": variant.name, "weight": policy.steps[0]},
        )

    def advance_canary(self, name: str) -> Deployment:
        """Move the running ramp to its next step.

        Raises:
            Conflict: no ramp is running, or it is at its last step.
        """
        dep = self.get_deployment(name)
        spec = canary.advance(dep.spec)
        assert spec.canary is not None
        weight = spec.canary.policy.steps[spec.canary.step]
        return self._write(
            name,
            spec,
            team=dep.owner,
            action="serving.advance_canary",
            details={"canary": spec.canary.policy.variant, "weight": weight},
            load=False,  # the canary's model was loaded when the ramp started
        )

    def rollback_canary(self, name: str, *, reason: str = "by command") -> Deployment:
        """Stop the running ramp: remove the canary, restore the weights before it.

        Raises:
            Conflict: no ramp is running.
        """
        dep = self.get_deployment(name)
        spec = canary.rollback(dep.spec, reason)
        return self._write(
            name,
            spec,
            team=dep.owner,
            action="serving.rollback_canary",
            details={"reason": reason},
            load=False,  # it only removes a variant
        )

    def check_canaries(self, *, now: datetime | None = None) -> list[str]:
        """``check_canary`` on every deployment the caller can read with a ramp running.

        Returns:
            ``"<deployment>: <verdict> (<why>)"`` for each ramp checked.
        """
        done: list[str] = []
        for name in self._ramping():
            try:
                done.append(f"{name}: {self.check_canary(name, now=now)}")
            except ShipyardError as exc:  # another process got there first, say
                log.warning("canary check of %s: %s", name, exc.message)
        return done

    def check_canary(self, name: str, *, now: datetime | None = None) -> str:
        """Judge the running ramp of ``name`` on the shared inference log; act on it.

        The evidence is the canary variant's requests since its current step began, as
        every server process logged them (``canary.judge``): over its bounds it is rolled
        back, healthy and due it advances, too few requests (or not due) it holds. What
        changes is audited and announced (``deployment.updated``) like the same command.
        What the scheduled job runs (``shipyard.step_actions:check_canary``).

        Returns:
            The verdict and its reason, e.g. ``"hold (3 of 20 requests since the step)"``.

        Raises:
            NotFound: no such deployment (or not visible). Conflict: changed meanwhile.
        """
        now = now or datetime.now(UTC)
        state = self.get_deployment(name).spec.canary
        if state is None or state.status != "running":
            return "idle (no canary ramping)"
        since = state.stepped_at or state.started_at or now
        verdict, why = canary.judge(state, self._log_window(name, state.policy.variant, since), now)
        if verdict == "rollback":
            self.rollback_canary(name, reason=why)
        elif verdict == "advance":
            self.advance_canary(name)
        log.info("canary %s of %s: %s (%s)", state.policy.variant, name, verdict, why)
        return f"{verdict} ({why})"

    def _ramping(self) -> list[str]:
        """Deployments the caller can read whose canary is running."""
        from shipyard._internal.paging import readable_teams
        from shipyard.serving.store import ramping

        return [a.name for a in ramping(self._ctx, readable_teams(self._ctx.principal))]

    def _log_window(self, name: str, variant: str, since: datetime) -> dict[str, Any] | None:
        """The variant's requests, errors and latency in the inference log since ``since``."""
        self.runtimes.flush_log()  # this process's buffer, then every process's spool
        lake = self._log_lake()
        try:
            lake.get_table(LOG_TABLE)
        except NotFound:
            return None
        for row in lake.sql(stats_sql(name, since)).to_pylist():
            if row["variant"] == variant:
                return dict(row)
        return None
