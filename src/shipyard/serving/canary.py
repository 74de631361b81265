"""Canary ramps as pure spec transformations, and the judgement that stops them.

A ramp adds one variant at the first step's weight and scales the other live
variants down in proportion; each step raises it; the last step (100) leaves it
alone. A rollback removes it and restores the weights from before the ramp.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from shipyard.errors import Conflict, InvalidArgument
from shipyard.serving.models import CanaryPolicy, CanaryState, DeploymentSpec, Variant


def split(baseline: dict[str, int], total: int) -> dict[str, int]:
    """Scale ``baseline`` weights to sum to ``total`` (largest remainder, integers)."""
    whole = sum(baseline.values())
    if whole == 0 or total == 0:
        return {k: 0 for k in baseline}
    exact = {k: w * total / whole for k, w in baseline.items()}
    out = {k: int(v) for k, v in exact.items()}
    short = total - sum(out.values())
    for k in sorted(exact, key=lambda k: exact[k] - out[k], reverse=True)[:short]:
        out[k] += 1
    return out


def _with_weights(
    spec: DeploymentSpec,
    canary: str,
    weight: int,
    baseline: dict[str, int],
    state: CanaryState | None,
) -> DeploymentSpec:
    others = split(baseline, 100 - weight)
    variants = []
    for v in spec.variants:
        if v.name == canary:
            variants.append(v.model_copy(update={"weight": weight}))
        elif v.name in others:
            variants.append(v.model_copy(update={"weight": others[v.name]}))
        else:
            variants.append(v)
    return spec.model_copy(update={"variants": variants, "canary": state})


def start(spec: DeploymentSpec, variant: Variant, policy: CanaryPolicy) -> DeploymentSpec:
    """The spec with ``variant`` added at the first step of ``policy``.

    Raises:
        Conflict: a ramp is already running.
        InvalidArgument: bad steps, or the variant name is taken.
    """
    if spec.canary is not None and spec.canary.status == "running":
        raise Conflict(f"canary '{spec.canary.policy.variant}' is already ramping")
    steps = policy.steps
    if not steps or any(not 0 < s <= 100 for s in steps) or steps != sorted(steps):
        raise InvalidArgument(f"canary steps must be increasing weights in 1..100, got {steps}")
    if any(v.name == variant.name for v in spec.variants):
        raise InvalidArgument(f"variant name '{variant.name}' is already in the deployment")
    now = datetime.now(UTC)
    baseline = {v.name: v.weight for v in spec.variants if not v.shadow}
    state = CanaryState(
        policy=policy.model_copy(update={"variant": variant.name}),
        step=0,
        baseline=baseline,
        started_at=now,
        stepped_at=now,
    )
    grown = spec.model_copy(
        update={
            "variants": [
                *spec.variants,
                variant.model_copy(update={"weight": steps[0], "shadow": False}),
            ]
        }
    )
    return _with_weights(grown, variant.name, steps[0], baseline, _status(state, steps, 0))


def _status(state: CanaryState, steps: list[int], step: int) -> CanaryState:
    done = step >= len(steps) - 1 and steps[-1] == 100
    return state.model_copy(
        update={
            "step": step,
            "stepped_at": datetime.now(UTC),
            "status": "completed" if done else "running",
        }
    )


def advance(spec: DeploymentSpec) -> DeploymentSpec:
    """The next step of the running ramp.

    Raises:
        Conflict: no ramp is running (or it is at its last step).
    """
    state = _running(spec)
    steps = state.policy.steps
    if state.step >= len(steps) - 1:
        raise Conflict(f"canary '{state.policy.variant}' is at its last step ({steps[-1]}%)")
    step = state.step + 1
    return _with_weights(
        spec, state.policy.variant, steps[step], state.baseline, _status(state, steps, step)
    )


def rollback(spec: DeploymentSpec, reason: str) -> DeploymentSpec:
    """The spec without the canary variant, the other weights as before the ramp.

    Raises:
        Conflict: no ramp is running.
    """
    state = _running(spec)
    variants = [
        v.model_copy(update={"weight": state.baseline.get(v.name, v.weight)})
        for v in spec.variants
        if v.name != state.policy.variant
    ]
    done = state.model_copy(
        update={"status": "rolled_back", "reason": reason, "stepped_at": datetime.now(UTC)}
    )
    return spec.model_copy(update={"variants": variants, "canary": done})


def _running(spec: DeploymentSpec) -> CanaryState:
    if spec.canary is None or spec.canary.status != "running":
        raise Conflict("no canary is ramping on this deployment")
    return spec.canary


Verdict = Literal["advance", "hold", "rollback"]


def judge(state: CanaryState, window: dict[str, Any] | None, now: datetime) -> tuple[Verdict, str]:
    """What the scheduled check does with a running ramp, and why.

    ``window`` is the canary variant's row of the inference log since its current step
    began (``requests``, ``errors``, ``p99_ms``; ``None`` when it served nothing):

    - ``rollback`` when, over at least ``min_requests`` requests, its error rate or p99
      latency is over the policy's bound;
    - ``hold`` when it served fewer than ``min_requests`` (no evidence: never advance
      blind), or the step's interval has not passed, or the ramp steps by command only;
    - ``advance`` otherwise.
    """
    policy = state.policy
    requests = int(window["requests"]) if window else 0
    if requests < policy.min_requests:
        return "hold", f"{requests} of {policy.min_requests} requests since the step"
    assert window is not None
    rate = int(window["errors"]) / requests
    if rate > policy.max_error_rate:
        return "rollback", f"error rate {rate:.1%} > {policy.max_error_rate:.1%}"
    p99 = window.get("p99_ms")
    if policy.max_p99_ms is not None and p99 is not None and p99 > policy.max_p99_ms:
        return "rollback", f"p99 {p99:.1f} ms > {policy.max_p99_ms:.1f} ms"
    if not due(state, now):
        return "hold", "healthy; the step's interval has not passed (or steps by command)"
    return "advance", f"healthy over {requests} requests: error rate {rate:.1%}" + (
        f", p99 {p99:.1f} ms" if p99 is not None else ""
    )


def due(state: CanaryState, now: datetime) -> bool:
    """A scheduled ramp whose interval has passed since its last step."""
    interval = state.policy.interval_s
    return (
        state.status == "running"
        and interval is not None
        and state.stepped_at is not None
        and (now - state.stepped_at).total_seconds() >= interval
    )
