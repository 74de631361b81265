"""Serving's operation table: the client and the API routes are made from it (ADR 0015).

``predict`` (the hot path: orjson, no pydantic, a routing header) and the Open
Inference Protocol routes are written out.
"""

from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Interval

from shipyard._internal.ops import Op, Version

DEPLOYMENT = "/deployments/{name}"
#: Seconds of inference log the stats cover (up to a year).
StatsWindow = Annotated[float, Interval(gt=0, le=366 * 86400)]
#: Rows per chunk of a batch scoring run: memory holds one chunk at a time.
MAX_CHUNK_ROWS = 10_000_000
ChunkRows = Annotated[int, Interval(ge=1, le=MAX_CHUNK_ROWS)]
#: The largest allowed difference between a model's and its ONNX export's outputs.
Tolerance = Annotated[float, Interval(ge=0, le=1e6)]
#: The export formats (``shipyard.serving.export.FORMATS``).
ExportFormat = Literal["onnx"]

OPS = {
    "create_deployment": Op(
        "POST",
        "/deployments",
        status=201,
        encode={"entity_keys": lambda v: v or [], "request_fields": lambda v: v or {}},
        types={"entity_keys": list[str], "request_fields": dict[str, str]},
    ),
    "list_deployments": Op("GET", "/deployments"),
    "get_deployment": Op("GET", DEPLOYMENT),
    # ``feature_service=None`` removes it; left out, it is kept.
    "update_deployment": Op("PATCH", DEPLOYMENT, omit_default=("feature_service",)),
    "apply_deployment": Op("PUT", DEPLOYMENT, omit_default=("feature_service",)),
    "delete_deployment": Op("DELETE", DEPLOYMENT),
    "list_deployment_versions": Op("GET", DEPLOYMENT + "/versions"),
    "rollback_deployment": Op(
        "POST", DEPLOYMENT + "/rollback", types={"to_version": Version | None}
    ),
    "deployment_stats": Op("GET", DEPLOYMENT + "/stats", types={"window_seconds": StatsWindow}),
    "start_canary": Op("POST", DEPLOYMENT + "/canary"),
    "advance_canary": Op("POST", DEPLOYMENT + "/canary/advance"),
    "rollback_canary": Op("POST", DEPLOYMENT + "/canary/rollback"),
    "score_table": Op(
        "POST",
        "/deployments/-/score-table",
        types={"version": Version | None, "chunk_rows": ChunkRows},
        job="serving.score_table",
    ),
    "export_model": Op(
        "POST",
        "/deployments/-/export",
        types={"tolerance": Tolerance, "format": ExportFormat},
        job="serving.export_model",
    ),
    # after ``export_model``: ``-`` is no deployment name (they start with a letter)
    "export_deployment": Op(
        "POST",
        DEPLOYMENT + "/export",
        types={"tolerance": Tolerance, "format": ExportFormat},
        job="serving.export_deployment",
        job_args={"name": "deployment"},
        optional_body=True,
    ),
    "log_ground_truth": Op("POST", DEPLOYMENT + "/ground-truth", unwrap="written"),
    "get_report": Op("GET", DEPLOYMENT + "/report"),
    "flush_prediction_log": Op("POST", "/deployments/-/flush-log", unwrap="written"),
}
