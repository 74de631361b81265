"""The training operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from shipyard._internal.ops import Limit, Op
from shipyard.training.models import Resources


def _text(max_length: int, min_length: int | None = None) -> Any:
    return Annotated[str, Field(min_length=min_length, max_length=max_length)]


JOB = "/training/jobs/{job_id}"
NAME = _text(256) | None
#: Bounds shared by ``submit`` and ``tune``.
COMMON = {
    "function": _text(512),
    "training_set": NAME,
    "register_as": NAME,
    "timeout": Annotated[float, Field(gt=0)] | None,
    "ray_address": _text(512) | None,
    "feature_service": NAME,
    "entity_df": _text(20_000) | None,  # a lake table name or SQL over lake tables
}

OPS = {
    "submit": Op(
        "POST",
        "/training/jobs",
        status=201,
        types={
            **COMMON,
            "resources": Resources | None,
            "experiment": _text(256, 1),
            "run_name": NAME,
            "team": NAME,
            "max_attempts": Annotated[int, Field(ge=1, le=10)],
            "backend": _text(32),
        },
    ),
    "list": Op("GET", "/training/jobs"),
    "get": Op("GET", JOB),
    "logs": Op("GET", JOB + "/logs", unwrap="logs"),
    "cancel": Op("POST", JOB + "/cancel"),
    "tune": Op(
        "POST",
        "/training/studies",
        status=201,
        types={
            **COMMON,
            "space": Annotated[dict[str, Any] | str, Field(union_mode="left_to_right")],
            "n_trials": Limit,
            "metric": _text(250, 1),
            "direction": _text(16),
            "experiment": _text(256, 1),
            "study_name": NAME,
            "pruner": _text(16),
            "workers": Annotated[int, Field(ge=1, le=256)],
            "backend": _text(16),
        },
    ),
    "get_study": Op("GET", "/training/studies/{name}"),
}
