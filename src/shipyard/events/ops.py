"""The event bus's operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from typing import Any

from shipyard._internal.ops import Limit, Offset, Op

TOPIC = "/events/topics/{topic}"

OPS = {
    "list_topics": Op("GET", "/events/topics"),
    "create_topic": Op("POST", "/events/topics", status=201),
    "get_topic": Op("GET", "/events/topics/{name}"),
    # Each record is checked by the service: the same errors as in-process.
    "publish": Op("POST", TOPIC + "/records", status=201, types={"records": list[Any]}),
    "read_records": Op("GET", TOPIC + "/records", types={"offset": Offset, "limit": Limit}),
    "read": Op("POST", TOPIC + "/groups/{group}/read"),
    "commit_offset": Op("POST", TOPIC + "/groups/{group}/commit"),
}
