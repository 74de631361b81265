"""Deployments as catalog assets: ``deployment:<name>@<version>``, spec in the properties."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from shipyard.catalog.context import ServiceContext
from shipyard.catalog.models import Asset
from shipyard.serving.models import Deployment, DeploymentSpec
from shipyard.serving.ports import ResolvedModel

KIND = "deployment"


def to_deployment(asset: Asset, properties: dict[str, Any] | None = None) -> Deployment:
    props = asset.properties if properties is None else properties
    return Deployment(
        name=asset.name,
        version=asset.version,
        owner=asset.owner,
        description=asset.description,
        spec=DeploymentSpec.model_validate(props["spec"]),
        created_by=asset.created_by,
        updated_at=asset.updated_at,
    )


def find(conn: Connection, ctx: ServiceContext, name: str) -> Deployment | None:
    asset = ctx.catalog.find(conn, KIND, name)
    return to_deployment(asset) if asset is not None else None


def version_spec(
    conn: Connection, ctx: ServiceContext, asset: Asset, version: int
) -> DeploymentSpec | None:
    for v in ctx.catalog.versions(conn, asset):
        if v.version == version:
            return DeploymentSpec.model_validate(v.properties["spec"])
    return None


class CatalogDeployments:
    """What the runtime asks the catalog: one deployment, and all deployments' versions."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def fetch(self, name: str) -> Deployment | None:
        with self._ctx.db.connect() as conn:
            return find(conn, self._ctx, name)

    def versions(self) -> dict[str, int]:
        out: dict[str, int] = {}
        offset = 0
        with self._ctx.db.connect() as conn:
            while True:
                page = self._ctx.catalog.search(conn, kind=KIND, offset=offset, limit=1000)
                out.update({a.name: a.version for a in page})
                if len(page) < 1000:
                    return out
                offset += 1000


def record_lineage(
    conn: Connection,
    ctx: ServiceContext,
    deployment: Asset,
    models: dict[str, Asset],
    served: list[ResolvedModel],
    feature_service: str | None,
) -> None:
    """``deploy`` edges from each served model version, ``serve_features`` from the service."""
    for ref in served:
        ctx.catalog.add_edge(
            conn,
            models[ref.name],
            deployment,
            operation="deploy",
            created_by=ctx.principal.name,
            source_version=ref.version,
        )
    if feature_service:
        svc = ctx.catalog.find(conn, "feature_service", feature_service)
        if svc is not None:
            ctx.catalog.add_edge(
                conn, svc, deployment, operation="serve_features", created_by=ctx.principal.name
            )


def ramping(ctx: ServiceContext, teams: list[str] | None = None) -> list[Asset]:
    """Deployments (of ``teams``; ``None``: all) whose canary ramp is running."""
    with ctx.db.connect() as conn:
        found = ctx.catalog.search(conn, kind=KIND, limit=100_000)
    return [
        a
        for a in found
        if (teams is None or a.owner in teams)
        and ((a.properties.get("spec") or {}).get("canary") or {}).get("status") == "running"
    ]
