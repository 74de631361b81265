"""The backup operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shipyard._internal.ops import Limit, Op

POINT = "/backups/{point_id}"
ID = {"point_id": Annotated[str, Field(pattern=r"^\d{8}T\d{9}Z-[0-9a-f]{8}$")]}

OPS = {
    "create_backup": Op("POST", "/backups", status=201),
    "list_backups": Op("GET", "/backups"),
    "prune_backups": Op(
        "POST", "/backups/-/prune", optional_body=True, types={"keep_last": Limit | None}
    ),
    "get_backup": Op("GET", POINT, types=ID),
    "verify_backup": Op("POST", POINT + "/verify", types=ID),
}
