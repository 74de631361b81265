"""Feature definitions as code and the values the feature store hands back.

Definitions are plain dataclasses (no I/O): ``Entity``, ``Feature``,
``FeatureView``, ``OnDemandFeatureView``, ``PushSource``, ``FeatureService``.
They round-trip through ``to_spec()``/``from_spec()`` into the catalog.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

#: Feature value types and the Arrow types they map to.
VALUE_TYPES = {
    "float64": "float64",
    "float32": "float32",
    "int64": "int64",
    "int32": "int32",
    "bool": "bool",
    "string": "string",
    "timestamp": "timestamp[us, tz=UTC]",
}


#: Embeddings: ``vector[N]``, N float32 values (an Arrow fixed-size list), N in 1..16000.
_VECTOR = re.compile(r"^vector\[([1-9][0-9]{0,4})\]$")
MAX_VECTOR_DIMENSION = 16_000


def vector_dimension(dtype: str) -> int | None:
    """N of a ``vector[N]`` feature type; None for any other type."""
    found = _VECTOR.match(dtype) if isinstance(dtype, str) else None
    if found is None or int(found.group(1)) > MAX_VECTOR_DIMENSION:
        return None
    return int(found.group(1))


def arrow_type(dtype: str) -> Any:
    """The Arrow type of a feature value type."""
    import pyarrow as pa

    dim = vector_dimension(dtype)
    if dim is not None:
        return pa.list_(pa.float32(), dim)
    if dtype == "timestamp":
        return pa.timestamp("us", tz="UTC")
    return pa.type_for_alias(VALUE_TYPES[dtype])


#: Types an entity join key may have.
KEY_TYPES = ("int64", "int32", "string")

PRESENT = "PRESENT"
NOT_FOUND = "NOT_FOUND"
OUTSIDE_MAX_AGE = "OUTSIDE_MAX_AGE"


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-." for c in name):
        raise InvalidArgument(
            f"{kind} name {name!r} must be non-empty letters, digits, '_', '-' or '.'",
            kind=kind,
            name=str(name),
        )


def _ttl_seconds(ttl: timedelta | float | int | None) -> float | None:
    if ttl is None:
        return None
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    if seconds < 0:
        raise InvalidArgument(f"ttl must not be negative (got {ttl})")
    return seconds or None  # TTL 0 means no lower bound


@dataclass
class Entity:
    """What features are about (a customer, a driver), identified by its join keys."""

    name: str
    join_keys: list[str]
    value_type: str = "int64"
    description: str = ""
    owner: str | None = None
    tags: list[str] = field(default_factory=list)

    kind = "entity"

    def __post_init__(self) -> None:
        _check_name("entity", self.name)
        if isinstance(self.join_keys, str):
            self.join_keys = [self.join_keys]
        if not self.join_keys:
            raise InvalidArgument(f"entity '{self.name}' needs at least one join key")
        if self.value_type not in KEY_TYPES:
            raise InvalidArgument(
                f"entity '{self.name}': value_type must be one of {', '.join(KEY_TYPES)}"
                f" (got {self.value_type!r})"
            )

    def to_spec(self) -> dict[str, Any]:
        return {
            "join_keys": list(self.join_keys),
            "value_type": self.value_type,
            "description": self.description,
        }

    @classmethod
    def from_spec(cls, name: str, spec: dict[str, Any], owner: str, tags: list[str]) -> Entity:
        return cls(
            name=name,
            join_keys=spec["join_keys"],
            value_type=spec["value_type"],
            description=spec.get("description", ""),
            owner=owner,
            tags=tags,
        )


@dataclass
class Feature:
    """One typed column of a feature view."""

    name: str
    dtype: str = "float64"
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("feature", self.name)
        if self.dtype not in VALUE_TYPES and vector_dimension(self.dtype) is None:
            raise InvalidArgument(
                f"feature '{self.name}': dtype must be one of {', '.join(VALUE_TYPES)}"
                f" or vector[N] (N in 1..{MAX_VECTOR_DIMENSION}; got {self.dtype!r})",
                feature=self.name,
            )

    def to_spec(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "description": self.description}


@dataclass
class PushSource:
    """Records pushed through the SDK/HTTP/events; appended to ``table`` in the lake."""

    name: str
    table: str

    def to_spec(self) -> dict[str, Any]:
        return {"push": self.name, "table": self.table}


@dataclass
class FeatureView:
    """Features of one or more entities read from a lake table (or SQL over lake tables)."""

    name: str
    entities: list[str]
    source: str | PushSource
    features: list[Feature]
    timestamp_field: str = "event_timestamp"
    created_timestamp_field: str | None = None
    ttl: timedelta | None = None
    online: bool = True
    description: str = ""
    owner: str | None = None
    tags: list[str] = field(default_factory=list)
    #: Materialize on this cron schedule (``"0 * * * *"``, ``"@daily"``), in
    #: ``schedule_timezone``: the pipeline scheduler queues one materialization job per
    #: tick after the view was applied (an online view only; docs/features.md).
    schedule: str | None = None
    schedule_timezone: str = "UTC"

    kind = "feature_view"

    def __post_init__(self) -> None:
        _check_name("feature view", self.name)
        if isinstance(self.entities, str):
            self.entities = [self.entities]
        self.entities = [e.name if isinstance(e, Entity) else e for e in self.entities]
        if not self.features:
            raise InvalidArgument(f"feature view '{self.name}' declares no features")
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidArgument(f"feature view '{self.name}' repeats {', '.join(dupes)}")
        _ttl_seconds(self.ttl)
        if self.schedule is not None:
            from shipyard._internal import cron

            if not self.online:
                raise InvalidArgument(
                    f"feature view '{self.name}': a schedule materializes an online view; "
                    "this one is offline (online=False)"
                )
            try:
                cron.check(self.schedule, self.schedule_timezone)
            except InvalidArgument as exc:
                raise InvalidArgument(f"feature view '{self.name}': {exc}") from None

    @property
    def ttl_seconds(self) -> float | None:
        return _ttl_seconds(self.ttl)

    @property
    def source_table(self) -> str:
        """The lake table the view reads (a push source's table for push views)."""
        return self.source.table if isinstance(self.source, PushSource) else self.source

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def schema_hash(self) -> str:
        """Changes when the stored online value layout would change."""
        text = json.dumps([[f.name, f.dtype] for f in self.features])
        return hashlib.sha1(text.encode()).hexdigest()[:8]

    def to_spec(self) -> dict[str, Any]:
        source: Any = self.source.to_spec() if isinstance(self.source, PushSource) else self.source
        return {
            "entities": list(self.entities),
            "source": source,
            "features": [f.to_spec() for f in self.features],
            "timestamp_field": self.timestamp_field,
            "created_timestamp_field": self.created_timestamp_field,
            "ttl_seconds": self.ttl_seconds,
            "online": self.online,
            "description": self.description,
            # only when set: the specs of views without one (and their plans) stay as they were
            **(
                {"schedule": self.schedule, "schedule_timezone": self.schedule_timezone}
                if self.schedule
                else {}
            ),
        }

    @classmethod
    def from_spec(cls, name: str, spec: dict[str, Any], owner: str, tags: list[str]) -> FeatureView:
        src = spec["source"]
        source = PushSource(src["push"], src["table"]) if isinstance(src, dict) else src
        ttl = spec.get("ttl_seconds")
        return cls(
            name=name,
            entities=spec["entities"],
            source=source,
            features=[Feature(**f) for f in spec["features"]],
            timestamp_field=spec["timestamp_field"],
            created_timestamp_field=spec.get("created_timestamp_field"),
            ttl=timedelta(seconds=ttl) if ttl else None,
            online=spec.get("online", True),
            description=spec.get("description", ""),
            owner=owner,
            tags=tags,
            schedule=spec.get("schedule"),
            schedule_timezone=spec.get("schedule_timezone", "UTC"),
        )


@dataclass
class FeatureService:
    """The named set of features one model uses: ``"view:feature"`` refs or whole views."""

    name: str
    features: list[Any]
    description: str = ""
    owner: str | None = None
    tags: list[str] = field(default_factory=list)

    kind = "feature_service"

    def __post_init__(self) -> None:
        _check_name("feature service", self.name)
        if not self.features:
            raise InvalidArgument(f"feature service '{self.name}' lists no features")

    def refs(self) -> list[str]:
        """Feature refs, whole views written as ``"view:*"``."""
        out: list[str] = []
        for item in self.features:
            if isinstance(item, FeatureView | OnDemandFeatureView):
                out.append(f"{item.name}:*")
            elif isinstance(item, str):
                out.append(item if ":" in item else f"{item}:*")
            else:
                raise InvalidArgument(
                    f"feature service '{self.name}': {item!r} is not a feature ref or a view"
                )
        return out

    def to_spec(self) -> dict[str, Any]:
        return {"features": self.refs(), "description": self.description}

    @classmethod
    def from_spec(
        cls, name: str, spec: dict[str, Any], owner: str, tags: list[str]
    ) -> FeatureService:
        return cls(
            name=name,
            features=list(spec["features"]),
            description=spec.get("description", ""),
            owner=owner,
            tags=tags,
        )


@dataclass
class OnDemandFeatureView:
    """Features computed by a Python function at request time and at training time.

    ``function`` takes a pandas DataFrame holding the ``inputs`` (``"view:feature"``
    refs and request field names) and returns a DataFrame with the ``features``.
    The same function runs in ``get_historical_features`` and ``get_online_features``.
    """

    name: str
    inputs: list[str]
    features: list[Feature]
    function: Any
    request_schema: dict[str, str] = field(default_factory=dict)
    description: str = ""
    owner: str | None = None
    tags: list[str] = field(default_factory=list)

    kind = "on_demand_feature_view"

    def __post_init__(self) -> None:
        _check_name("on-demand feature view", self.name)
        if not callable(self.function):
            raise InvalidArgument(f"on-demand feature view '{self.name}': function is not callable")

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def to_spec(self) -> dict[str, Any]:
        from shipyard.features.ondemand import function_spec

        return {
            "inputs": list(self.inputs),
            "features": [f.to_spec() for f in self.features],
            "request_schema": dict(self.request_schema),
            "function": function_spec(self.function),
            "description": self.description,
        }

    @classmethod
    def from_spec(
        cls, name: str, spec: dict[str, Any], owner: str, tags: list[str]
    ) -> OnDemandFeatureView:
        from shipyard.features.ondemand import load_function

        return cls(
            name=name,
            inputs=spec["inputs"],
            features=[Feature(**f) for f in spec["features"]],
            function=load_function(spec["function"]),
            request_schema=spec.get("request_schema", {}),
            description=spec.get("description", ""),
            owner=owner,
            tags=tags,
        )


Definition = Entity | FeatureView | FeatureService | OnDemandFeatureView
DEFINITION_KINDS: dict[str, type[Any]] = {
    "entity": Entity,
    "feature_view": FeatureView,
    "on_demand_feature_view": OnDemandFeatureView,
    "feature_service": FeatureService,
}


# -- results ------------------------------------------------------------------------------


@dataclass
class TrainingSet:
    """A point-in-time correct training set saved as the Delta table ``datasets.<name>``."""

    name: str
    table: str
    version: int
    table_version: int
    num_rows: int
    features: list[str]
    sources: dict[str, int]
    _lake_reader: Any = field(default=None, repr=False, compare=False)

    @property
    def ref(self) -> str:
        return f"training_set:{self.name}@{self.version}"

    def __str__(self) -> str:
        return self.ref

    def to_pandas(self) -> pd.DataFrame:
        if self._lake_reader is None:
            raise InvalidArgument("this training set was not loaded from a platform")
        return self._lake_reader(self.table, self.table_version).to_pandas()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "table": self.table,
            "version": self.version,
            "table_version": self.table_version,
            "num_rows": self.num_rows,
            "features": self.features,
            "sources": self.sources,
        }


