"""Quotas and rate limits (issue #16)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import Body, PageSize
from shipyard.quotas.models import Quota, QuotaResource, QuotaScope, QuotaStatus

router = APIRouter(tags=["quotas"])


class SetQuota(Body):
    limit: int = Field(ge=0, le=2**62)


@router.get("/quotas")
def list_quotas(
    platform: Caller,
    scope: QuotaScope | None = None,
    subject: str | None = None,
    resource: QuotaResource | None = None,
    with_usage: bool = False,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[QuotaStatus]:
    return platform.quotas.list_quotas(
        scope=scope,
        subject=subject,
        resource=resource,
        with_usage=with_usage,
        limit=limit,
        page_token=page_token,
    )


@router.put("/quotas/{scope}/{subject}/{resource}")
def set_quota(
    platform: Caller, scope: QuotaScope, subject: str, resource: QuotaResource, body: SetQuota
) -> Quota:
    return platform.quotas.set_quota(scope, subject, resource, body.limit)


@router.delete("/quotas/{scope}/{subject}/{resource}")
def delete_quota(
    platform: Caller, scope: QuotaScope, subject: str, resource: QuotaResource
) -> Quota:
    return platform.quotas.delete_quota(scope, subject, resource)
