"""The feature store: definitions as code, point-in-time training sets, online serving.

    from shipyard.features import Entity, Feature, FeatureView, FeatureService
    p.features.apply([customer, view, svc])
    p.features.get_historical_features(entity_df, feature_service="churn")
    p.features.materialize()
    p.features.get_online_features(feature_service="churn", entity_rows=[{"customer_id": 7}])

``FeatureService`` here is the definition (a named set of features); the
service class of ``p.features`` is ``shipyard.features.service.FeatureService``.
"""

from __future__ import annotations

from shipyard.features.models import (
    NOT_FOUND,
    OUTSIDE_MAX_AGE,
    PRESENT,
    Entity,
    Feature,
    FeatureService,
    FeatureView,
    MaterializeResult,
    OnDemandFeatureView,
    OnlineFeatures,
    PushSource,
    TrainingSet,
)

__all__ = [
    "NOT_FOUND",
    "OUTSIDE_MAX_AGE",
    "PRESENT",
    "Entity",
    "Feature",
    "FeatureService",
    "FeatureView",
    "MaterializeResult",
    "OnDemandFeatureView",
    "OnlineFeatures",
    "PushSource",
    "TrainingSet",
]
