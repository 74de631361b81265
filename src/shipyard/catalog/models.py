"""Catalog entities: assets, their versions and the lineage edges between them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shipyard.errors import InvalidArgument

#: Kinds the platform itself records; any lowercase word is accepted.
KNOWN_KINDS = (
    "table",
    "entity",
    "feature_view",
    "feature_service",
    "training_set",
    "experiment",
    "run",
    "model",
    "model_version",
    "deployment",
    "pipeline",
    "job",
)


#: Column sizes of ``assets.kind`` / ``assets.name`` / owner and tags (checked up
#: front so SQLite and PostgreSQL refuse the same input the same way).
MAX_KIND, MAX_NAME, MAX_LABEL = 64, 512, 128


class AssetRef(BaseModel):
    """``kind:name`` with an optional ``@version`` (``table:bronze.orders@3``)."""

    kind: str
    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str, *, default_kind: str | None = None) -> AssetRef:
        body, _, version = text.partition("@")
        kind, sep, name = body.partition(":")
        if not sep:
            if default_kind is None:
                raise InvalidArgument(
                    f"asset reference '{text}' must look like kind:name[@version]", ref=text
                )
            kind, name = default_kind, body
        if not kind or not name:
            raise InvalidArgument(f"asset reference '{text}' must look like kind:name", ref=text)
        if len(kind) > MAX_KIND or len(name) > MAX_NAME:
            raise InvalidArgument(
                f"asset kind is at most {MAX_KIND} characters and name at most {MAX_NAME}",
                ref=text[:100],
            )
        try:
            ver = int(version) if version else None
        except ValueError:
            raise InvalidArgument(f"version in '{text}' must be an integer", ref=text) from None
        return cls(kind=kind, name=name, version=ver)

    def __str__(self) -> str:
        base = f"{self.kind}:{self.name}"
        return f"{base}@{self.version}" if self.version is not None else base


class Asset(BaseModel):
    id: str
    kind: str
    name: str
    version: int
    owner: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def ref(self) -> AssetRef:
        return AssetRef(kind=self.kind, name=self.name, version=self.version)


class AssetVersion(BaseModel):
    asset_id: str
    version: int
    properties: dict[str, Any] = Field(default_factory=dict)
    created_by: str
    created_at: datetime


class LineageEdge(BaseModel):
    source: AssetRef
    target: AssetRef
    operation: str
    created_by: str
    created_at: datetime


class LineageGraph(BaseModel):
    root: AssetRef
    direction: str
    nodes: list[AssetRef]
    edges: list[LineageEdge]
