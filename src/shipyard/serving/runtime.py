"""The request path: cached deployments, loaded models, routing, features, scoring.

One ``ServingRuntime`` per process (kept by ``ServingRuntimes``). It asks the catalog
nothing per request: deployments are cached and a background thread refreshes
them (and re-resolves aliases) every ``refresh_interval`` seconds, swapping in a
new snapshot only once its models are loaded, so no request waits for a load or
fails during a swap. Between those, the thread checks ``watch`` (the catalog's
change feed for deployments: microseconds, no query) every ``watch_interval``
seconds and refreshes at once when a deployment changed in any process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shipyard.errors import BackendUnavailable, InvalidArgument, NotFound, ShipyardError
from shipyard.serving.fastpath import Scorer, fast_scorer
from shipyard.serving.inputs import check_rows, entity_key_text
from shipyard.serving.models import Deployment, NeighborFeatures, PredictResponse, Variant
from shipyard.serving.ports import (
    FeatureLookup,
    LoadedModel,
    ModelSource,
    NeighborLookup,
    ResolvedModel,
)
from shipyard.serving.routing import WeightTable, bucket
from shipyard.serving.shadow import ShadowScorer
from shipyard.serving.stats import StatsBook

log = logging.getLogger("shipyard.serving")

PRESENT = "PRESENT"

#: Called with one record per scored row (the prediction log); must not block.
RecordSink = Callable[[list[dict[str, Any]]], None]


@dataclass(slots=True)
class VariantRuntime:
    variant: Variant
    model_ref: ResolvedModel
    model: LoadedModel
    columns: list[str] | None
    #: A scorer that takes a float64 matrix in ``columns`` order (see ``fastpath.py``).
    fast: Scorer | None = None

    def score(self, data: dict[str, list[Any]], active: ActiveDeployment) -> Any:
        if self.fast is not None and active.numeric and self.columns is not None:
            return self.fast(_matrix(data, self.columns))
        return self.model.predict(_frame(data, self.columns, active.entity_keys, active.numeric))

    async def ascore(self, data: dict[str, list[Any]], active: ActiveDeployment) -> Any:
        """``score`` that awaits a worker model (an in-process one scores at once)."""
        if self.fast is not None and active.numeric and self.columns is not None:
            matrix = _matrix(data, self.columns)
            submit = getattr(self.fast, "submit", None)
            return await submit(matrix) if submit is not None else self.fast(matrix)
        frame = _frame(data, self.columns, active.entity_keys, active.numeric)
        apredict = getattr(self.model, "apredict", None)
        return await apredict(frame) if apredict is not None else self.model.predict(frame)


@dataclass(slots=True)
class ActiveDeployment:
    """An immutable snapshot of one deployment version with its models loaded."""

    deployment: Deployment
    live: list[VariantRuntime]
    shadows: list[VariantRuntime]
    table: WeightTable
    entity_keys: tuple[str, ...]
    request_fields: dict[str, str]
    #: Every request field is a number: inputs can go to the model as one float block.
    numeric: bool


@dataclass(slots=True)
class _Request:
    """One predict call between its routing and its answer."""

    name: str
    t0: float
    active: ActiveDeployment
    vr: VariantRuntime
    request_id: str
    key: str
    rows: list[dict[str, Any]]
    data: dict[str, list[Any]]
    statuses: list[dict[str, str]]


def expected_columns(model: Any) -> list[str] | None:
    """The input columns a model declares (registry signature or sklearn's names), if any."""
    for attr in ("input_columns", "feature_names_in_"):
        cols = getattr(model, attr, None)
        if cols is not None and len(cols):
            return [str(c) for c in cols]
    return None


def to_list(raw: Any) -> list[Any]:
    """Model output as JSON-ready values; two-column probabilities become P(class 1)."""
    if isinstance(raw, pd.DataFrame | pd.Series):
        raw = raw.to_numpy()
    arr = np.asarray(raw)
    if arr.ndim == 2 and arr.shape[1] == 2:
        arr = arr[:, 1]
    elif arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    return arr.tolist()


class ServingRuntime:
    """Deployments and models of this process, and the hot path that scores requests."""

    def __init__(
        self,
        *,
        fetch: Callable[[str], Deployment | None],
        list_versions: Callable[[], dict[str, int]],
        models: ModelSource,
        features: FeatureLookup | None,
        sink: RecordSink | None = None,
        refresh_interval: float = 1.0,
        watch: Callable[[], Hashable | None] | None = None,
        watch_interval: float = 0.05,
        neighbors: NeighborLookup | None = None,
    ) -> None:
        self._fetch = fetch
        self._list_versions = list_versions
        self._source = models
        self._lookup = features
        self._neighbors = neighbors
        self.sink = sink
        self.refresh_interval = refresh_interval
        self._watch = watch
        self.watch_interval = watch_interval
        self.stats = StatsBook()
        self._active: dict[str, ActiveDeployment] = {}
        self._models: dict[ResolvedModel, LoadedModel] = {}
        self._fast: dict[ResolvedModel, tuple[Any, Any]] = {}
        self._load_lock = threading.RLock()
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        self.shadows = ShadowScorer(
            self._emit,
            lambda d, v, ms, err: self.stats.get(d, v).record(ms, err),
            lambda vr, data, active: to_list(vr.score(data, active)),
        )
        #: Hooks run after each refresh tick (canary checks); errors are logged.
        self.tick_hooks: list[Callable[[], None]] = []

    # -- snapshots ------------------------------------------------------------------

    def get(self, name: str) -> ActiveDeployment:
        active = self._active.get(name)
        return active if active is not None else self._load(name)

    def _load(self, name: str) -> ActiveDeployment:
        with self._load_lock:
            active = self._active.get(name)
            if active is not None:
                return active
            dep = self._fetch(name)
            if dep is None:
                raise NotFound(f"no deployment named '{name}'", name=name)
            active = self.build(dep)
            self._active[name] = active
            self._ensure_refresher()
            return active

    def build(self, dep: Deployment) -> ActiveDeployment:
        """Resolve every variant's model and load it (cached per version per process)."""
        live: list[VariantRuntime] = []
        shadows: list[VariantRuntime] = []
        for v in dep.spec.variants:
            name, alias, version = v.parsed_model()
            ref = self._source.resolve(name, alias=alias, version=version)
            model = self.load_model(ref)
            fast = self._fast.get(ref)
            if fast is None:
                fast = self._fast[ref] = fast_scorer(model) or (None, None)
            scorer, columns = fast
            vr = VariantRuntime(v, ref, model, columns or expected_columns(model), scorer)
            (shadows if v.shadow else live).append(vr)
        return ActiveDeployment(
            deployment=dep,
            live=live,
            shadows=shadows,
            table=WeightTable([vr.variant.weight for vr in live]),
            entity_keys=tuple(dep.spec.entity_keys),
            request_fields=dict(dep.spec.request_fields),
            numeric=all(t in ("float64", "int64") for t in dep.spec.request_fields.values()),
        )

    def load_model(self, ref: ResolvedModel) -> LoadedModel:
        model = self._models.get(ref)
        if model is None:
            with self._load_lock:
                model = self._models.get(ref)
                if model is None:
                    model = self._source.load(ref)
                    self._models[ref] = model
        return model

    def install(self, dep: Deployment) -> ActiveDeployment:
        """Build and swap in ``dep`` now (after a change made by this process)."""
        active = self.build(dep)
        self._active[dep.name] = active
        self._ensure_refresher()
        return active

    def forget(self, name: str) -> None:
        self._active.pop(name, None)

    def cached(self) -> dict[str, ActiveDeployment]:
        return dict(self._active)

    # -- refresh --------------------------------------------------------------------

    def refresh(self) -> list[str]:
        """Reload changed or deleted deployments and follow moved aliases; returns names swapped."""
        if not self._active:
            return []
        versions = self._list_versions()
        swapped: list[str] = []
        for name, active in list(self._active.items()):
            current = versions.get(name)
            if current is None:
                self._active.pop(name, None)
                swapped.append(name)
                continue
            try:
                if current != active.deployment.version:
                    dep = self._fetch(name)
                    if dep is not None:
                        self._active[name] = self.build(dep)
                        swapped.append(name)
                elif self._aliases_moved(active):
                    self._active[name] = self.build(active.deployment)
                    swapped.append(name)
            except ShipyardError as exc:  # keep serving the old snapshot
                log.warning("refresh of deployment %s failed: %s", name, exc.message)
        return swapped

    def _aliases_moved(self, active: ActiveDeployment) -> bool:
        for vr in (*active.live, *active.shadows):
            name, alias, _ = vr.variant.parsed_model()
            if alias is not None:
                now = self._source.resolve(name, alias=alias, version=None)
                if now != vr.model_ref:
                    return True
        return False

    def _ensure_refresher(self) -> None:
        if self._refresher is None and self.refresh_interval > 0:
            self._refresher = threading.Thread(
                target=self._refresh_loop, name="shipyard-serving-refresh", daemon=True
            )
            self._refresher.start()

    def _refresh_loop(self) -> None:
        watch = self._watch
        tick = min(self.watch_interval, self.refresh_interval) if watch else self.refresh_interval
        seen = watch() if watch else None
        due = time.monotonic() + self.refresh_interval
        while not self._stop.wait(tick):
            try:
                now = time.monotonic()
                if now >= due:  # the full tick: aliases, canary checks
                    due = now + self.refresh_interval
                    seen = watch() if watch else None
                    self.refresh()
                    for hook in list(self.tick_hooks):
                        hook()
                elif watch is not None:
                    current = watch()  # read before the refresh: a change during it shows next
                    if current is not None and current != seen:
                        seen = current
                        self.refresh()
            except Exception:  # the loop must outlive any one failure
                log.exception("serving refresh tick failed")

    # -- the hot path ---------------------------------------------------------------

    def predict(self, name: str, rows: Any, *, routing_key: str | None = None) -> PredictResponse:
        """Score ``rows`` with one variant of deployment ``name``.

        Raises:
            NotFound: no such deployment.
            InvalidArgument: a row misses an entity key or request field, or has a wrong type;
                or features are required and an entity has none.
            BackendUnavailable: the model's worker died or hung (503; the next call restarts it).
            ShipyardError: the model raised (500 with the request id; counted as an error).
        """
        call = self._begin(name, rows, routing_key)
        try:
            predictions = to_list(call.vr.score(call.data, call.active))
        except Exception as exc:
            raise self._failed(call, exc) from None
        return self._done(call, predictions)

    async def apredict(
        self, name: str, rows: Any, *, routing_key: str | None = None
    ) -> PredictResponse:
        """``predict`` on an event loop: the loop serves other requests while the model's
        worker scores, and requests that wait for the same worker go in one call
        (``coalesce.py``). Same answers and errors as ``predict``."""
        call = self._begin(name, rows, routing_key)
        try:
            predictions = to_list(await call.vr.ascore(call.data, call.active))
        except Exception as exc:
            raise self._failed(call, exc) from None
        return self._done(call, predictions)

    def _begin(self, name: str, rows: Any, routing_key: str | None) -> _Request:
        t0 = time.perf_counter()
        active = self.get(name)
        keys = active.entity_keys
        check_rows(rows, keys, active.request_fields)
        request_id = uuid.uuid4().hex
        key = routing_key or (entity_key_text(rows[0], keys) if keys else request_id)
        live = active.live
        vr = live[active.table.pick(bucket(key, name))] if len(live) > 1 else live[0]
        data, statuses = self._inputs(active, rows)
        return _Request(name, t0, active, vr, request_id, key, rows, data, statuses)

    def _failed(self, call: _Request, exc: Exception) -> Exception:
        """Count and log a failed call; the error to raise (503 as is, else a 500)."""
        vr, name, request_id = call.vr, call.name, call.request_id
        latency = (time.perf_counter() - call.t0) * 1000
        self.stats.get(name, vr.variant.name).record(latency, True)
        self._emit(
            call.active, vr, request_id, call.rows, call.data, None, latency, repr(exc)[:500],
            call.key,
        )  # fmt: skip
        log.error(
            "deployment %s variant %s failed (request id %s)",
            name,
            vr.variant.name,
            request_id,
            exc_info=exc,
        )
        if isinstance(exc, BackendUnavailable):  # the model's worker died: 503, retry
            return exc
        return ShipyardError(
            f"deployment '{name}' variant '{vr.variant.name}' ({vr.model_ref}) failed to "
            f"predict: {getattr(exc, 'kind', type(exc).__name__)} (request id {request_id})",
            request_id=request_id,
            variant=vr.variant.name,
        )

    def _done(self, call: _Request, predictions: list[Any]) -> PredictResponse:
        active, vr = call.active, call.vr
        latency = (time.perf_counter() - call.t0) * 1000
        self.stats.get(call.name, vr.variant.name).record(latency, False)
        self._emit(
            active, vr, call.request_id, call.rows, call.data, predictions, latency, None,
            call.key,
        )  # fmt: skip
        if active.shadows:
            self._shadow(active, call.request_id, call.rows, call.data, call.key)
        return PredictResponse.model_construct(
            request_id=call.request_id,
            predictions=predictions,
            variant=vr.variant.name,
            model_version=str(vr.model_ref),
            deployment_version=active.deployment.version,
            feature_status=call.statuses,
        )

    def _inputs(
        self, active: ActiveDeployment, rows: list[dict[str, Any]]
    ) -> tuple[dict[str, list[Any]], list[dict[str, str]]]:
        """Model input columns: online features by entity key, then request fields."""
        data: dict[str, list[Any]] = {}
        statuses: list[dict[str, str]] = []
        spec = active.deployment.spec
        keys = active.entity_keys
        if spec.feature_service and self._lookup is not None:
            # entity keys and request fields: on-demand views compute from both
            found = self._lookup(spec.feature_service, rows)
            statuses = found.statuses
            if spec.require_features:
                _require_features([{k: r[k] for k in keys} for r in rows], statuses)
            data.update(found.columns)
        if spec.neighbors:
            statuses = self._neighbor_inputs(spec.neighbors, rows, data, statuses)
            if spec.require_features:
                _require_features([{k: r[k] for k in keys} for r in rows], statuses)
        for k in keys:
            data[k] = [r[k] for r in rows]
        for f in active.request_fields:
            data[f] = [r[f] for r in rows]
        return data, statuses

    def _neighbor_inputs(
        self,
        steps: list[NeighborFeatures],
        rows: list[dict[str, Any]],
        data: dict[str, list[Any]],
        statuses: list[dict[str, str]],
    ) -> list[dict[str, str]]:
        """Add each neighbour step's columns to ``data``; the rows' statuses with theirs."""
        if self._neighbors is None:
            raise BackendUnavailable("this serving runtime has no vector search")
        merged = [dict(s) for s in statuses] if statuses else [{} for _ in rows]
        for step in steps:
            found = self._neighbors(step, [r[step.key] for r in rows])
            data.update(found.columns)
            for row, st in zip(merged, found.statuses, strict=True):
                row.update(st)
        return merged

    # -- off the request path -----------------------------------------------------------

    def _emit(
        self,
        active: ActiveDeployment,
        vr: VariantRuntime,
        request_id: str,
        rows: list[dict[str, Any]],
        data: dict[str, list[Any]],
        predictions: list[Any] | None,
        latency_ms: float,
        error: str | None,
        routing_key: str,
        shadow: bool = False,
    ) -> None:
        sink = self.sink
        if sink is None or not active.deployment.spec.log_predictions:
            return
        dep = active.deployment
        keys = active.entity_keys
        features = [{c: data[c][i] for c in data if c not in keys} for i in range(len(rows))]
        sink(
            [
                {
                    "request_id": request_id,
                    "row": i,
                    "ts": time.time(),
                    "deployment": dep.name,
                    "deployment_version": dep.version,
                    "variant": vr.variant.name,
                    "shadow": shadow,
                    "model": vr.model_ref.name,
                    "model_version": vr.model_ref.version,
                    "entity_key": entity_key_text(rows[i], keys) if keys else None,
                    "routing_key": routing_key,
                    "features": features[i],
                    "prediction": predictions[i] if predictions is not None else None,
                    "latency_ms": latency_ms,
                    "error": error,
                }
                for i in range(len(rows))
            ]
        )

    def _shadow(
        self,
        active: ActiveDeployment,
        request_id: str,
        rows: list[dict[str, Any]],
        data: dict[str, list[Any]],
        key: str,
    ) -> None:
        self.shadows.submit((active, request_id, rows, data, key))

    @property
    def shadow_dropped(self) -> int:
        return self.shadows.dropped

    def drain_shadow(self, timeout: float = 5.0) -> None:
        """Wait until queued shadow requests are scored (tests, shutdown)."""
        self.shadows.drain(timeout)

    def close(self) -> None:
        self._stop.set()
        self.shadows.close()
        if self._refresher is not None:
            self._refresher.join(timeout=5)


def _frame(
    data: dict[str, list[Any]],
    columns: list[str] | None,
    entity_keys: tuple[str, ...],
    numeric: bool = True,
) -> pd.DataFrame:
    """The model's input: its declared columns in order, else everything but the keys.

    All-numeric inputs become one float64 block (a third of the cost of a frame built
    column by column); anything else keeps its own dtypes.
    """
    cols = columns if columns is not None else [c for c in data if c not in entity_keys]
    missing = [c for c in cols if c not in data]
    if missing:
        raise InvalidArgument(f"the model needs columns {missing} that the request did not supply")
    if numeric:
        try:
            block = np.array([data[c] for c in cols], dtype=np.float64)
        except (TypeError, ValueError):
            pass
        else:
            return pd.DataFrame(block.T, columns=cols, copy=False)
    return pd.DataFrame({c: data[c] for c in cols})


def _matrix(data: dict[str, list[Any]], columns: list[str]) -> np.ndarray:
    try:
        return np.array([data[c] for c in columns], dtype=np.float64).T
    except KeyError as exc:
        raise InvalidArgument(
            f"the model needs column {exc} that the request did not supply"
        ) from None


def _require_features(entity_rows: list[dict[str, Any]], statuses: list[dict[str, str]]) -> None:
    for i, st in enumerate(statuses):
        if st and all(s != PRESENT for s in st.values()):
            raise InvalidArgument(
                f"inputs[{i}]: no online features for {entity_rows[i]} "
                "(this deployment requires features)",
                row=i,
                entity=entity_rows[i],
            )
