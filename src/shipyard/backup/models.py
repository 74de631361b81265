"""Restore points and what ``verify`` and ``restore`` report about them (no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

#: ``complete``: its manifest was written (the last step). ``incomplete``: it was
#: started and never finished (a crash, ``kill -9``); it is never restored from.
Status = Literal["complete", "incomplete"]


class FileEntry(BaseModel):
    """One stored file of a restore point: its key under the point, size and SHA-256."""

    key: str
    size: int
    sha256: str


class TableEntry(BaseModel):
    """One lake table at the Delta version the catalog snapshot recorded."""

    name: str
    version: int
    num_rows: int


class RestorePoint(BaseModel):
    """One backup: what it holds (the manifest) or, if unfinished, when it started."""

    id: str
    status: Status
    started_at: datetime
    finished_at: datetime | None = None
    project: str | None = None
    #: ``sqlite`` (a SQLite backup-API copy) or ``postgresql`` (a ``pg_dump`` archive).
    catalog_dialect: str | None = None
    #: PostgreSQL: the schema the catalog lives in (``pg_dump`` copies the whole
    #: database, which may hold other environments' schemas); None means ``public``.
    catalog_schema: str | None = None
    tables: list[TableEntry] = Field(default_factory=list)
    #: Artifact files (tracking runs and model versions), counted.
    artifacts: int = 0
    #: ``sqlite`` (a copy of the embedded online store) or ``rebuild`` (materialize
    #: from the lake after a restore: the Redis store is rebuilt, not dumped).
    online: str | None = None
    total_bytes: int = 0
    seconds: float = 0.0
    files: list[FileEntry] = Field(default_factory=list, exclude=True)


class VerifyReport(BaseModel):
    """What ``verify`` checked; ``ok`` is false when any problem was found."""

    id: str
    ok: bool
    files_checked: int
    tables_checked: int
    problems: list[str] = Field(default_factory=list)


class RestoreReport(BaseModel):
    """Where a restore point was restored to."""

    id: str
    project_dir: str
    catalog_url: str
    tables: int
    artifacts: int
    online: str | None
    seconds: float


class PruneReport(BaseModel):
    """Restore points the retention policy deleted (ids), and those it kept."""

    deleted: list[str]
    kept: list[str]
