"""Definitions promotion is platform as code between two environments (ADR 0028, 0027).

The source's current state of every promoted kind is read back as declared
resources (``platform_code.export``) and planned against the target with the
target's own per-kind adapters (``platform_code.plan_kinds``); what the target
cannot take is refused one line each and left out, and the rest is applied with
``platform_code.apply``. One mechanism for ``shipyard platform`` and promotion.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shipyard.environments.models import DefinitionsPlan
from shipyard.errors import InvalidArgument
from shipyard.platform_code.models import Change, Desired, Plan

__all__ = ["PROMOTED_KINDS", "Desired", "apply_promotion", "plan_promotion"]

#: What a definitions promotion carries: every kind but principals and their roles,
#: which are each environment's own (dev's editors are not prod's).
PROMOTED_KINDS = (
    "team",
    "quota",
    "table",
    "feature",
    "pipeline",
    "monitor",
    "deployment",
    "vector_index",
)


def plan_promotion(
    there: Any,
    desired: Desired,
    *,
    source: str,
    target: str,
    refused: list[str] | tuple[str, ...] = (),
) -> tuple[DefinitionsPlan, Plan]:
    """``desired`` (the source's definitions) planned against ``there`` (the target).

    A resource the target refuses (a reference missing there: a vector index's table,
    a deployment's model version, a quota's principal) is dropped with its one-line
    reason, and the rest planned again; what depends on it is refused in turn.
    """
    code = there.platform_code.trusting_code()
    refused = list(refused)
    while True:
        try:
            plan: Plan = code.plan_kinds(desired, list(PROMOTED_KINDS))
            break
        except InvalidArgument as exc:
            bad = [r for r in desired.resources if exc.message.startswith(f"{r.source}:")]
            if not bad:
                raise
            refused.append(exc.message.splitlines()[0])
            desired = Desired(resources=[r for r in desired.resources if r is not bad[0]])
    body = {
        "desired": desired.model_dump(mode="json"),
        "refused": refused,
        "fingerprint": plan.fingerprint,
        "changes": [c.model_dump(mode="json") for c in plan.changes],
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    plan = plan.model_copy(update={"desired": desired})
    return (
        DefinitionsPlan(
            source=source,
            target=target,
            digest=digest[:32],
            resources=[c.model_dump(mode="json") for c in plan.changes],
            refused=refused,
            **_by_kind(plan.changes),
        ),
        plan,
    )


def _by_kind(changes: list[Change]) -> dict[str, Any]:
    """The changes of features, pipelines and vector indexes in their planners' shapes."""

    def short(c: Change) -> dict[str, Any]:
        return {"name": c.name, "action": c.action, "diff": c.diff}

    features = []
    for c in changes:
        if c.kind == "feature":
            kind, name = c.name.split(":", 1)
            features.append({"kind": kind, "name": name, "action": c.action, "diff": c.diff})
    return {
        "features": {"changes": features},
        "pipelines": [short(c) for c in changes if c.kind == "pipeline"],
        "vectors": [short(c) for c in changes if c.kind == "vector_index"],
    }


def apply_promotion(there: Any, plan: Plan, refused: list[str]) -> dict[str, Any]:
    """Carry out a promotion's plan in the target; the result lists what changed."""
    done = there.platform_code.trusting_code().apply(plan)
    changed = [c.model_dump(mode="json", include={"kind", "name", "action"}) for c in done.pending]
    return {"changes": changed, "refused": refused}
