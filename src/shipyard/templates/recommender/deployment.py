"""The ``recommender`` deployment, as code: created the first time, updated afterwards."""

from __future__ import annotations

from shipyard.errors import NotFound
from shipyard.platform import Platform
from shipyard.serving import Variant

NAME = "recommender"
SPEC = {
    "variants": [Variant(name="live", model="recommender@live", weight=100)],
    "feature_service": "recommend",
    "entity_keys": ["user_id", "item_id"],
}


def deploy(p: Platform) -> None:
    try:
        p.serving.get_deployment(NAME)
    except NotFound:
        p.serving.create_deployment(NAME, **SPEC)  # type: ignore[arg-type]
        return
    p.serving.update_deployment(NAME, **SPEC)  # type: ignore[arg-type]
