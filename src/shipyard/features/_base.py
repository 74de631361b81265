"""What every part of the feature service shares: the online store, definitions, the lake."""

from __future__ import annotations

from typing import Any

from shipyard._internal.service import Service
from shipyard.catalog.changes import ChangeFeed, feed_for
from shipyard.errors import NotFound
from shipyard.features import registry
from shipyard.features.backends.base import OnlineStore, create_online_store
from shipyard.features.models import DEFINITION_KINDS, FeatureView
from shipyard.features.registry import Definitions
from shipyard.features.sources import LakeTables

#: The asset kinds an online read plan is built from.
DEFINITION_ASSET_KINDS = tuple(DEFINITION_KINDS)


class FeatureServiceBase(Service):
    """Shared state of the feature service parts (one per platform, in ``ctx.extras``)."""

    # -- shared state ------------------------------------------------------------------

    def _shared(self) -> dict[str, Any]:
        return self._ctx.extras.setdefault("features", {"plans": {}})

    @property
    def online_store(self) -> OnlineStore:
        """The configured online store (built once per platform)."""
        shared = self._shared()
        store = shared.get("store")
        if store is None:
            store = create_online_store(self._ctx.settings)
            shared["store"] = store
            self._ctx.extras.setdefault("_closers", []).append(store.close)
        return store

    def _changes(self) -> ChangeFeed:
        """Tells whether any process changed a definition since a plan was built."""
        return feed_for(self._ctx)

    def _invalidate(self) -> None:
        self._shared()["plans"] = {}

    def _defs(self) -> Definitions:
        with self._ctx.db.connect() as conn:
            return registry.load(conn, self._ctx.catalog)

    @property
    def _lake(self) -> LakeTables:
        return LakeTables(self._ctx)

    def _team(self, obj: Any) -> str:
        return obj.owner or self._ctx.default_team

    def _view(self, defs: Definitions, name: str) -> FeatureView:
        view = defs.views.get(name)
        if view is None:
            raise NotFound(
                f"no feature view named '{name}'" + registry.suggest(name, defs.views), view=name
            )
        return view
