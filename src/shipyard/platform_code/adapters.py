"""The resource kinds of the platform: teams, principals, quotas, tables, deployments.

Feature definitions, pipelines and monitors reuse their capability's planner
(``planners.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform_code.kinds import Kind, Refs, every, spec_of
from shipyard.platform_code.models import Change, Resource

if TYPE_CHECKING:
    from shipyard.lake.service import LakeService
    from shipyard.quotas.service import QuotaService
    from shipyard.registry.service import RegistryService
    from shipyard.security.service import SecurityService
    from shipyard.serving.service import ServingService

ALL_TEAMS = "*"


class TeamKind(Kind):
    """Teams exist by having roles; declaring one lets others name it before anyone has a role."""

    kind = "team"
    prunable = False
    fingerprinted = False  # derived from principals' roles and owners

    def __init__(self, security: SecurityService) -> None:
        self._security = security

    def current(self) -> dict[str, Any]:
        teams = {t for p in every(self._security.list_principals) for t in p.roles}
        return {t: {} for t in sorted(teams - {ALL_TEAMS})}

    def diff(self, declared: list[Resource], current: dict[str, Any], prune: bool) -> list[Change]:
        return []  # nothing stored: a team is a name that roles, quotas and owners may use


class PrincipalKind(Kind):
    """A declared principal's roles are exactly the ones declared (created if missing).

    Undeclared principals are left alone even with ``--prune``: pruning them would
    revoke the roles of the admin who applies.
    """

    kind = "principal"
    prunable = False

    def __init__(self, security: SecurityService) -> None:
        self._security = security

    def current(self) -> dict[str, Any]:
        return {
            p.name: {"roles": {t: r.value for t, r in sorted(p.roles.items())}}
            for p in every(self._security.list_principals)
        }

    def canonical(self, spec: dict[str, Any]) -> Any:
        return {"roles": dict(sorted((spec.get("roles") or {}).items()))}

    def check(self, r: Resource, refs: Refs) -> None:
        from shipyard._internal.identity import Role

        unknown = set(r.spec) - {"name", "kind", "roles"}
        if unknown:
            raise InvalidArgument(f"principal '{r.name}': unknown field(s) {sorted(unknown)}")
        if r.spec.get("kind", "user") not in ("user", "service"):
            raise InvalidArgument(f"principal '{r.name}': kind must be user or service")
        roles = r.spec.get("roles") or {}
        if not isinstance(roles, dict):
            raise InvalidArgument(f"principal '{r.name}': roles must map a team to a role")
        for team, role in roles.items():
            if role not in {x.value for x in Role}:
                raise InvalidArgument(f"principal '{r.name}': unknown role '{role}'")
            if team != ALL_TEAMS:
                refs.need("team", team, refs.teams)

    def put(self, r: Resource, change: Change) -> None:
        roles: dict[str, str] = dict(r.spec.get("roles") or {})
        if change.action == "create":
            first = next(iter(roles.items()), None)
            self._security.create_principal(
                r.name,
                kind=r.spec.get("kind", "user"),
                team=first[0] if first else None,
                role=first[1] if first else "viewer",
            )
            if first is None:  # created with no role at all
                for team in self._security.get_principal(r.name).roles:
                    self._security.revoke_role(r.name, team=team)
        have: dict[str, str] = {
            t: str(v) for t, v in self._security.get_principal(r.name).roles.items()
        }
        for team, role in roles.items():
            if have.get(team) != role:
                self._security.grant(r.name, team=team, role=role)
        for team in sorted(set(have) - set(roles)):
            self._security.revoke_role(r.name, team=team)


class QuotaKind(Kind):
    """``scope/subject/resource`` -> limit; a limit below what is used now is refused."""

    kind = "quota"

    def __init__(self, quotas: QuotaService) -> None:
        self._quotas = quotas

    def current(self) -> dict[str, Any]:
        return {
            "{}/{}/{}".format(*s.quota.key): {"limit": s.quota.limit}
            for s in every(self._quotas.list_quotas)
        }

    def canonical(self, spec: dict[str, Any]) -> Any:
        return {"limit": spec.get("limit")}

    def declared(self, name: str, stored: Any) -> dict[str, Any] | None:
        scope, subject, resource = name.split("/")
        return {"scope": scope, "subject": subject, "resource": resource, **stored}

    def check(self, r: Resource, refs: Refs) -> None:
        from shipyard.quotas.models import Quota

        q = spec_of(r, Quota, drop=("name",))
        if q.scope.value == "team":
            refs.need("team", q.subject, refs.teams)
        else:
            refs.need("principal", q.subject, refs.principals)
        used = self._quotas.measure(q.scope.value, q.subject, q.resource.value)
        if used is not None and used > q.limit:
            raise InvalidArgument(
                f"quota {r.name}: limit {q.limit} is below what is used now ({used:g})"
            )

    def put(self, r: Resource, change: Change) -> None:
        s = r.spec
        self._quotas.set_quota(s["scope"], s["subject"], s["resource"], s["limit"])

    def delete(self, name: str) -> None:
        scope, subject, resource = name.split("/")
        self._quotas.delete_quota(scope, subject, resource)


class TableKind(Kind):
    """Curated lake tables (``lake.define``); never pruned: a table holds data."""

    kind = "table"
    prunable = False

    def __init__(self, lake: LakeService) -> None:
        self._lake = lake

    def current(self) -> dict[str, Any]:
        out = {}
        for d in every(self._lake.list_definitions):
            out[d.name] = d.model_dump(mode="json")
            if d.owner:
                self.owners[d.name] = d.owner
        return out

    def _definition(self, r: Resource) -> Any:
        from shipyard.lake.models import TableDefinition

        return spec_of(r, TableDefinition)

    def canonical(self, spec: dict[str, Any]) -> Any:
        from shipyard.lake.models import TableDefinition

        return TableDefinition.model_validate(spec).model_dump(mode="json")

    def declared(self, name: str, stored: Any) -> dict[str, Any] | None:
        return stored if stored.get("sql") is not None else None  # functions stay in code

    def check(self, r: Resource, refs: Refs) -> None:
        from shipyard.lake.refresh import sources_of

        d = self._definition(r)
        if d.sql is None:
            raise InvalidArgument(f"table '{r.name}': declare its sql (functions stay in code)")
        if d.owner is not None:
            refs.need("team", d.owner, refs.teams)
        for source in sources_of(d):
            refs.need("table", source, refs.tables)

    def put(self, r: Resource, change: Change) -> None:
        self._lake.define(self._definition(r))


_DEPLOYMENT_FIELDS = ("variants", "feature_service", "entity_keys", "request_fields")


class DeploymentKind(Kind):
    """Deployments and their traffic (the variants' weights); ``owner`` counts at creation."""

    kind = "deployment"

    def __init__(self, serving: ServingService, registry: RegistryService) -> None:
        self._serving = serving
        self._registry = registry

    def current(self) -> dict[str, Any]:
        out = {}
        for d in every(self._serving.list_deployments):
            spec = d.spec.model_dump(mode="json")
            body = {k: spec[k] for k in (*_DEPLOYMENT_FIELDS, "require_features")}
            out[d.name] = {**body, "description": d.description}
            self.owners[d.name] = d.owner
        return out

    def canonical(self, spec: dict[str, Any]) -> Any:
        from shipyard.serving.models import DeploymentSpec

        body = {k: spec[k] for k in _DEPLOYMENT_FIELDS if spec.get(k) is not None}
        full = DeploymentSpec.model_validate(
            {**body, "require_features": bool(spec.get("require_features", False))}
        ).model_dump(mode="json")
        out = {k: full[k] for k in (*_DEPLOYMENT_FIELDS, "require_features")}
        return {**out, "description": spec.get("description", "")}

    def check(self, r: Resource, refs: Refs) -> None:
        from shipyard.serving.models import Variant

        unknown = set(r.spec) - {"name", "owner", "description", "require_features"}
        unknown -= set(_DEPLOYMENT_FIELDS)
        if unknown:
            raise InvalidArgument(f"deployment '{r.name}': unknown field(s) {sorted(unknown)}")
        if r.spec.get("owner") is not None:
            refs.need("team", r.spec["owner"], refs.teams)
        if r.spec.get("feature_service"):
            refs.need("feature service", r.spec["feature_service"], refs.feature_services)
        variants = r.spec.get("variants")
        if not isinstance(variants, list) or not variants:
            raise InvalidArgument(f"deployment '{r.name}': declare its variants")
        for v in variants:
            variant = Variant.model_validate(v) if isinstance(v, dict) else None
            if variant is None:
                raise InvalidArgument(f"deployment '{r.name}': a variant must be a mapping")
            if not self._model_exists(variant):
                raise InvalidArgument(
                    f"deployment '{r.name}': refers to model '{variant.model}', which does not exist"
                )

    def _model_exists(self, v: Any) -> bool:
        name, alias, version = v.parsed_model()
        try:
            if alias is not None:
                self._registry.get_model_version_by_alias(name, alias)
            else:
                self._registry.get_model_version(name, int(version))
        except NotFound:
            return False
        return True

    def put(self, r: Resource, change: Change) -> None:
        from shipyard.serving.models import Variant

        s = r.spec
        self._serving.apply_deployment(
            r.name,
            variants=[Variant.model_validate(v) for v in s["variants"]],
            feature_service=s.get("feature_service"),
            entity_keys=s.get("entity_keys") or [],
            request_fields=s.get("request_fields") or {},
            require_features=bool(s.get("require_features", False)),
            owner=s.get("owner"),
            description=s.get("description", ""),
        )

    def delete(self, name: str) -> None:
        self._serving.delete_deployment(name)
