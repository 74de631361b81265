"""Platform actions a pipeline step can run, checked at plan time, run by workers.

A step job runs ``run_action`` (always allowed, like the built-ins): it opens the
project's platform as the principal who started the run, so the action is
authorized and audited like the same call from the SDK. Every action is idempotent
on retry (a refresh or materialization of the same inputs writes nothing new).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.pipelines.functions import job

#: A project's platform as the actions see it. This package must not import
#: ``shipyard.platform`` (the composition root builds its services: a package circle),
#: so the root is typed loosely here and opened through ``open_root``.
Platform = Any

#: Opens a project's root platform: ``Platform.open``, set by ``shipyard.platform``
#: when it is imported (``import shipyard`` does that, in a worker and in a
#: subprocess step alike).
open_root: Callable[[str], Any] | None = None

TARGET = "shipyard.pipelines.actions:run_action"


@dataclass(frozen=True)
class Action:
    """``required``/``optional`` argument names; ``tables``: arguments naming lake tables
    (checked at plan time); ``writes``: the asset a run of it writes (lineage)."""

    run: Callable[..., Any]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    writes: Callable[[dict[str, Any]], list[str]] = field(default=lambda a: [])


def _refresh(p: Platform, table: str, full: bool = False) -> Any:
    r = p.lake.refresh(table, full=full)
    return r.model_dump(mode="json") if hasattr(r, "model_dump") else str(r)


def _refresh_all(p: Platform, full: bool = False) -> Any:
    return [getattr(r, "table", str(r)) for r in p.lake.refresh_all(full=full)]


def _apply_changes(
    p: Platform, table: str, source: str, keys: list[str], sequence_by: str, **kw: Any
) -> Any:
    changes = p.lake.sql(f"SELECT * FROM {source}")
    r = p.lake.apply_changes(table, changes, keys=keys, sequence_by=sequence_by, **kw)
    return r.model_dump(mode="json") if hasattr(r, "model_dump") else str(r)


def _materialize(p: Platform, views: list[str] | None = None) -> Any:
    return [r.to_dict() for r in p.features.materialize(views or None)]


def _training_set(p: Platform, name: str, **kw: Any) -> Any:
    if "entity_source" in kw:
        kw["entity_df"] = p.lake.sql(f"SELECT * FROM {kw.pop('entity_source')}")
        ts = p.features.create_training_set(name, **kw)
        return {"name": ts.name, "version": ts.version}
    p.features.rebuild_training_set(name)
    return {"name": name}


def _register(p: Platform, name: str, source: str, **kw: Any) -> Any:
    mv = p.registry.register_model(name, source, **kw)
    return {"name": mv.name, "version": mv.version}


def _promote(
    p: Platform, name: str, alias: str, version: int | None = None, inputs: Any = None
) -> Any:
    if version is None:  # the version an upstream register step made
        found = [v for v in (inputs or {}).values() if isinstance(v, dict) and "version" in v]
        if not found:
            raise InvalidArgument(
                f"promote {name}@{alias}: no version given or registered upstream"
            )
        version = int(found[-1]["version"])
    req = p.registry.set_alias(name, alias, version)
    return {"name": name, "alias": alias, "version": version, "status": str(req.status)}


def _score(p: Platform, model: str, source: str, output: str, **kw: Any) -> Any:
    r = p.serving.score_table(model, source, output, **kw)
    return r.model_dump(mode="json") if hasattr(r, "model_dump") else str(r)


def _report(p: Platform, deployment: str) -> Any:
    r = p.serving.get_report(deployment)
    return r.model_dump(mode="json") if hasattr(r, "model_dump") else str(r)


ACTIONS: dict[str, Action] = {
    "lake.refresh": Action(
        _refresh, ("table",), ("full",), ("table",), lambda a: [f"table:{a['table']}"]
    ),
    "lake.refresh_all": Action(_refresh_all, (), ("full",)),
    "lake.apply_changes": Action(
        _apply_changes,
        ("table", "source", "keys", "sequence_by"),
        ("operation_column", "delete_value", "batch_id"),
        ("table", "source"),
        lambda a: [f"table:{a['table']}"],
    ),
    "features.materialize": Action(_materialize, (), ("views",)),
    "features.training_set": Action(
        _training_set,
        ("name",),
        ("entity_source", "features", "feature_service", "timestamp_column", "owner"),
        ("entity_source",),
        lambda a: [f"training_set:{a['name']}"],
    ),
    "registry.register": Action(
        _register, ("name", "source"), ("run_id", "description", "tags", "owner")
    ),
    "registry.promote": Action(_promote, ("name", "alias"), ("version",)),
    "serving.score_table": Action(
        _score,
        ("model", "source", "output"),
        ("version", "keep_columns"),
        ("source",),
        lambda a: [f"table:{a['output']}"],
    ),
    "monitoring.report": Action(_report, ("deployment",)),
}


def check_args(action: str, args: dict[str, Any]) -> Action:
    """The action, once its arguments are known (``InvalidArgument`` naming what is wrong)."""
    found = ACTIONS.get(action)
    if found is None:
        raise InvalidArgument(f"unknown action '{action}' (one of {', '.join(sorted(ACTIONS))})")
    missing = [a for a in found.required if a not in args]
    if missing:
        raise InvalidArgument(f"action '{action}' needs {', '.join(missing)}")
    unknown = sorted(set(args) - set(found.required) - set(found.optional))
    if unknown:
        raise InvalidArgument(f"action '{action}' takes no argument {', '.join(unknown)}")
    return found


_ROOTS: dict[str, Platform] = {}
_LOCK = threading.Lock()


def _platform(project: str, principal: str) -> Platform:
    """The project's platform acting for ``principal`` with its roles as they are NOW
    (read per step: a revoked role stops the next step). One root platform per
    project per worker process: opening one costs ~50 ms."""
    from shipyard.security.service import load_principal

    if open_root is None:  # pragma: no cover - shipyard.platform is imported with shipyard
        raise RuntimeError("shipyard.platform is not imported: no way to open the project")
    with _LOCK:
        root = _ROOTS.get(project)
        if root is None:
            root = _ROOTS[project] = open_root(project)
    with root.context.db.connect() as conn:
        acting = load_principal(conn, principal)
    if acting is None:
        raise PermissionDenied(f"the run's principal {principal} no longer exists")
    return root.as_principal(acting)


@job
def run_action(
    action: str,
    params: dict[str, Any],
    project: str,
    principal: str,
    inputs: dict[str, Any] | None = None,
    partition: str | None = None,
) -> Any:
    """Run one platform action as ``principal`` (what a step job of an action calls)."""
    found = check_args(action, params)
    kwargs = dict(params)
    if action == "registry.promote":
        kwargs["inputs"] = inputs
    return found.run(_platform(project, principal), **kwargs)
