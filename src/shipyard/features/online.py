"""The online read path, compiled once per feature selection and kept lean.

A ``ReadPlan`` holds, per view, the store namespace, the codec, which decoded
positions to keep and the TTL in microseconds, so a lookup is: build the key
string, one store read, one ``struct.unpack``, a few list appends.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from shipyard.errors import InvalidArgument
from shipyard.features import ondemand
from shipyard.features.backends.base import OnlineStore
from shipyard.features.codec import ValueCodec
from shipyard.features.models import (
    NOT_FOUND,
    OUTSIDE_MAX_AGE,
    PRESENT,
    FeatureView,
    OnDemandFeatureView,
    OnlineFeatures,
)


def namespace(view: FeatureView) -> str:
    return f"{view.name}:{view.schema_hash()}"


def key_function(keys: list[str], types: list[str]) -> Any:
    """Row dict -> entity key string, as materialize writes it (``\\x1f`` between parts)."""
    casts = [int if t in ("int64", "int32") else str for t in types]
    if len(keys) == 1:
        k, cast = keys[0], casts[0]

        def one(row: dict[str, Any]) -> str:
            return str(cast(row[k]))

        return one
    pairs = list(zip(keys, casts, strict=True))

    def many(row: dict[str, Any]) -> str:
        return "\x1f".join(str(c(row[k])) for k, c in pairs)

    return many


@dataclass
class ViewRead:
    ns: str
    keys: list[str]
    key_of: Any
    codec: ValueCodec
    positions: list[int]
    out_names: list[str]
    ttl_us: int | None


@dataclass
class OnDemandRead:
    view: OnDemandFeatureView
    inputs: dict[str, str]  # column name the function sees -> output/request column
    outs: list[tuple[str, str]]  # (feature, output column)


@dataclass
class ReadPlan:
    views: list[ViewRead]
    join_keys: list[str]
    teams: list[str]
    on_demand: list[OnDemandRead] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)  # inputs of on-demand views not requested
    #: The catalog fingerprint of the definitions this plan was built from.
    fingerprint: Hashable = None


def _fetch_view(
    store: OnlineStore,
    vr: ViewRead,
    rows: Sequence[dict[str, Any]],
    now_us: int,
    values: dict[str, list[Any]],
    statuses: dict[str, list[str]],
    event_us: dict[str, list[int | None]],
) -> None:
    try:
        keys = [vr.key_of(r) for r in rows]
    except KeyError as exc:
        raise InvalidArgument(f"entity row lacks join key {exc}", missing=[str(exc)]) from None
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"entity key has the wrong type: {exc}") from None
    stored = [store.read_one(vr.ns, keys[0])] if len(keys) == 1 else store.read(vr.ns, keys)
    cols: list[list[Any]] = [[] for _ in vr.out_names]
    stats: list[str] = []
    times: list[int | None] = []
    decode, positions, ttl = vr.codec.decode, vr.positions, vr.ttl_us
    for item in stored:
        if item is None:
            status, ts, decoded = NOT_FOUND, None, None
        else:
            ts = item[0]
            if ttl is not None and now_us - ts > ttl:
                status, decoded = OUTSIDE_MAX_AGE, None
            else:
                status, decoded = PRESENT, decode(item[1])
        stats.append(status)
        times.append(ts)
        for col, pos in zip(cols, positions, strict=True):
            col.append(None if decoded is None else decoded[pos])
    for name, col in zip(vr.out_names, cols, strict=True):
        values[name] = col
        statuses[name] = stats
        event_us[name] = times


def read(store: OnlineStore, plan: ReadPlan, rows: Sequence[dict[str, Any]]) -> OnlineFeatures:
    """Look up ``rows`` (dicts of join keys and request fields) following ``plan``."""
    if not rows:
        raise InvalidArgument("entity_rows is empty")
    now_us = time.time_ns() // 1000
    values: dict[str, list[Any]] = {}
    try:
        for k in plan.join_keys:
            values[k] = [r[k] for r in rows]
    except KeyError as exc:
        raise InvalidArgument(f"entity row lacks join key {exc}", missing=[str(exc)]) from None
    except TypeError:
        raise InvalidArgument("entity rows must be mappings of column to value") from None
    statuses: dict[str, list[str]] = {}
    event_us: dict[str, list[int | None]] = {}
    for vr in plan.views:
        _fetch_view(store, vr, rows, now_us, values, statuses, event_us)
    if plan.on_demand:
        _run_on_demand(plan, rows, values, statuses, event_us)
    for name in plan.hidden:
        values.pop(name, None)
        statuses.pop(name, None)
        event_us.pop(name, None)
    return OnlineFeatures(values, statuses, event_us)


def _run_on_demand(
    plan: ReadPlan,
    rows: Sequence[dict[str, Any]],
    values: dict[str, list[Any]],
    statuses: dict[str, list[str]],
    event_us: dict[str, list[int | None]],
) -> None:
    n = len(rows)
    for od in plan.on_demand:
        data: dict[str, list[Any]] = {}
        for arg, col in od.inputs.items():
            if col in values:
                data[arg] = values[col]
            else:
                try:
                    data[arg] = [r[col] for r in rows]
                except KeyError:
                    raise InvalidArgument(
                        f"on-demand feature view '{od.view.name}' needs request field '{col}'",
                        missing=[col],
                    ) from None
        out = ondemand.run(
            od.view.function, pd.DataFrame(data), od.view.feature_names, od.view.name
        )
        for feat, name in od.outs:
            values[name] = [None if pd.isna(v) else v for v in out[feat].tolist()]
            statuses[name] = [PRESENT] * n
            event_us[name] = [None] * n
