"""Feature definitions: ``shipyard plan`` shows what ``shipyard apply`` would change.

(Both also read ``platform.yaml`` if the project has one, and delete nothing without
``--prune``; ``shipyard features plan|apply`` look at feature definitions alone.)

Every module-level Entity, FeatureView and FeatureService here is a definition.
"""

from __future__ import annotations

from datetime import timedelta

from shipyard.demo.definitions import FEATURES
from shipyard.features import Entity, Feature, FeatureService, FeatureView

customer = Entity(name="customer", join_keys=["customer_id"], description="A shopper.")

customer_daily = FeatureView(
    name="customer_daily",
    entities=["customer"],
    source="gold.customer_daily",
    timestamp_field="event_ts",
    ttl=timedelta(days=30),
    features=[Feature(name, "float64") for name in FEATURES],
    online=True,
    description="Rolling order activity per customer.",
)

churn = FeatureService(name="churn", features=[f"customer_daily:{name}" for name in FEATURES])
