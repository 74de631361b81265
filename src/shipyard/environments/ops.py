"""The environments operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shipyard._internal.ops import Op, Version

ENV = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")]
DIGEST = Annotated[str, Field(min_length=1, max_length=128)]
NOTE = Annotated[str | None, Field(max_length=4000)]

OPS = {
    "list_environments": Op("GET", "/environments"),
    "list_promotions": Op("GET", "/environments/-/promotions"),
    "get_promotion": Op("GET", "/environments/-/promotions/{request_id}"),
    "approve_promotion": Op(
        "POST",
        "/environments/-/promotions/{request_id}/approve",
        types={"comment": NOTE},
        optional_body=True,
    ),
    "reject_promotion": Op(
        "POST",
        "/environments/-/promotions/{request_id}/reject",
        types={"comment": NOTE},
        optional_body=True,
    ),
    "get_environment": Op("GET", "/environments/{name}", types={"name": ENV}),
    "plan_definitions": Op("GET", "/environments/{target}/plan", types={"target": ENV}),
    "promote_definitions": Op(
        "POST",
        "/environments/{target}/definitions",
        types={"target": ENV, "digest": DIGEST, "comment": NOTE},
        status=201,
    ),
    "promote_model": Op(
        "POST",
        "/environments/{target}/models/{name}/versions/{version}",
        types={"target": ENV, "version": Version, "comment": NOTE},
        optional_body=True,
        status=201,
    ),
}
