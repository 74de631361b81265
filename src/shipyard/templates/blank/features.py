"""Feature definitions: ``shipyard plan`` shows what ``shipyard apply`` would change.

(Both also read ``platform.yaml`` if the project has one, and delete nothing without
``--prune``; ``shipyard features plan|apply`` look at feature definitions alone.)

Every module-level Entity, FeatureView, OnDemandFeatureView and FeatureService here is a
definition, for instance::

    from datetime import timedelta
    from shipyard.features import Entity, Feature, FeatureService, FeatureView

    customer = Entity(name="customer", join_keys=["customer_id"])
    customer_daily = FeatureView(
        name="customer_daily", entities=["customer"], source="gold.customer_daily",
        timestamp_field="event_ts", ttl=timedelta(days=30),
        features=[Feature("orders_7d", "float64")], online=True,
    )
    churn = FeatureService(name="churn", features=[customer_daily])
"""
