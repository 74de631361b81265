"""Registry routes, made from the registry's operation table (``shipyard.registry.ops``)."""

from __future__ import annotations

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.params import PageSize
from shipyard.api.routing import CapabilityRouter
from shipyard.registry.models import ModelVersion
from shipyard.registry.ops import OPS
from shipyard.registry.protocol import RegistryAPI

router = CapabilityRouter(prefix="/registry", tags=["registry"])
mount(router, "registry", RegistryAPI, OPS)


@router.get("/versions")
def list_all_versions(
    platform: Caller,
    run_id: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[ModelVersion]:
    return platform.registry.list_model_versions(
        None, run_id=run_id, limit=limit, page_token=page_token
    )
