"""Kinds whose capability already plans: features, pipelines, monitors, vector indexes.

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
    from shipyard.lake.service import LakeService
    from shipyard.pipelines.pipeline_service import PipelineService
    from shipyard.vectors.service import VectorService

MONITOR_TAG = "monitor"


class FeatureKind(Kind):
    """Entities, feature views and feature services (``name`` is ``kind:name``)."""

    kind = "feature"
    grouped = True

    def __init__(self, features: FeatureService, *, allow_code: bool = False) -> None:
        self._features = features
        #: On-demand views carry Python code: only a promotion, whose definitions come
        #: from the source environment's own catalog, may plan them (never the wire).
        self._allow_code = allow_code

    def current(self) -> dict[str, Any]:
        from shipyard.features.wire import definition_to_wire

        out = {}
        for d in every(self._features.list_definitions):
            out[f"{d.kind}:{d.name}"] = definition_to_wire(d)
            if d.owner:
                self.owners[f"{d.kind}:{d.name}"] = d.owner
        return out

    def declared(self, name: str, stored: Any) -> dict[str, Any] | None:
        return dict(stored)

    def _objects(self, declared: list[Resource]) -> list[Any]:
        from shipyard.features.wire import definition_from_wire

        return [definition_from_wire(r.spec, allow_code=self._allow_code) for r in declared]

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

    def declared(self, name: str, stored: Any) -> dict[str, Any] | None:
        return dict(stored["spec"])  # paused or not is each environment's own

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
    """``{deployment, schedule}`` and optionally ``window_seconds``, ``thresholds``
    (``psi``, ``js``, ``ks``, ``pvalue``, ``min_rows``) and ``features``: a drift run and
    the A/B report of the deployment on a cron schedule (docs/monitoring.md#monitors)."""

    kind = "monitor"
    FIELDS = ("deployment", "schedule", "timezone", "window_seconds", "thresholds", "features")

    def _mine(self, info: Any) -> bool:
        return not super()._mine(info)

    def check(self, r: Resource, refs: Refs) -> None:
        from shipyard.monitoring.models import Thresholds

        unknown = set(r.spec) - {"name", "owner", *self.FIELDS}
        if unknown:
            raise InvalidArgument(f"monitor '{r.name}': unknown field(s) {sorted(unknown)}")
        deployment = r.spec.get("deployment")
        refs.need("deployment", deployment, refs.deployments)
        if not isinstance(r.spec.get("schedule"), str):
            raise InvalidArgument(f"monitor '{r.name}': schedule must be a cron expression")
        if r.spec.get("owner") is not None:
            refs.need("team", r.spec["owner"], refs.teams)
        window = r.spec.get("window_seconds", 3600)
        if isinstance(window, bool) or not isinstance(window, int | float):
            raise InvalidArgument(f"monitor '{r.name}': window_seconds must be a number")
        if not 0 < window <= 366 * 86400:
            raise InvalidArgument(f"monitor '{r.name}': window_seconds must be in (0, 366 days]")
        limits = r.spec.get("thresholds")
        if limits is not None:
            if not isinstance(limits, dict):
                raise InvalidArgument(f"monitor '{r.name}': thresholds must be a mapping")
            try:
                Thresholds.merged({}, limits)
            except InvalidArgument as exc:
                raise InvalidArgument(f"monitor '{r.name}': {exc.message}") from None
        self._check_features(r, refs.deployment_inputs.get(str(deployment), set()))

    @staticmethod
    def _check_features(r: Resource, known: set[str]) -> None:
        features = r.spec.get("features")
        if features is None:
            return
        if not isinstance(features, list) or not features:
            raise InvalidArgument(f"monitor '{r.name}': features must be a non-empty list")
        missing = sorted(str(f) for f in features if f not in known)
        if missing:
            raise InvalidArgument(
                f"monitor '{r.name}': unknown feature(s) {missing} of deployment "
                f"'{r.spec['deployment']}' (it logs {sorted(known)})"
            )

    def declared(self, name: str, stored: Any) -> dict[str, Any] | None:
        spec = stored["spec"]
        schedule = spec.get("schedule") or {}
        if isinstance(schedule, str):
            schedule = {"cron": schedule}
        steps = spec.get("steps") or [{}]
        args = dict(steps[0].get("args") or {})
        out = {
            "name": name,
            "deployment": args.pop("deployment", None),
            "schedule": schedule.get("cron"),
            "timezone": schedule.get("timezone") or "UTC",
            **args,
        }
        return {**out, "owner": spec["owner"]} if spec.get("owner") else out

    def spec(self, r: Resource) -> dict[str, Any]:
        s = r.spec
        drift = {"deployment": s["deployment"]}
        drift.update({k: s[k] for k in ("window_seconds", "thresholds", "features") if k in s})
        return {
            "name": r.name,
            "owner": s.get("owner"),
            "description": f"monitor of deployment {s['deployment']}",
            "steps": [
                {"name": "drift", "action": "monitoring.drift", "args": drift},
                {
                    "name": "report",
                    "action": "monitoring.report",
                    "args": {"deployment": s["deployment"]},
                },
            ],
            "schedule": {"cron": s["schedule"], "timezone": s.get("timezone", "UTC")},
            "tags": [MONITOR_TAG],
        }


class VectorKind(Kind):
    """Vector index definitions (``vectors.apply``); never pruned: an index holds a build."""

    kind = "vector_index"
    prunable = False

    def __init__(self, vectors: VectorService, lake: LakeService) -> None:
        self._vectors = vectors
        self._lake = lake

    def current(self) -> dict[str, Any]:
        out = {}
        for info in self._vectors.list():
            out[info.name] = info.spec.model_dump(mode="json")
            self.owners[info.name] = info.owner
        return out

    def canonical(self, spec: dict[str, Any]) -> Any:
        from shipyard.vectors.models import VectorIndexSpec

        return VectorIndexSpec.parse({**spec}).model_dump(mode="json")

    def declared(self, name: str, stored: Any) -> dict[str, Any] | None:
        return dict(stored)  # the owner is the source table's

    def check(self, r: Resource, refs: Refs) -> None:
        from shipyard.errors import NotFound

        table = r.spec.get("table")
        try:
            self._lake.get_table(str(table))
        except NotFound:
            raise InvalidArgument(
                f"vector index '{r.name}' needs table '{table}', which does not exist here"
            ) from None
        self._vectors.plan([r.spec])  # columns, types and dimension (one line naming it)

    def apply(self, changes: list[Change], declared: list[Resource]) -> None:
        by_name = {r.name: r for r in declared}
        specs = [by_name[c.name].spec for c in changes if c.action in ("create", "update")]
        if specs:
            self._vectors.apply(specs)
