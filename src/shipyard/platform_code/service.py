"""``PlatformCodeService``: ``shipyard plan`` / ``apply`` over every resource kind.

One orchestrating layer over the capabilities' own services and planners: it
reads the current state of each kind, checks every declared reference at plan
time (naming the file and line), diffs, and applies in dependency order. The plan
is a JSON document carrying a fingerprint of the state it was made against.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import Conflict, InvalidArgument, NotFound, ShipyardError
from shipyard.platform_code.adapters import (
    ALL_TEAMS,
    DeploymentKind,
    PrincipalKind,
    QuotaKind,
    TableKind,
    TeamKind,
)
from shipyard.platform_code.kinds import Kind, Refs, every
from shipyard.platform_code.models import KIND_ORDER, Change, Desired, Plan, Resource
from shipyard.platform_code.planners import FeatureKind, MonitorKind, PipelineKind, VectorKind
from shipyard.security.models import Permission

if TYPE_CHECKING:
    from shipyard.features.service import FeatureService
    from shipyard.lake.service import LakeService
    from shipyard.pipelines.pipeline_service import PipelineService
    from shipyard.quotas.service import QuotaService
    from shipyard.registry.service import RegistryService
    from shipyard.security.service import SecurityService
    from shipyard.serving.service import ServingService
    from shipyard.vectors.service import VectorService

#: Kinds only an admin of every team may change.
ADMIN_KINDS = ("principal", "quota")


class PlatformCodeService(Service):
    """Plan and apply the project's declared platform, acting for one principal."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        security: Callable[[], SecurityService],
        quotas: Callable[[], QuotaService],
        lake: Callable[[], LakeService],
        features: Callable[[], FeatureService],
        pipelines: Callable[[], PipelineService],
        serving: Callable[[], ServingService],
        registry: Callable[[], RegistryService],
        vectors: Callable[[], VectorService],
    ) -> None:
        super().__init__(ctx)
        self._security = security
        self._quotas = quotas
        self._lake = lake
        self._features = features
        self._pipelines = pipelines
        self._serving = serving
        self._registry = registry
        self._vectors = vectors
        self._allow_code = False

    def trusting_code(self) -> PlatformCodeService:
        """This service, planning on-demand feature views' code too (service-only).

        For environment promotion, whose definitions come from the source
        environment's own catalog; never for what arrives over the wire.
        """
        other = copy.copy(self)
        other._allow_code = True
        return other

    def _kinds(self) -> dict[str, Kind]:
        kinds: list[Kind] = [
            TeamKind(self._security()),
            PrincipalKind(self._security()),
            QuotaKind(self._quotas()),
            TableKind(self._lake()),
            FeatureKind(self._features(), allow_code=self._allow_code),
            PipelineKind(self._pipelines()),
            MonitorKind(self._pipelines()),
            DeploymentKind(self._serving(), self._registry()),
            VectorKind(self._vectors(), self._lake()),
        ]
        return {k.kind: k for k in kinds}

    # -- plan ------------------------------------------------------------------------

    def plan(self, desired: Desired, *, prune: bool = False) -> Plan:
        """What ``apply`` would create, update or (with ``prune``) delete, as a saved plan.

        Raises:
            InvalidArgument: an unknown resource kind, a malformed resource, a reference
                to something that does not exist, a quota below what is used now; the
                message starts with the declaring ``file:line``.
        """
        return self._plan(Desired.model_validate(desired), prune, None)[0]

    def plan_kinds(self, desired: Desired, kinds: list[str]) -> Plan:
        """``plan`` of ``kinds`` only: the others are neither changed nor fingerprinted.

        Service-only: environment promotion plans the promoted kinds this way, so a
        principal created in the target meanwhile does not make its plan stale.
        """
        return self._plan(Desired.model_validate(desired), False, list(kinds))[0]

    def export(self, kinds: list[str], *, origin: str) -> Desired:
        """The current state of ``kinds`` as the resources a file would declare (service-only).

        Each resource's ``source`` is ``<origin>/<kind>/<name>``, so a refusal names it.
        What cannot be declared (a table defined by a function) is left out.
        """
        self._ctx.require(Permission.READ, self._ctx.default_team, action="platform.export")
        everything = self._kinds()
        out = []
        for name in _known(kinds, everything):
            kind = everything[name]
            for key, stored in sorted(kind.current().items()):
                spec = kind.declared(key, stored)
                if spec is not None:
                    where = f"{origin}/{name}/{key}"
                    out.append(Resource(kind=name, name=key, spec=spec, source=where))
        return Desired(resources=out)

    def _plan(
        self, desired: Desired, prune: bool, only: list[str] | None
    ) -> tuple[Plan, dict[str, Kind]]:
        # The plan reads the whole platform, principals included (as list_principals does).
        self._ctx.require(Permission.READ, self._ctx.default_team, action="platform.plan")
        kinds = self._kinds()
        _check_unique(desired, kinds)
        planned = _known(only, kinds) if only is not None else list(KIND_ORDER)
        if any(r.kind not in planned for r in desired.resources):
            raise InvalidArgument(f"this plan covers only {', '.join(planned)}")
        current = {name: k.current() for name, k in kinds.items()}
        refs = self._refs(desired, current, kinds)
        for k in kinds.values():
            k.refs = refs
        for r in desired.resources:
            _at(r, lambda r=r: kinds[r.kind].check(r, refs))  # type: ignore[misc]
        changes: list[Change] = []
        for name in planned:
            changes += _planned(kinds[name], desired.of(name), current[name], prune)
        plan = Plan(
            fingerprint=_fingerprint({n: current[n] for n in planned if kinds[n].fingerprinted}),
            prune=prune,
            kinds=only,
            changes=changes,
            desired=desired,
        )
        return plan, kinds

    def _refs(
        self, desired: Desired, current: dict[str, dict[str, Any]], kinds: dict[str, Kind]
    ) -> Refs:
        def names(kind: str) -> set[str]:
            return {r.name for r in desired.of(kind)} | set(current[kind])

        services = {
            n.split(":", 1)[1] for n in names("feature") if n.startswith("feature_service:")
        }
        tables = list(every(self._lake().list_tables))
        # A team exists once someone has a role there or it owns something.
        owners = {t.owner for t in tables} | {o for k in kinds.values() for o in k.owners.values()}
        return Refs(
            teams=names("team") | owners | {self._ctx.default_team},
            principals=names("principal"),
            tables={t.name for t in tables} | names("table"),
            deployments=names("deployment"),
            feature_services=services,
            deployment_inputs=_deployment_inputs(desired, current),
        )

    # -- apply -----------------------------------------------------------------------

    def apply(self, plan: Plan) -> Plan:
        """Carry out a saved plan; returns the changes made (none: already applied).

        Raises:
            Conflict: the platform's state changed since the plan was made, and the
                plan's changes are not all in place already (plan again).
            PermissionDenied: a change to roles or quotas by a non-admin, or to a
                resource of a team the caller may not write; nothing is changed.
        """
        plan = Plan.model_validate(plan)
        fresh, kinds = self._plan(plan.desired, plan.prune, plan.kinds)
        if fresh.fingerprint != plan.fingerprint:
            if not fresh.pending:
                return fresh  # already applied: a second apply changes nothing
            raise Conflict(
                "the platform changed since this plan was made; run `shipyard plan` again",
                planned=plan.fingerprint,
                current=fresh.fingerprint,
            )
        if not fresh.pending:
            return fresh
        self._authorize(fresh.pending, plan.desired, kinds)
        by_kind = {name: [c for c in fresh.pending if c.kind == name] for name in KIND_ORDER}
        for name in KIND_ORDER:  # creations and updates, dependencies first
            kind = kinds[name]
            todo = [c for c in by_kind[name] if kind.grouped or c.action != "delete"]
            if todo:
                kind.apply(todo, plan.desired.of(name))
        for name in reversed(KIND_ORDER):  # deletions, dependants first
            gone = [c for c in by_kind[name] if c.action == "delete"]
            if gone and not kinds[name].grouped:
                kinds[name].apply(gone, plan.desired.of(name))
        return fresh

    def _authorize(self, pending: list[Change], desired: Desired, kinds: dict[str, Kind]) -> None:
        """Every change is allowed before the first one is made (no half-applied plan)."""
        me = self.principal
        if me.is_admin:
            return
        for c in pending:
            if c.kind in ADMIN_KINDS:
                self._ctx.require(Permission.ADMIN, ALL_TEAMS, action=f"platform.apply.{c.kind}")
        declared = {(r.kind, r.name): r for r in desired.resources}
        for c in pending:
            if c.kind in ADMIN_KINDS:
                continue
            stored = kinds[c.kind].owners.get(c.name)
            r = declared.get((c.kind, c.name))
            wanted = r.spec.get("owner") if r is not None else None
            asset = f"{c.kind}:{c.name}"
            self._ctx.require_owner(stored, wanted, action="platform.apply", asset=asset)


