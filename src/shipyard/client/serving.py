"""``RemoteServingService``: ``ServingAPI`` over HTTP."""

from __future__ import annotations

from typing import Any

from shipyard.client.ops import API, RemoteService, segment
from shipyard.serving.models import PredictResponse
from shipyard.serving.ops import OPS
from shipyard.serving.protocol import ServingAPI


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
