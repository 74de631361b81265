"""What every part of the feature service shares: the online store, definitions, the lake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard._internal.shared import Shared
from shipyard.catalog.changes import ChangeFeed
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import NotFound
from shipyard.features import registry
from shipyard.features.backends.base import OnlineStore
from shipyard.features.models import DEFINITION_KINDS, FeatureView
from shipyard.features.registry import Definitions
from shipyard.features.sources import LakeTables

if TYPE_CHECKING:
    from shipyard._internal.quota import QuotaCheck
    from shipyard.lake.service import LakeService

#: The asset kinds an online read plan is built from.
DEFINITION_ASSET_KINDS = tuple(DEFINITION_KINDS)


@dataclass
class FeatureState:
    """What the feature service keeps per platform: the online read plans, by request shape."""

    plans: dict[Any, Any] = field(default_factory=dict)


class FeatureServiceBase(Service):
    """Shared state of the feature service parts (one per platform, built by ``Platform``)."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        lake: Callable[[], LakeService],
        online: Shared[OnlineStore],
        changes: Shared[ChangeFeed],
        state: FeatureState,
        quotas: Callable[[], QuotaCheck] | None = None,
        materialized: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(ctx)
        #: Called with a view's name after it is materialized: keeps indexes over the
        #: view in step (``VectorService.follow_view``, wired by ``Platform``).
        self._materialized = materialized
        self._quotas = quotas  # online_rows caps (issue #16)
        self._lake_service = lake  # built when an offline read or a write first needs it
        self._online = online
        self._changefeed = changes
        self._state = state

    # -- shared state ------------------------------------------------------------------

    @property
    def online_store(self) -> OnlineStore:
        """The configured online store (built once per platform)."""
        return self._online.get()

    def _changes(self) -> ChangeFeed:
        """Tells whether any process changed a definition since a plan was built."""
        return self._changefeed.get()

    def _invalidate(self) -> None:
        self._state.plans = {}

    def _defs(self) -> Definitions:
        with self._ctx.db.connect() as conn:
            return registry.load(conn, self._ctx.catalog)

    @property
    def _lake(self) -> LakeTables:
        return LakeTables(self._ctx, self._lake_service())

    def _team(self, obj: Any) -> str:
        return obj.owner or self._ctx.default_team

    def _view(self, defs: Definitions, name: str) -> FeatureView:
        view = defs.views.get(name)
        if view is None:
            raise NotFound(
                f"no feature view named '{name}'" + registry.suggest(name, defs.views), view=name
            )
        return view
