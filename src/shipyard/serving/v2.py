"""The Open Inference Protocol (KServe V2) over deployments: translation only, no I/O.

Each input tensor is one column (an entity key or a request field) with one value
per row; the response has one output tensor, ``predictions``. Both the JSON
tensor form and the binary tensor extension (``Inference-Header-Content-Length``,
as ``tritonclient`` sends by default) are accepted; responses are JSON.
"""

from __future__ import annotations

from typing import Any

import orjson

from shipyard.errors import InvalidArgument
from shipyard.serving.models import Deployment, PredictResponse

#: V2 datatype -> numpy dtype for binary tensors.
DTYPES: dict[str, str] = {
    "BOOL": "?",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
FIELD_DATATYPES = {"float64": "FP64", "int64": "INT64", "string": "BYTES", "bool": "BOOL"}


def parse_infer(raw: bytes, header_length: str | None) -> tuple[list[dict[str, Any]], Any]:
    """``(rows, request id)`` from a V2 infer body (JSON, or JSON + binary tensors).

    Raises:
        InvalidArgument: not JSON, no inputs, tensors of different lengths, bad binary data.
    """
    if header_length is not None:
        try:
            n = int(header_length)
        except ValueError:
            raise InvalidArgument("Inference-Header-Content-Length must be an integer") from None
        head, binary = raw[:n], raw[n:]
    else:
        head, binary = raw, b""
    try:
        body = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"infer request is not valid JSON: {exc}") from None
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise InvalidArgument("infer request needs a non-empty 'inputs' list")
    columns: dict[str, list[Any]] = {}
    offset = 0
    for t in inputs:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise InvalidArgument("each input tensor needs a 'name'")
        values, offset = _tensor_values(t, binary, offset)
        columns[t["name"]] = values
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise InvalidArgument(
            f"input tensors must have one value per row; got lengths "
            f"{ {k: len(v) for k, v in columns.items()} }"
        )
    n_rows = lengths.pop()
    names = list(columns)
    rows = [{name: columns[name][i] for name in names} for i in range(n_rows)]
    return rows, body.get("id")


def _tensor_values(t: dict[str, Any], binary: bytes, offset: int) -> tuple[list[Any], int]:
    import numpy as np  # only tensor bodies need it; numpy costs ~0.1 s at start-up

    name, datatype = t["name"], str(t.get("datatype", ""))
    size = (t.get("parameters") or {}).get("binary_data_size")
    if size is None:
        data = t.get("data")
        if not isinstance(data, list):
            raise InvalidArgument(f"input '{name}' needs a 'data' list")
        flat = (
            np.asarray(data, dtype=object).ravel().tolist()
            if data and isinstance(data[0], list)
            else data
        )
        return flat, offset
    chunk = binary[offset : offset + int(size)]
    if len(chunk) != int(size):
        raise InvalidArgument(f"input '{name}': binary data is shorter than binary_data_size")
    if datatype == "BYTES":
        return _bytes_elements(name, chunk), offset + int(size)
    if datatype not in DTYPES:
        raise InvalidArgument(f"input '{name}': unsupported datatype '{datatype}'")
    try:
        values = np.frombuffer(chunk, dtype=DTYPES[datatype]).tolist()
    except ValueError as exc:
        raise InvalidArgument(f"input '{name}': {exc}") from None
    return values, offset + int(size)


def _bytes_elements(name: str, chunk: bytes) -> list[str]:
    out, i = [], 0
    while i < len(chunk):
        n = int.from_bytes(chunk[i : i + 4], "little")
        out.append(chunk[i + 4 : i + 4 + n].decode("utf-8", errors="replace"))
        i += 4 + n
    if i != len(chunk):
        raise InvalidArgument(f"input '{name}': malformed BYTES tensor")
    return out


def infer_response(name: str, request_id: Any, resp: PredictResponse) -> dict[str, Any]:
    preds = resp.predictions
    numeric = all(isinstance(p, int | float) and not isinstance(p, bool) for p in preds)
    return {
        "model_name": name,
        "model_version": str(resp.deployment_version),
        "id": request_id if request_id is not None else resp.request_id,
        "parameters": {
            "request_id": resp.request_id,
            "variant": resp.variant,
            "served_model_version": resp.model_version,
        },
        "outputs": [
            {
                "name": "predictions",
                "shape": [len(preds)],
                "datatype": "FP64" if numeric else "BYTES",
                "data": preds if numeric else [str(p) for p in preds],
            }
        ],
    }


def model_metadata(dep: Deployment) -> dict[str, Any]:
    spec = dep.spec
    inputs = [{"name": k, "datatype": "INT64", "shape": [-1]} for k in spec.entity_keys]
    inputs += [
        {"name": f, "datatype": FIELD_DATATYPES[t], "shape": [-1]}
        for f, t in spec.request_fields.items()
    ]
    return {
        "name": dep.name,
        "versions": [str(dep.version)],
        "platform": "shipyard",
        "inputs": inputs,
        "outputs": [{"name": "predictions", "datatype": "FP64", "shape": [-1]}],
        "parameters": {"variants": {v.name: v.model for v in spec.variants}},
    }
