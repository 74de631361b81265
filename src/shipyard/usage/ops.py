"""The usage operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shipyard._internal.ops import Op
from shipyard.usage.models import GroupBy

OPS = {
    # The body is optional: without one, the last complete hour.
    "meter": Op("POST", "/usage/meter", optional_body=True),
    "report": Op(
        "GET",
        "/usage",
        types={
            "by": GroupBy,
            "month": Annotated[str, Field(pattern=r"^\d{4}-\d{2}$", max_length=7)] | None,
        },
    ),
}