@dataclass
class MaterializeResult:
    view: str
    entities: int
    rows: int
    watermark: datetime | None
    source_version: int | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "entities": self.entities,
            "rows": self.rows,
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "source_version": self.source_version,
            "seconds": self.seconds,
        }


@dataclass
class PushResult:
    push_source: str
    rows: int
    online_written: int
    table_version: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "push_source": self.push_source,
            "rows": self.rows,
            "online_written": self.online_written,
            "table_version": self.table_version,
        }


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros_to_dt(us: int | None) -> datetime | None:
    if us is None:
        return None
    return _EPOCH + timedelta(microseconds=us)


class OnlineFeatures:
    """Online values: one column per join key and feature, a status and a timestamp per value."""

    __slots__ = ("_event_us", "statuses", "values")

    def __init__(
        self,
        values: dict[str, list[Any]],
        statuses: dict[str, list[str]],
        event_us: dict[str, list[int | None]],
    ) -> None:
        self.values = values
        self.statuses = statuses
        self._event_us = event_us

    @property
    def event_timestamps(self) -> dict[str, list[datetime | None]]:
        return {k: [_micros_to_dt(u) for u in v] for k, v in self._event_us.items()}

    def to_dict(self) -> dict[str, list[Any]]:
        return dict(self.values)

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.values)

    def to_json(self) -> dict[str, Any]:
        """The wire form: values, statuses and ISO event timestamps.

        The features of one view share a timestamp: each distinct one is formatted once.
        """
        iso: dict[int, str] = {}

        def fmt(u: int | None) -> str | None:
            if u is None:
                return None
            text = iso.get(u)
            if text is None:
                text = iso[u] = (_EPOCH + timedelta(microseconds=u)).isoformat()
            return text

        ts = {k: [fmt(u) for u in v] for k, v in self._event_us.items()}
        return {"values": self.values, "statuses": self.statuses, "event_timestamps": ts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OnlineFeatures:
        us: dict[str, list[int | None]] = {}
        for k, v in data.get("event_timestamps", {}).items():
            us[k] = [
                None
                if d is None
                else int(
                    (datetime.fromisoformat(d) - datetime(1970, 1, 1, tzinfo=UTC))
                    / timedelta(microseconds=1)
                )
                for d in v
            ]
        return cls(data["values"], data["statuses"], us)

    def __repr__(self) -> str:
        return f"OnlineFeatures({self.values!r})"
