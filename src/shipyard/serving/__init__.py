"""Serving: deployments of registered models with online features, A/B, shadow and canary."""

from shipyard.serving.models import (
    CanaryPolicy,
    Deployment,
    DeploymentSpec,
    NeighborFeatures,
    PredictResponse,
    Variant,
)

__all__ = [
    "CanaryPolicy",
    "Deployment",
    "DeploymentSpec",
    "NeighborFeatures",
    "PredictResponse",
    "Variant",
]
