"""Serving entities: deployments, their variants, canary policies and responses. No I/O."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shipyard.errors import InvalidArgument

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")
#: ``churn@champion`` (alias) or ``churn/7`` (version).
MODEL_REF_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)(?:@(?P<alias>[A-Za-z0-9_-]+)|/(?P<version>[0-9]+))$"
)
#: Request-field types a deployment may declare (what the model receives).
FIELD_TYPES = ("float64", "int64", "string", "bool")


class Variant(BaseModel):
    """One model version behind a deployment, with its share of the traffic.

    ``model`` is ``name@alias`` (follows the alias as it moves) or ``name/version``.
    A ``shadow`` variant gets a copy of every request; its answers are logged, never
    returned, and its weight must be 0.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    model: str
    weight: int = 100
    shadow: bool = False

    def parsed_model(self) -> tuple[str, str | None, int | None]:
        """``(model name, alias, version)``; exactly one of alias/version is set."""
        m = MODEL_REF_RE.match(self.model)
        if m is None:
            raise InvalidArgument(
                f"variant '{self.name}': model '{self.model}' must look like name@alias or name/version",
                variant=self.name,
                model=self.model,
            )
        version = m.group("version")
        return m.group("name"), m.group("alias"), int(version) if version else None


class CanaryPolicy(BaseModel):
    """A weight ramp for one variant, with the bounds that stop it and roll it back."""

    model_config = ConfigDict(frozen=True)

    variant: str
    steps: list[int] = Field(default_factory=lambda: [5, 25, 100])
    #: Seconds between automatic steps; ``None`` means advance only by command.
    interval_s: float | None = None
    max_error_rate: float = 0.05
    max_p99_ms: float | None = None
    #: Requests the canary must have served before its bounds are judged.
    min_requests: int = 20


class CanaryState(BaseModel):
    policy: CanaryPolicy
    step: int = 0
    status: Literal["running", "completed", "rolled_back"] = "running"
    #: The other variants' weights before the ramp started (restored on rollback).
    baseline: dict[str, int] = Field(default_factory=dict)
    started_at: datetime | None = None
    stepped_at: datetime | None = None
    reason: str | None = None


#: How a neighbour step sums up the neighbours' column into one feature.
NEIGHBOR_AGGS = ("mean", "count", "sum", "min", "max")
NeighborAgg = Literal["mean", "count", "sum", "min", "max"]


class NeighborFeatures(BaseModel):
    """A feature step: the ``k`` nearest neighbours of the request's entity in a vector
    index, summed up over a column of the index's source table.

    The row's ``key`` field (an entity key or request field) is looked up as a row id
    of ``index`` (the entity's own embedding; the entity itself is left out), and each
    of ``outputs`` (``{feature name: aggregation}``) becomes a model input column:
    ``mean``/``sum``/``min``/``max`` of ``column`` over the neighbours (nulls skipped),
    or ``count`` of neighbours found. An entity that is not in the index gets ``None``
    features and the status ``NOT_FOUND``.

    Example:
        >>> NeighborFeatures(index="customers", key="customer_id", k=20, column="churned",
        ...                  outputs={"similar_churn_rate": "mean", "similar_n": "count"})
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: str = Field(max_length=200)
    key: str = Field(max_length=200)
    k: int = Field(10, ge=1, le=1000)
    column: str | None = Field(None, max_length=200)
    outputs: dict[str, NeighborAgg] = Field(min_length=1, max_length=50)
    #: Only neighbours whose filterable columns match (the index's filter syntax).
    filter: dict[str, Any] | None = None


class DeploymentSpec(BaseModel):
    """What a deployment version serves (stored in the catalog asset's properties)."""

    variants: list[Variant]
    feature_service: str | None = None
    entity_keys: list[str] = Field(default_factory=list)
    #: Fields the caller sends with each row, passed to the model: ``{name: type}``.
    request_fields: dict[str, str] = Field(default_factory=dict)
    #: Refuse rows whose entity has no online features instead of serving them.
    require_features: bool = False
    #: Nearest-neighbour feature steps, looked up after the feature service.
    neighbors: list[NeighborFeatures] = Field(default_factory=list)
    #: Log every prediction to the inference log table.
    log_predictions: bool = True
    canary: CanaryState | None = None


class Deployment(BaseModel):
    """A named endpoint: the catalog asset ``deployment:<name>@<version>``."""

    name: str
    version: int
    owner: str
    description: str = ""
    spec: DeploymentSpec
    created_by: str
    updated_at: datetime

    @property
    def variants(self) -> list[Variant]:
        return self.spec.variants

    @property
    def ref(self) -> str:
        return f"deployment:{self.name}@{self.version}"

    @property
    def primary_model(self) -> str:
        """The model of the variant that serves the most traffic (what an export exports)."""
        served = [v for v in self.variants if not v.shadow]
        return max(served, key=lambda v: v.weight).model


class PredictResponse(BaseModel):
    """One scored request: predictions in input order, who answered, the features' status."""

    request_id: str
    predictions: list[Any]
    variant: str
    model_version: str
    deployment_version: int
    #: Per row, ``{feature: status}`` (``PRESENT``, ``NOT_FOUND``, ``OUTSIDE_MAX_AGE``).
    feature_status: list[dict[str, str]] = Field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "predictions": self.predictions,
            "variant": self.variant,
            "model_version": self.model_version,
            "deployment_version": self.deployment_version,
            "feature_status": self.feature_status,
        }


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidArgument(
            f"deployment name '{name}' must start with a letter and use letters, digits, _ . -",
            name=name,
        )
    return name


