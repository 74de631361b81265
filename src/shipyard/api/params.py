"""Route parameters and bodies: out-of-range or unknown input is a 422, never a 500 or a no-op.

SQLite and DuckDB bind 64-bit integers; a value past that overflows in the driver.
Every count, version, offset and timestamp the HTTP API takes uses one of the
bounded types of ``shipyard._internal.ops`` (operation tables use them too).
Every body model derives from ``Body`` (unknown fields refused); bodies a route
parses itself go through ``json_object`` with the fields it reads.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from shipyard._internal.ops import Limit, Millis, Offset, PageSize, Version
from shipyard.errors import InvalidArgument

__all__ = ["Body", "Limit", "Millis", "Offset", "PageSize", "Version", "json_object"]


class Body(BaseModel):
    """Base of every request body model: a field the route does not know is a 422."""

    model_config = ConfigDict(extra="forbid")


def json_object(raw: bytes, fields: frozenset[str]) -> dict[str, Any]:
    """A body the route parses itself (hot paths): a JSON object with only ``fields``.

    Raises:
        InvalidArgument: not JSON, not an object, or a field outside ``fields``.
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidArgument("request body must be a JSON object")
    unknown = body.keys() - fields
    if unknown:
        raise InvalidArgument(
            f"unknown field(s) in the request body: {', '.join(sorted(unknown))} "
            f"(expected: {', '.join(sorted(fields))})",
            fields=sorted(unknown),
        )
    return body


#: ``POST /api/v1/deployments/{name}/predict`` on the API and the inference server.
PREDICT_FIELDS = frozenset({"inputs"})


def predict_inputs(raw: bytes) -> list[Any]:
    """The rows of a predict body (``[]`` when missing: the service refuses it clearly)."""
    inputs = json_object(raw, PREDICT_FIELDS).get("inputs")
    return inputs if isinstance(inputs, list) else []
