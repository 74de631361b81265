"""Feature definitions: ``shipyard plan`` shows what ``shipyard apply`` would change.

(Both also read ``platform.yaml`` if the project has one, and delete nothing without
``--prune``; ``shipyard features plan|apply`` look at feature definitions alone.)

Every module-level Entity, FeatureView and FeatureService here is a definition.
"""

from __future__ import annotations

from datetime import timedelta

from shipyard.features import Entity, Feature, FeatureService, FeatureView

user = Entity(name="user", join_keys=["user_id"], description="A shopper.")
item = Entity(name="item", join_keys=["item_id"], description="Something to recommend.")

user_activity = FeatureView(
    name="user_activity",
    entities=["user"],
    source="gold.user_activity",
    timestamp_field="event_ts",
    ttl=timedelta(days=30),
    features=[Feature("user_events_14d", "float64"), Feature("user_items_14d", "float64")],
    online=True,
    description="How active a user has been lately.",
)

item_popularity = FeatureView(
    name="item_popularity",
    entities=["item"],
    source="gold.item_popularity",
    timestamp_field="event_ts",
    ttl=timedelta(days=30),
    features=[Feature("item_events_7d", "float64"), Feature("item_purchases_7d", "float64")],
    online=True,
    description="How popular an item has been lately.",
)

recommend = FeatureService(name="recommend", features=[user_activity, item_popularity])
