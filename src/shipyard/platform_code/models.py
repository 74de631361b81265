"""Platform as code: the desired state, a change, and the saved plan (all JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The top-level keys of ``platform.yaml`` and the resource kind each one declares.
YAML_KINDS = {
    "teams": "team",
    "principals": "principal",
    "quotas": "quota",
    "tables": "table",
    "deployments": "deployment",
    "monitors": "monitor",
    "vector_indexes": "vector_index",
}
#: Every kind, in the order ``apply`` creates them (deletions go in reverse).
KIND_ORDER = (
    "team",
    "principal",
    "quota",
    "table",
    "feature",
    "pipeline",
    "monitor",
    "deployment",
    "vector_index",
)
PLAN_FORMAT = 1

Action = Literal["create", "update", "delete", "unchanged"]


class Resource(BaseModel):
    """One declared resource: its kind, name, JSON spec and where it was declared."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=32)
    name: str = Field(min_length=1, max_length=400)
    spec: dict[str, Any]
    source: str = Field(default="", max_length=1000)


class Desired(BaseModel):
    """What the project's files declare (``files.load``)."""

    model_config = ConfigDict(extra="forbid")

    resources: list[Resource] = Field(default_factory=list, max_length=10_000)

    def of(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]


class Change(BaseModel):
    """What ``apply`` does to one resource."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    name: str
    action: Action
    diff: list[str] = Field(default_factory=list)
    source: str = ""

    @property
    def pending(self) -> bool:
        return self.action != "unchanged"


class Plan(BaseModel):
    """A saved plan: the changes, the desired state they come from, and the state seen.

    ``fingerprint`` digests the platform's state when the plan was made; ``apply``
    refuses the plan once the state has moved (unless it already is what the plan
    wants, which makes a second apply a no-op).
    """

    model_config = ConfigDict(extra="forbid")

    format: int = PLAN_FORMAT
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    prune: bool = False
    #: Only these kinds are planned (None: every kind); environment promotion sets it.
    kinds: list[str] | None = Field(default=None, max_length=len(KIND_ORDER))
    changes: list[Change] = Field(default_factory=list)
    desired: Desired = Field(default_factory=Desired)

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.pending]
