"""Definitions in the catalog: load them, resolve feature refs, diff a desired state.

Each definition is a catalog asset whose ``properties["spec"]`` is its
``to_spec()``; a changed spec is a new asset version. ``plan`` compares the
definitions a user declares with the catalog and marks the changes that break
readers (a type change, a feature or view removed while a feature service or a
deployment uses it).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from shipyard.catalog.store import SqlCatalogStore
from shipyard.errors import InvalidArgument, NotFound
from shipyard.features.models import (
    DEFINITION_KINDS,
    Entity,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
)

#: Order in which kinds are created (and, reversed, deleted).
KIND_ORDER = ("entity", "feature_view", "on_demand_feature_view", "feature_service")


@dataclass
class Definitions:
    """Every feature definition of the project, by kind and name."""

    entities: dict[str, Entity] = field(default_factory=dict)
    views: dict[str, FeatureView] = field(default_factory=dict)
    odfvs: dict[str, OnDemandFeatureView] = field(default_factory=dict)
    services: dict[str, FeatureService] = field(default_factory=dict)
    versions: dict[tuple[str, str], int] = field(default_factory=dict)

    def by_kind(self, kind: str) -> dict[str, Any]:
        kinds: dict[str, dict[str, Any]] = {
            "entity": self.entities,
            "feature_view": self.views,
            "on_demand_feature_view": self.odfvs,
            "feature_service": self.services,
        }
        return kinds[kind]

    def all(self) -> list[Any]:
        return [d for k in KIND_ORDER for d in self.by_kind(k).values()]

    def add(self, obj: Any) -> None:
        self.by_kind(obj.kind)[obj.name] = obj

    def join_keys(self, view: FeatureView) -> list[str]:
        keys: list[str] = []
        for name in view.entities:
            entity = self.entities.get(name)
            if entity is None:
                raise InvalidArgument(
                    f"feature view '{view.name}' uses entity '{name}', which is not defined"
                    + suggest(name, self.entities),
                    view=view.name,
                    entity=name,
                )
            keys += [k for k in entity.join_keys if k not in keys]
        return keys

    def view_features(self, name: str) -> list[str]:
        if name in self.views:
            return self.views[name].feature_names
        if name in self.odfvs:
            return self.odfvs[name].feature_names
        raise NotFound(
            f"no feature view named '{name}'" + suggest(name, [*self.views, *self.odfvs]),
            view=name,
        )


def suggest(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def load(conn: Connection, catalog: SqlCatalogStore) -> Definitions:
    """Read every definition from the catalog."""
    defs = Definitions()
    for kind in KIND_ORDER:
        cls = DEFINITION_KINDS[kind]
        for asset in catalog.search(conn, kind=kind, limit=1_000_000):
            spec = asset.properties.get("spec")
            if spec is None:
                continue
            defs.add(cls.from_spec(asset.name, spec, asset.owner, asset.tags))
            defs.versions[(kind, asset.name)] = asset.version
    return defs


def resolve(
    defs: Definitions, features: list[str] | None, feature_service: str | None
) -> list[tuple[str, str]]:
    """Turn feature refs (``view:feature``, ``view:*``) or a service into (view, feature) pairs.

    Raises:
        InvalidArgument: neither or both given, or a ref without a colon.
        NotFound: an unknown view, feature or service (the message suggests near names).
    """
    if (features is None) == (feature_service is None):
        raise InvalidArgument("pass exactly one of features= or feature_service=")
    if feature_service is not None:
        svc = defs.services.get(feature_service)
        if svc is None:
            raise NotFound(
                f"no feature service named '{feature_service}'"
                + suggest(feature_service, defs.services),
                feature_service=feature_service,
            )
        refs = svc.refs()
    else:
        refs = [f"{r.name}:*" if isinstance(r, FeatureView) else r for r in features or []]
    if not refs:
        raise InvalidArgument("no features requested")
    out: list[tuple[str, str]] = []
    for ref in refs:
        view, sep, feat = ref.partition(":")
        if not sep:
            raise InvalidArgument(f"feature ref {ref!r} must look like 'view:feature'", ref=ref)
        names = defs.view_features(view)
        if feat == "*":
            picked = names
        elif feat in names:
            picked = [feat]
        else:
            raise NotFound(
                f"feature view '{view}' has no feature '{feat}'" + suggest(feat, names),
                ref=ref,
            )
        out += [(view, f) for f in picked if (view, f) not in out]
    return out


# -- plan -----------------------------------------------------------------------------------


@dataclass
class Change:
    kind: str
    name: str
    action: str  # create | update | delete | unchanged
    diff: list[str] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "diff": self.diff,
            "breaking": self.breaking,
        }


@dataclass
class Plan:
    changes: list[Change]

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]

    def to_dict(self) -> dict[str, Any]:
        return {"changes": [c.to_dict() for c in self.changes]}


def _spec_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key) and key != "function"
    ] + (["function changed"] if old.get("function") != new.get("function") else [])


def _users(defs: Definitions, view: str, feature: str | None) -> list[str]:
    """Feature services (and on-demand views) of ``defs`` that read ``view[:feature]``."""
    out = []
    for svc in defs.services.values():
        for ref in svc.refs():
            v, _, f = ref.partition(":")
            if v == view and (feature is None or f in ("*", feature)):
                out.append(f"feature_service:{svc.name}")
                break
    for odfv in defs.odfvs.values():
        if any(i.partition(":")[0] == view for i in odfv.inputs):
            out.append(f"on_demand_feature_view:{odfv.name}")
    return out


def _view_breaks(old: FeatureView, new: FeatureView, after: Definitions) -> list[str]:
    reasons = []
    old_types = {f.name: f.dtype for f in old.features}
    new_types = {f.name: f.dtype for f in new.features}
    for name, dtype in old_types.items():
        users = _users(after, new.name, name)
        if name not in new_types and users:
            reasons.append(f"removes feature '{name}', used by {', '.join(users)}")
        elif name in new_types and new_types[name] != dtype:
            who = f", used by {', '.join(users)}" if users else ""
            reasons.append(f"changes the type of '{name}' from {dtype} to {new_types[name]}{who}")
    if old.entities != new.entities:
        reasons.append(f"changes the entities from {old.entities} to {new.entities}")
    return reasons


def plan(
    current: Definitions,
    desired: list[Any],
    *,
    prune: bool,
    deployments: dict[str, list[str]],
) -> tuple[Plan, Definitions]:
    """Diff ``desired`` against ``current``; return the plan and the state after it."""
    after = Definitions(**{k: dict(v) for k, v in vars(current).items()})
    declared: set[tuple[str, str]] = set()
    for obj in desired:
        if not hasattr(obj, "kind") or obj.kind not in DEFINITION_KINDS:
            raise InvalidArgument(f"cannot apply {obj!r}: not a feature definition")
        if (obj.kind, obj.name) in declared:
            raise InvalidArgument(f"{obj.kind} '{obj.name}' is declared twice")
        declared.add((obj.kind, obj.name))
        after.add(obj)
    removed = []
    if prune:
        for kind in KIND_ORDER:
            for name in list(current.by_kind(kind)):
                if (kind, name) not in declared:
                    removed.append((kind, name))
                    del after.by_kind(kind)[name]
    changes = [_change(current, after, obj) for obj in desired]
    for kind, name in removed:
        changes.append(
            Change(kind, name, "delete", breaking=_delete_breaks(kind, name, after, deployments))
        )
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    changes.sort(key=lambda c: (c.action == "delete", order[c.kind], c.name))
    return Plan(changes), after


def _change(current: Definitions, after: Definitions, obj: Any) -> Change:
    old = current.by_kind(obj.kind).get(obj.name)
    if old is None:
        return Change(obj.kind, obj.name, "create")
    old_spec, new_spec = old.to_spec(), obj.to_spec()
    moved = bool(obj.owner) and obj.owner != old.owner
    if old_spec == new_spec and old.tags == obj.tags and not moved:
        return Change(obj.kind, obj.name, "unchanged")
    diff = _spec_diff(old_spec, new_spec)
    if moved:
        diff.append(f"owner: {old.owner!r} -> {obj.owner!r}")
    diff = diff or ["tags changed"]
    breaking: list[str] = []
    if obj.kind == "feature_view":
        breaking = _view_breaks(old, obj, after)
    elif obj.kind == "entity" and old.join_keys != obj.join_keys:
        users = [f"feature_view:{v.name}" for v in after.views.values() if obj.name in v.entities]
        if users:
            breaking.append(f"changes the join keys, used by {', '.join(users)}")
    return Change(obj.kind, obj.name, "update", diff=diff, breaking=breaking)


def _delete_breaks(
    kind: str, name: str, after: Definitions, deployments: dict[str, list[str]]
) -> list[str]:
    if kind in ("feature_view", "on_demand_feature_view"):
        users = _users(after, name, None)
        return [f"deletes the view, used by {', '.join(users)}"] if users else []
    if kind == "feature_service" and deployments.get(name):
        return [f"deletes the service, used by {', '.join(deployments[name])}"]
    return []


def check_consistent(defs: Definitions, *, readers: bool = True) -> None:
    """Every reference of the state resolves (views to entities, services to features)."""
    for view in defs.views.values():
        defs.join_keys(view)
    if not readers:
        return
    for odfv in defs.odfvs.values():
        for ref in odfv.inputs:
            if ":" in ref:
                resolve(defs, [ref], None)
    for svc in defs.services.values():
        resolve(defs, svc.refs(), None)
