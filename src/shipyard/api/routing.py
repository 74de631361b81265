"""Capability routers that turn away foreign paths before trying their routes.

FastAPI (0.16x) keeps an included router as one node of the app's route list and
asks it whether a request matches by trying every route it holds, one regex each,
router after router: a request to a router late in ``app.ROUTERS`` paid ~170
regex matches (profiled: half of the app's own time on
``POST /api/v1/vectors/{name}/query``). A ``CapabilityRouter`` knows the first
path segments of its routes (``/vectors/...`` -> ``vectors``) and answers "no
match" at once to a request under ``API_PREFIX`` whose next segment is none of
them. A router with a parameter as a first segment is never turned away early.
FastAPI versions that copy routes into the app never ask; the check then costs
nothing and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope

#: Where ``create_app`` mounts every capability router.
API_PREFIX = "/api/v1"
_UNDER = API_PREFIX + "/"


class CapabilityRouter(APIRouter):
    """An ``APIRouter`` mounted at ``API_PREFIX``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._heads: frozenset[str] | None = None
        self._heads_of = -1  # the number of routes ``_heads`` was computed from

    def heads(self) -> frozenset[str] | None:
        """The first path segments of the routes (``None``: one is a parameter)."""
        if self._heads_of != len(self.routes):
            heads: set[str] | None = set()
            for route in self.routes:
                path = getattr(route, "path", None)
                head = path.split("/", 2)[1] if isinstance(path, str) and path[:1] == "/" else "{"
                if heads is None or "{" in head or not head:
                    heads = None
                    break
                heads.add(head)
            self._heads = None if heads is None else frozenset(heads)
            self._heads_of = len(self.routes)
        return self._heads

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if not scope.get("root_path") and path.startswith(_UNDER):
            heads = self.heads()
            if heads is not None and path[len(_UNDER) :].split("/", 1)[0] not in heads:
                return Match.NONE, {}
        return super().matches(scope)
