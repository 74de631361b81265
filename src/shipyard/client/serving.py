"""``RemoteServingService``: ``ServingAPI`` over HTTP."""

from __future__ import annotations

from shipyard.client.ops import API, Args, RemoteService, local, segment
from shipyard.serving.models import PredictResponse
from shipyard.serving.ops import OPS
from shipyard.serving.protocol import ServingAPI


class RemoteServingService(RemoteService, ServingAPI, ops=OPS):
    """``ServingService`` over HTTP; the routing key travels as a header."""

    @local(ServingAPI.predict)
    def predict(self, a: Args) -> PredictResponse:
        routing_key = a["routing_key"]
        data = self._http.request(
            "POST",
            f"{API}/deployments/{segment(a['name'])}/predict",
            json={"inputs": a["inputs"]},
            headers={"x-shipyard-routing-key": routing_key} if routing_key else None,
        )
        return PredictResponse.model_validate(data)
