"""Platform actions a pipeline step can run: their arguments, checked at plan time.

What runs them lives outside this package (``shipyard.step_actions``, beside the
composition root): a step job of an action calls ``shipyard.step_actions:run_action``
(queued only by the run engine), which opens the project's platform as the principal
who started the run, so the action is authorized and audited like the same call from
the SDK. Every action is idempotent on retry (a refresh or materialization of the
same inputs writes nothing new).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.pipelines.functions import ACTIONS as RUNNER_MODULE

TARGET = f"{RUNNER_MODULE}:run_action"


@dataclass(frozen=True)
class Action:
    """``required``/``optional`` argument names; ``tables``: arguments naming lake tables
    (checked at plan time); ``writes``: the asset a run of it writes (lineage)."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    writes: Callable[[dict[str, Any]], list[str]] = field(default=lambda a: [])


ACTIONS: dict[str, Action] = {
    "lake.refresh": Action(("table",), ("full",), ("table",), lambda a: [f"table:{a['table']}"]),
    "lake.refresh_all": Action((), ("full",)),
    "lake.apply_changes": Action(
        ("table", "source", "keys", "sequence_by"),
        ("operation_column", "delete_value", "batch_id"),
        ("table", "source"),
        lambda a: [f"table:{a['table']}"],
    ),
    "features.materialize": Action((), ("views", "start", "end")),
    "features.training_set": Action(
        ("name",),
        ("entity_source", "features", "feature_service", "timestamp_column", "owner"),
        ("entity_source",),
        lambda a: [f"training_set:{a['name']}"],
    ),
    "registry.register": Action(("name", "source"), ("run_id", "description", "tags", "owner")),
    "registry.promote": Action(("name", "alias"), ("version",)),
    "serving.score_table": Action(
        ("model", "source", "output"),
        ("version", "keep_columns", "chunk_rows"),
        ("source",),
        lambda a: [f"table:{a['output']}"],
    ),
    #: ONNX export of a model version, checked on its input example (the file is the
    #: version's run artifact ``exports/<name>.v<n>.onnx``).
    "serving.export_model": Action(("model",), ("format", "tolerance")),
    #: The same, of the model the deployment serves most traffic with when the job runs.
    "serving.export_deployment": Action(("deployment",), ("format", "tolerance")),
    "monitoring.report": Action(("deployment",)),
    #: A drift run of the deployment's window (a monitor's first step).
    "monitoring.drift": Action(("deployment",), ("window_seconds", "thresholds", "features")),
    #: Meter the last complete hour of usage (or ``hour``); a metered hour is skipped.
    "usage.meter": Action((), ("hour",), writes=lambda a: ["table:datasets.usage"]),
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
