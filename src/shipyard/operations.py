"""Long operations as jobs: the team a platform action writes to, checked as the caller.

``JobService.submit_action`` queues a platform action (a lake refresh, a feature
materialization, a batch scoring) as a job that runs as the caller; the HTTP routes of
those operations answer ``202`` with it. Before anything is queued, this module finds
the team the action writes to, reading what it touches *as the caller* — so a table,
view or model the caller cannot see is ``NotFound`` and one it may only read is
``PermissionDenied`` at once, not a job that fails later. The job belongs to that team
(its readers may poll it). The worker authorizes the action again when it runs.

It reads several services, so it lives beside the composition root (``Platform``
passes ``operation_team`` to ``JobService``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from shipyard.errors import InvalidArgument, NotFound
from shipyard.security.models import Permission

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.features.service import FeatureService
    from shipyard.lake.service import LakeService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.service import ServingService


class Platform(Protocol):
    """What this module reads of a platform (``shipyard.platform.Platform`` is one; it
    imports this module, so this one names only the services)."""

    @property
    def lake(self) -> LakeService: ...

    @property
    def features(self) -> FeatureService: ...

    @property
    def registry(self) -> RegistryService: ...

    @property
    def serving(self) -> ServingService: ...

    @property
    def context(self) -> ServiceContext: ...


def _refresh(p: Platform, params: dict[str, Any]) -> str:
    """The owner of the table, else of its definition (``NotFound``: no definition)."""
    name = str(params["table"])
    definition = p.lake.get_definition(name)
    try:
        return p.lake.get_table(name).owner or p.context.default_team
    except NotFound:  # never refreshed yet
        return definition.owner or p.context.default_team


def _materialize(p: Platform, params: dict[str, Any]) -> str | None:
    teams = []
    for view in params.get("views") or []:
        found = p.features.get_definition("feature_view", str(view))
        if not found.online:
            raise InvalidArgument(f"feature view '{view}' is not online")
        teams.append(found.owner or p.context.default_team)
    for team in teams[1:]:  # the job belongs to the first; the others must be writable too
        p.context.require(Permission.WRITE, team, action="features.materialize")
    return teams[0] if teams else None


def _score(p: Platform, params: dict[str, Any]) -> str | None:
    model = str(params["model"])
    p.registry.resolve(model if model.startswith("models:/") else f"models:/{model}")
    p.lake.get_table(str(params["source"]))
    output = str(params["output"])
    try:
        return p.lake.get_table(output).owner or None
    except NotFound:  # a new output table: written as the default team
        return None


def _export(p: Platform, params: dict[str, Any]) -> str | None:
    """The model's owner (the export is cataloged as theirs)."""
    model = str(params["model"])
    mv = p.registry.resolve(model if model.startswith("models:/") else f"models:/{model}")
    return p.registry.get_registered_model(mv.name).owner or None


def _export_deployment(p: Platform, params: dict[str, Any]) -> str | None:
    """The owner of the model the deployment serves (the deployment must be readable)."""
    return _export(p, {"model": p.serving.get_deployment(str(params["deployment"])).primary_model})


#: Per action: the team it writes to (None: the default team).
TEAMS: dict[str, Callable[[Platform, dict[str, Any]], str | None]] = {
    "lake.refresh": _refresh,
    "features.materialize": _materialize,
    "serving.score_table": _score,
    "serving.export_model": _export,
    "serving.export_deployment": _export_deployment,
}


def operation_team(p: Platform, action: str, params: dict[str, Any]) -> str | None:
    """The team ``action`` writes to, read as ``p``'s principal (None: the default team)."""
    resolve = TEAMS.get(action)
    return None if resolve is None else resolve(p, params)
