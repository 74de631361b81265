"""Canary operations of ``ServingService`` (a mixin): start, advance, roll back, and the
background check that advances scheduled ramps and stops failing ones."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shipyard.errors import ShipyardError
from shipyard.serving import canary
from shipyard.serving.models import CanaryPolicy, Deployment, DeploymentSpec, Variant

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.serving.runtime import ServingRuntime

log = logging.getLogger("shipyard.serving.canary")


class CanaryOps:
    if TYPE_CHECKING:
        _ctx: ServiceContext

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
            max_error_rate: roll back when the canary's error rate (last 2,048 requests in
                this process) exceeds this, once it has served ``min_requests``.
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
        )

    def rollback_canary(self, name: str, *, reason: str = "by command") -> Deployment:
        """Stop the running ramp: remove the canary, restore the weights before it.

        Raises:
            Conflict: no ramp is running.
        """
        dep = self.get_deployment(name)
        spec = canary.rollback(dep.spec, reason)
        return self._write(
            name, spec, team=dep.owner, action="serving.rollback_canary", details={"reason": reason}
        )

    def check_canaries(self) -> list[str]:
        """Roll back ramps over their bounds and advance scheduled ones (run every tick).

        Returns:
            ``"<deployment>: <what happened>"`` for each change made.
        """
        done: list[str] = []
        now = datetime.now(UTC)
        for name, active in self.runtime.cached().items():
            state = active.deployment.spec.canary
            if state is None or state.status != "running":
                continue
            stats = self.runtime.stats.for_deployment(name).get(state.policy.variant)
            reason = canary.breach(state.policy, stats)
            try:
                if reason is not None:
                    self.rollback_canary(name, reason=reason)
                    done.append(f"{name}: rolled back ({reason})")
                elif canary.due(state, now):
                    self.advance_canary(name)
                    done.append(f"{name}: advanced")
            except ShipyardError as exc:  # another process got there first, say
                log.warning("canary check of %s: %s", name, exc.message)
        return done
