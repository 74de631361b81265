"""Kinds whose capability already plans: feature definitions, pipelines, and monitors.

These hand the declared resources to ``features.plan``/``apply`` and
``pipelines.plan``/``apply`` and only translate the result. A monitor is a
scheduled ``monitoring.report`` pipeline (tagged ``monitor``), so it rides the
pipeline planner too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from shipyard.errors import InvalidArgument
from shipyard.platform_code.kinds import Kind, Refs, every
from shipyard.platform_code.models import Action, Change, Resource

if TYPE_CHECKING:
    from shipyard.features.service import FeatureService
    from shipyard.pipelines.pipeline_service import PipelineService

MONITOR_TAG = "monitor"


class FeatureKind(Kind):
    """Entities, feature views and feature services (``name`` is ``kind:name``)."""

    kind = "feature"
    grouped = True

    def __init__(self, features: FeatureService) -> None:
        self._features = features

    def current(self) -> dict[str, Any]:
        from shipyard.features.wire import definition_to_wire

        out = {}
        for d in every(self._features.list_definitions):
            out[f"{d.kind}:{d.name}"] = definition_to_wire(d)
            if d.owner:
                self.owners[f"{d.kind}:{d.name}"] = d.owner
        return out

    @staticmethod
    def _objects(declared: list[Resource]) -> list[Any]:
        from shipyard.features.wire import definition_from_wire

        return [definition_from_wire(r.spec) for r in declared]

    def diff(self, declared: list[Resource], current: dict[str, Any], prune: bool) -> list[Change]:
        if not declared and not (prune and current):
            return []
        plan = self._features.plan(self._objects(declared), prune=prune)
        sources = {r.name: r.source for r in declared}
        out = []
        for c in plan.changes:
            name = f"{c.kind}:{c.name}"
            diff = list(c.diff) + [f"breaking: {b}" for b in c.breaking]
            out.append(
                Change(
                    kind=self.kind,
                    name=name,
                    action=cast(Action, c.action),
                    diff=diff,
                    source=sources.get(name, ""),
                )
            )
        return out

    def apply(self, changes: list[Change], declared: list[Resource]) -> None:
        prune = any(c.action == "delete" for c in changes)
        self._features.apply(self._objects(declared), prune=prune)


class PipelineKind(Kind):
    """Pipelines and their schedules; ``--prune`` pauses (runs and history are kept)."""

    kind = "pipeline"

    def __init__(self, pipelines: PipelineService) -> None:
        self._pipelines = pipelines

    def _mine(self, info: Any) -> bool:
        return MONITOR_TAG not in (info.spec.get("tags") or [])

    def current(self) -> dict[str, Any]:
        out = {}
        for p in self._pipelines.list():
            if self._mine(p):
                out[p.name] = {"spec": p.spec, "paused": p.paused}
                self.owners[p.name] = p.owner
        return out

    def spec(self, r: Resource) -> dict[str, Any]:
        return r.spec

    def diff(self, declared: list[Resource], current: dict[str, Any], prune: bool) -> list[Change]:
        out = [self._one(r, current) for r in declared]
        if prune:
            names = {r.name for r in declared}
            out += [
                Change(kind=self.kind, name=n, action="delete", diff=["paused, not deleted"])
                for n, have in sorted(current.items())
                if n not in names and not have["paused"]
            ]
        return out

    def _one(self, r: Resource, current: dict[str, Any]) -> Change:
        try:
            (p,) = self._pipelines.plan([self.spec(r)])
        except InvalidArgument as exc:
            # A table declared beside the pipeline is defined first at apply; the
            # pipeline planner checks it then.
            missing = exc.message.rsplit("unknown table ", 1)
            if len(missing) == 1 or missing[1] not in self.refs.tables:
                raise
            action: Action = "update" if r.name in current else "create"
            note = f"checked at apply, once table {missing[1]} is defined"
            return Change(kind=self.kind, name=r.name, action=action, diff=[note], source=r.source)
        return Change(
            kind=self.kind,
            name=p["name"],
            action=cast(Action, p["action"]),
            diff=p["diff"],
            source=r.source,
        )

    def apply(self, changes: list[Change], declared: list[Resource]) -> None:
        wanted = {c.name for c in changes if c.action in ("create", "update")}
        specs = [self.spec(r) for r in declared if r.name in wanted]
        if specs:
            self._pipelines.apply(specs)
        for c in changes:
            if c.action == "delete":
                self._pipelines.pause(c.name)


class MonitorKind(PipelineKind):
    """``{deployment, schedule}``: a drift and performance report on a cron schedule."""

    kind = "monitor"

    def _mine(self, info: Any) -> bool:
        return not super()._mine(info)

    def check(self, r: Resource, refs: Refs) -> None:
        unknown = set(r.spec) - {"name", "deployment", "schedule", "timezone", "owner"}
        if unknown:
            raise InvalidArgument(f"monitor '{r.name}': unknown field(s) {sorted(unknown)}")
        refs.need("deployment", r.spec.get("deployment"), refs.deployments)
        if not isinstance(r.spec.get("schedule"), str):
            raise InvalidArgument(f"monitor '{r.name}': schedule must be a cron expression")
        if r.spec.get("owner") is not None:
            refs.need("team", r.spec["owner"], refs.teams)

    def spec(self, r: Resource) -> dict[str, Any]:
        s = r.spec
        return {
            "name": r.name,
            "owner": s.get("owner"),
            "description": f"monitor of deployment {s['deployment']}",
            "steps": [
                {
                    "name": "report",
                    "action": "monitoring.report",
                    "args": {"deployment": s["deployment"]},
                }
            ],
            "schedule": {"cron": s["schedule"], "timezone": s.get("timezone", "UTC")},
            "tags": [MONITOR_TAG],
        }
