"""OpenLineage run events as Shipyard reads them from outside tools (``POST /lineage``).

Only the fields Shipyard uses are typed; facets stay open (any producer may add
its own), but every typed field is checked, so a malformed event is a 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]
_NAME = Field(min_length=1, max_length=400)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class OLRun(_Open):
    runId: UUID
    facets: dict[str, Any] = Field(default_factory=dict)


class OLJob(_Open):
    namespace: str = _NAME
    name: str = _NAME
    facets: dict[str, Any] = Field(default_factory=dict)


class OLDataset(_Open):
    namespace: str = _NAME
    name: str = _NAME
    facets: dict[str, Any] = Field(default_factory=dict)


class OLRunEvent(_Open):
    """A ``RunEvent`` of the OpenLineage spec (2-0-x)."""

    eventType: EventType | None = None
    eventTime: datetime
    producer: str = Field(min_length=1, max_length=2048)
    schemaURL: str = Field(min_length=1, max_length=2048)
    run: OLRun
    job: OLJob
    inputs: list[OLDataset] = Field(default_factory=list, max_length=1000)
    outputs: list[OLDataset] = Field(default_factory=list, max_length=1000)


class LineageIngest(BaseModel):
    """What one accepted event added to the lineage graph."""

    run_id: str
    event_type: str | None
    #: Catalog assets the event's inputs and outputs are (``kind:name@version``).
    inputs: list[str]
    outputs: list[str]
    #: Lineage edges added (0 for START/RUNNING/FAIL events: only completed runs make lineage).
    edges: int
