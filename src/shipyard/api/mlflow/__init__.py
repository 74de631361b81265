"""The MLflow REST API over Shipyard's services, so the stock ``mlflow`` client works.

``MLFLOW_TRACKING_URI=http://host:port`` and ``MLFLOW_TRACKING_TOKEN=<shipyard
token>``: experiments, runs, params, metrics, tags, batches, metric history,
search, artifacts (the ``/api/2.0/mlflow-artifacts`` proxy), logged models,
the registry with aliases, and ``/api/3.0/mlflow/server-info``.

This package only translates: MLflow's wire format to service calls and back
(``wire``), filters through ``shipyard.tracking.search``, errors through the one
table of ``shipyard.api.errors`` in MLflow's ``{error_code, message}`` shape.

- ``base``: MLflow's JSON, error bodies and request arguments;
- ``tracking``: server info, experiments, runs, metrics, logged models, artifacts;
- ``registry``: registered models, versions, aliases.
"""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.mlflow import registry, tracking

router = APIRouter()
router.include_router(tracking.router)
router.include_router(registry.router)

__all__ = ["router"]
