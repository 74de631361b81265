"""The feature store's operation table: the client and the API routes are made from it (ADR 0015).

Definitions travel in their wire form (``shipyard.features.wire``); frames travel
as Arrow or records, and those calls are written out on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipyard._internal.ops import Op, Version
from shipyard._internal.paging import Page
from shipyard.features.wire import definition_from_wire, definition_to_wire


def _to_wire(objects: Iterable[Any]) -> list[dict[str, Any]]:
    return [definition_to_wire(o) for o in objects]


def _from_wire(definitions: list[dict[str, Any]], *, allow_code: bool = False) -> list[Any]:
    return [definition_from_wire(d, allow_code=allow_code) for d in definitions]


def _page_to_wire(page: Page[Any]) -> dict[str, Any]:
    return {"items": _to_wire(page.items), "next_page_token": page.next_page_token}


def _page_from_wire(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "items": _from_wire(data["items"], allow_code=True)}


def _definitions(path: str) -> Op:
    """``objects`` travel as ``definitions`` (on-demand views' code stays in-process)."""
    return Op(
        "POST",
        path,
        wire={"objects": "definitions"},
        encode={"objects": _to_wire},
        parse={"objects": _from_wire},
        types={"objects": list[dict[str, Any]]},
    )


OPS = {
    "plan": _definitions("/features/plan"),
    "apply": _definitions("/features/apply"),
    "list_definitions": Op(
        "GET", "/features/definitions", reply=_page_to_wire, decode=_page_from_wire
    ),
    "get_definition": Op(
        "GET",
        "/features/definitions/{kind}/{name}",
        reply=definition_to_wire,
        decode=lambda data: definition_from_wire(data, allow_code=True),
    ),
    "materialize": Op(
        "POST",
        "/features/materialize",
        types={"views": list[str] | None},
        job="features.materialize",
    ),
    "get_view_status": Op("GET", "/features/views/{name}/status"),
    "get_training_set": Op(
        "GET",
        "/features/training-sets/{name}",
        reply=lambda ts: ts.to_dict(),
        types={"version": Version | None},
    ),
}
