"""Lake tables as catalog assets: ``table:<layer>.<name>`` whose version is the Delta version."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
from sqlalchemy.engine import Connection

from shipyard.catalog.context import ServiceContext
from shipyard.catalog.models import Asset
from shipyard.lake.models import ColumnInfo, TableInfo, parse_table_name
from shipyard.lake.storage import DeltaStorage, TableStats

KIND = "table"


def columns_of(schema: pa.Schema, docs: dict[str, Any] | None = None) -> list[ColumnInfo]:
    docs = docs or {}
    out = []
    for f in schema:
        doc = docs.get(f.name) or {}
        out.append(
            ColumnInfo(
                name=f.name,
                type=str(f.type),
                nullable=f.nullable,
                description=doc.get("description", ""),
                tags=list(doc.get("tags", [])),
            )
        )
    return out


def record(
    ctx: ServiceContext,
    conn: Connection,
    storage: DeltaStorage,
    name: str,
    stats: TableStats,
    *,
    owner: str,
    description: str | None = None,
    tags: Iterable[str] | None = None,
    properties: dict[str, Any] | None = None,
) -> Asset:
    """Create or advance the catalog asset of ``name`` to the Delta ``stats``.

    The catalog never moves backwards: if another writer recorded a newer
    version first, only the properties of that newer snapshot are kept.
    """
    current = ctx.catalog.find(conn, KIND, name)
    docs = (current.properties.get("column_docs") if current else None) or {}
    docs = {**docs, **((properties or {}).get("column_docs") or {})}
    props = {
        "layer": parse_table_name(name)[0],
        "location": storage.uri(name),
        "num_rows": stats.num_rows,
        "size_bytes": stats.size_bytes,
        "num_files": stats.num_files,
        "columns": [c.model_dump() for c in columns_of(stats.schema, docs)],
        **(properties or {}),
        "column_docs": docs,
    }
    newer = current is not None and current.version > stats.version
    return ctx.catalog.upsert(
        conn,
        kind=KIND,
        name=name,
        owner=current.owner if current else owner,
        created_by=ctx.principal.name,
        description=description,
        tags=tags,
        properties=None if newer else props,
        new_version=not newer,
        version=None if newer else stats.version,
    )


def info(
    asset: Asset, *, defined: bool = False, definition: dict[str, Any] | None = None
) -> TableInfo:
    p = asset.properties
    d = definition or {}
    return TableInfo(
        name=asset.name,
        layer=p.get("layer", asset.name.partition(".")[0]),
        version=asset.version,
        num_rows=int(p.get("num_rows", 0)),
        size_bytes=int(p.get("size_bytes", 0)),
        num_files=int(p.get("num_files", 0)),
        columns=[ColumnInfo.model_validate(c) for c in p.get("columns", [])],
        owner=asset.owner,
        description=asset.description,
        tags=asset.tags,
        location=p.get("location", ""),
        defined=defined,
        incremental=d.get("incremental") if defined else None,
        schema_evolution=bool(d.get("schema_evolution", p.get("schema_evolution", False))),
        primary_key=d.get("primary_key"),
        updated_at=asset.updated_at,
    )