def _known(names: list[str], kinds: dict[str, Kind]) -> list[str]:
    """``names`` in apply order; an unknown one is refused."""
    unknown = sorted(set(names) - set(kinds))
    if unknown:
        raise InvalidArgument(f"unknown resource kind(s) {unknown}")
    return [n for n in KIND_ORDER if n in names]


def _fingerprint(current: dict[str, dict[str, Any]]) -> str:
    body = json.dumps(current, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _check_unique(desired: Desired, kinds: dict[str, Kind]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for r in desired.resources:
        if r.kind not in kinds:
            raise InvalidArgument(f"{r.source or r.name}: unknown resource kind '{r.kind}'")
        other = seen.setdefault((r.kind, r.name), r.source)
        if other != r.source:
            raise InvalidArgument(f"{r.source}: {r.kind} '{r.name}' is also declared at {other}")


def _at(r: Resource, check: Callable[[], None]) -> None:
    """Run ``check``; a refusal names the place the resource was declared."""
    try:
        check()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidArgument(f"{r.source}: {r.kind} '{r.name}': {where}: {err['msg']}") from None
    except ShipyardError as exc:
        if isinstance(exc, InvalidArgument | NotFound):
            raise InvalidArgument(f"{r.source}: {exc.message}", **exc.details) from None
        raise


def _planned(
    kind: Kind, declared: list[Resource], current: dict[str, Any], prune: bool
) -> list[Change]:
    """``kind.diff``; a capability planner's refusal is placed at the resource it names."""
    try:
        return kind.diff(declared, current, prune)
    except (InvalidArgument, NotFound) as exc:
        if any(r.source and exc.message.startswith(r.source + ":") for r in declared):
            raise
        named = [r for r in declared if _mentions(exc.message, r.name)] or declared[:1]
        if not named or (len(declared) > 1 and not _mentions(exc.message, named[0].name)):
            raise
        raise InvalidArgument(f"{named[0].source}: {exc.message}", **exc.details) from None
    except ValidationError as exc:
        first = declared[0] if declared else None
        where = f"{first.source}: " if first else ""
        raise InvalidArgument(f"{where}{exc.errors()[0]['msg']}") from None


def _mentions(message: str, name: str) -> bool:
    short = name.split(":", 1)[-1]
    return any(q in message for q in (f"'{short}'", f"{short}:", f" {short} "))


def _deployment_inputs(desired: Desired, current: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Per deployment (declared, else current), the feature names its log rows carry."""
    feats = dict(current.get("feature", {}))
    feats.update({r.name: r.spec for r in desired.of("feature")})
    deps = dict(current.get("deployment", {}))
    deps.update({r.name: r.spec for r in desired.of("deployment")})
    out: dict[str, set[str]] = {}
    for name, spec in deps.items():
        names = set(spec.get("request_fields") or {}) | set(spec.get("entity_keys") or [])
        service = feats.get(f"feature_service:{spec.get('feature_service')}") or {}
        for ref in (service.get("spec") or {}).get("features") or []:
            view, _, feature = str(ref).partition(":")
            if feature != "*":
                names.add(feature)
                continue
            for kind in ("feature_view", "on_demand_feature_view"):
                body = (feats.get(f"{kind}:{view}") or {}).get("spec") or {}
                names |= {str(f.get("name")) for f in body.get("features") or []}
        out[name] = names
    return out
