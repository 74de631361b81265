"""Restore points (admins): create, list, get, verify, prune. Restoring is local (CLI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import Body, PageSize
from shipyard.backup.models import PruneReport, RestorePoint, VerifyReport

router = APIRouter(tags=["backup"])

PointId = Annotated[str, Path(pattern=r"^\d{8}T\d{9}Z-[0-9a-f]{8}$")]


class PruneIn(Body):
    keep_last: int | None = Field(default=None, ge=1, le=100_000)


@router.post("/backups", status_code=201)
def create_backup(platform: Caller) -> RestorePoint:
    return platform.backup.create_backup()


@router.get("/backups")
def list_backups(
    platform: Caller, limit: PageSize | None = None, page_token: str | None = None
) -> Page[RestorePoint]:
    return platform.backup.list_backups(limit=limit, page_token=page_token)


@router.post("/backups/-/prune")
def prune_backups(platform: Caller, body: PruneIn | None = None) -> PruneReport:
    return platform.backup.prune_backups(keep_last=body.keep_last if body else None)


@router.get("/backups/{point_id}")
def get_backup(platform: Caller, point_id: PointId) -> RestorePoint:
    return platform.backup.get_backup(point_id)


@router.post("/backups/{point_id}/verify")
def verify_backup(platform: Caller, point_id: PointId) -> VerifyReport:
    return platform.backup.verify_backup(point_id)