def validate_spec(spec: DeploymentSpec) -> None:
    """Check the shape of a spec (model existence is checked by the service).

    Raises:
        InvalidArgument: no variants, duplicate names, bad weights, bad field types.
    """
    if not spec.variants:
        raise InvalidArgument("a deployment needs at least one variant")
    names = [v.name for v in spec.variants]
    if len(set(names)) != len(names):
        raise InvalidArgument(f"variant names must be unique: {names}", variants=names)
    live = [v for v in spec.variants if not v.shadow]
    if not live:
        raise InvalidArgument("a deployment needs at least one non-shadow variant")
    for v in spec.variants:
        if not NAME_RE.match(v.name):
            raise InvalidArgument(f"variant name '{v.name}' is not valid", variant=v.name)
        v.parsed_model()
        if v.shadow and v.weight != 0:
            raise InvalidArgument(
                f"shadow variant '{v.name}' must have weight 0 (it gets a copy of all traffic)",
                variant=v.name,
            )
        if not 0 <= v.weight <= 100:
            raise InvalidArgument(f"variant '{v.name}' weight must be 0..100", variant=v.name)
    total = sum(v.weight for v in live)
    if total != 100:
        raise InvalidArgument(
            f"variant weights must sum to 100, got {total}",
            weights={v.name: v.weight for v in live},
        )
    for field, kind in spec.request_fields.items():
        if kind not in FIELD_TYPES:
            raise InvalidArgument(
                f"request field '{field}' has unknown type '{kind}' (one of {', '.join(FIELD_TYPES)})",
                field=field,
            )
    if spec.feature_service and not spec.entity_keys:
        raise InvalidArgument("a deployment with a feature_service needs entity_keys")
    overlap = set(spec.entity_keys) & set(spec.request_fields)
    if overlap:
        raise InvalidArgument(f"{sorted(overlap)} are both entity keys and request fields")
    _validate_neighbors(spec)


def _validate_neighbors(spec: DeploymentSpec) -> None:
    """Each step reads a field the row has, and its outputs name new, distinct columns."""
    given = set(spec.entity_keys) | set(spec.request_fields)
    seen: set[str] = set()
    for n, step in enumerate(spec.neighbors):
        where = f"neighbors[{n}] (index '{step.index}')"
        if step.key not in given:
            raise InvalidArgument(
                f"{where}: key '{step.key}' is not an entity key or request field",
                field=step.key,
            )
        for out, agg in step.outputs.items():
            if not NAME_RE.match(out):
                raise InvalidArgument(f"{where}: feature name '{out}' is not valid", field=out)
            if out in given or out in seen:
                raise InvalidArgument(f"{where}: feature '{out}' is named twice", field=out)
            seen.add(out)
            if agg != "count" and step.column is None:
                raise InvalidArgument(f"{where}: '{agg}' of what? give the step a column")


class ExportResult(BaseModel):
    """An edge export (``ServingService.export_model``): the file, the run artifact, the
    catalog asset and the measured difference on the rows checked."""

    model_version: str
    format: str
    converter: str
    path: str
    artifact: str | None
    asset: str
    rows_checked: int
    max_abs_diff: float
    tolerance: float
    size_bytes: int
