"""Platform as code: ``shipyard plan`` / ``shipyard apply`` over every resource kind.

The function-level API (what ``shipyard plan``/``apply`` and the environments'
promotion call; ADR 0027)::

    from shipyard.platform_code import load, plan, apply

    p = plan(platform, files)              # files: paths, or None for the project's
    saved = p.model_dump_json()            # the plan is a JSON document
    apply(platform, Plan.model_validate_json(saved))

``platform`` is a ``Platform`` or a ``shipyard.connect`` client: both have
``platform_code``. The files are read where this runs; only JSON travels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.platform_code.files import default_paths, load
from shipyard.platform_code.models import Change, Desired, Plan, Resource

__all__ = ["Change", "Desired", "Plan", "Resource", "apply", "default_paths", "load", "plan"]


def plan(platform: Any, files: list[Path] | None = None, *, prune: bool = False) -> Plan:
    """The plan from ``files`` (default: the project's platform, feature and pipeline files)."""
    settings = getattr(platform, "settings", None)
    chosen = (
        list(files) if files else default_paths(settings.project_dir if settings else Path("."))
    )
    return platform.platform_code.plan(load(chosen), prune=prune)


def apply(platform: Any, saved: Plan, *, prune: bool | None = None) -> Plan:
    """Carry out ``saved``; ``prune`` overrides the plan's own setting (and re-plans)."""
    if prune is not None and prune != saved.prune:
        from shipyard.errors import InvalidArgument

        raise InvalidArgument(
            f"this plan was made with prune={saved.prune}; plan again with the prune you want"
        )
    return platform.platform_code.apply(saved)
