"""The Open Inference Protocol, driven by a stock V2 client (tritonclient.http)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from shipyard.platform import Platform
from shipyard.serving import Variant
from tests.servers import live_server


@pytest.fixture
def triton(served: Platform) -> Iterator[tuple[object, dict[str, str]]]:
    served.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
        request_fields={"amount": "float64"},
    )
    served.security.create_principal("pat", role="predictor")
    headers = {"Authorization": f"Bearer {served.security.create_token(principal='pat').token}"}
    with live_server(served) as url:
        client = httpclient.InferenceServerClient(url=url.removeprefix("http://"))
        yield client, headers
        client.close()


def _inputs(ids: list[int], amounts: list[float], binary: bool) -> list[object]:
    a = httpclient.InferInput("customer_id", [len(ids)], "INT64")
    a.set_data_from_numpy(np.array(ids, dtype=np.int64), binary_data=binary)
    b = httpclient.InferInput("amount", [len(amounts)], "FP64")
    b.set_data_from_numpy(np.array(amounts, dtype=np.float64), binary_data=binary)
    return [a, b]


@pytest.mark.parametrize("binary", [False, True])
def test_tritonclient_infers_against_a_deployment(
    served: Platform, triton: tuple[object, dict[str, str]], binary: bool
) -> None:
    client, headers = triton
    assert client.is_server_live(headers=headers)  # type: ignore[attr-defined]
    assert client.is_server_ready(headers=headers)  # type: ignore[attr-defined]
    assert client.is_model_ready("churn", headers=headers)  # type: ignore[attr-defined]
    meta = client.get_model_metadata("churn", headers=headers)  # type: ignore[attr-defined]
    assert [i["name"] for i in meta["inputs"]] == ["customer_id", "amount"]
    result = client.infer(  # type: ignore[attr-defined]
        "churn", _inputs([3, 4, 5], [1.0, 2.0, 3.0], binary), headers=headers, request_id="r1"
    )
    got = result.as_numpy("predictions")
    local = served.serving.predict(
        "churn", [{"customer_id": c, "amount": 1.0} for c in (3, 4, 5)]
    ).predictions
    assert got.shape == (3,) and np.allclose(got, local)
    response = result.get_response()
    assert response["id"] == "r1" and response["parameters"]["variant"] == "a"


def test_v2_errors_reach_the_client(triton: tuple[object, dict[str, str]]) -> None:
    client, headers = triton
    assert not client.is_model_ready("nope", headers=headers)  # type: ignore[attr-defined]
    with pytest.raises(InferenceServerException, match="customer_id"):
        bad = httpclient.InferInput("amount", [1], "FP64")
        bad.set_data_from_numpy(np.array([1.0]), binary_data=False)
        client.infer("churn", [bad], headers=headers)  # type: ignore[attr-defined]
    assert client.is_server_live()  # type: ignore[attr-defined]  # probes are public
    assert not client.is_model_ready("churn")  # type: ignore[attr-defined]  # no token: 401
