"""``RemoteServingService``: ``ServingAPI`` over HTTP."""

from __future__ import annotations

from typing import Any

from shipyard.client.ops import API, Op, RemoteService, segment
from shipyard.serving.models import PredictResponse
from shipyard.serving.protocol import ServingAPI

DEPLOYMENT = "/deployments/{name}"

OPS = {
    "create_deployment": Op(
        "POST",
        "/deployments",
        encode={"entity_keys": lambda v: v or [], "request_fields": lambda v: v or {}},
    ),
    "update_deployment": Op("PATCH", DEPLOYMENT, omit_default=("feature_service",)),
    "apply_deployment": Op("PUT", DEPLOYMENT, omit_default=("feature_service",)),
    "rollback_deployment": Op("POST", DEPLOYMENT + "/rollback"),
    "get_deployment": Op("GET", DEPLOYMENT),
    "list_deployments": Op("GET", "/deployments"),
    "list_deployment_versions": Op("GET", DEPLOYMENT + "/versions"),
    "delete_deployment": Op("DELETE", DEPLOYMENT),
    "deployment_stats": Op("GET", DEPLOYMENT + "/stats"),
    "flush_prediction_log": Op("POST", "/deployments/-/flush-log", unwrap="written"),
    "log_ground_truth": Op("POST", DEPLOYMENT + "/ground-truth", unwrap="written"),
    "get_report": Op("GET", DEPLOYMENT + "/report"),
    "start_canary": Op("POST", DEPLOYMENT + "/canary"),
    "advance_canary": Op("POST", DEPLOYMENT + "/canary/advance"),
    "rollback_canary": Op("POST", DEPLOYMENT + "/canary/rollback"),
    "score_table": Op("POST", "/deployments/-/score-table", fixed={"wait": "true"}),
}


class RemoteServingService(RemoteService, ServingAPI, ops=OPS):
    """``ServingService`` over HTTP; the routing key travels as a header."""

    def predict(
        self, name: str, inputs: list[dict[str, Any]], *, routing_key: str | None = None
    ) -> PredictResponse:
        headers = {"x-shipyard-routing-key": routing_key} if routing_key else None
        data = self._http.request(
            "POST",
            f"{API}/deployments/{segment(name)}/predict",
            json={"inputs": inputs},
            headers=headers,
        )
        return PredictResponse.model_validate(data)
