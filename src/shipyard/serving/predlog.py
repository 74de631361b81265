"""The inference log: every prediction, on its way to a Delta table.

``PredictionLogger`` is the runtime's record sink: appending is a ``deque.extend``
(never blocks, never raises); a thread turns what accumulated into one Arrow table
every ``interval`` seconds and hands it to its writer -- in a server, the prediction
spool in the metadata database (``serving/spool.py``), which the scheduled
``flush_prediction_log`` job appends to the Delta table (ADR 0052). A failed write
keeps its rows (up to ``max_buffer``, oldest dropped and counted) and retries with
the same batch id, so a retry of a write that did land adds nothing.

Durability (docs/monitoring.md): an acknowledged prediction is in the buffer before
its answer is sent. A clean stop (SIGTERM/SIGINT: uvicorn finishes the requests in
flight, then runs the app's lifespan shutdown) calls ``drain``, which writes
everything left, retrying a failing write until its deadline. ``kill -9`` loses at
most the last ``interval`` seconds (``serving.log_flush_seconds``); what was spooled
reaches the log with the next flush.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

log = logging.getLogger("shipyard.serving.log")

LOG_TABLE = "datasets.inference_log"
GROUND_TRUTH_TABLE = "datasets.inference_ground_truth"

LOG_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("row", pa.int32()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("deployment", pa.string()),
        ("deployment_version", pa.int64()),
        ("variant", pa.string()),
        ("shadow", pa.bool_()),
        ("model", pa.string()),
        ("model_version", pa.int64()),
        ("entity_key", pa.string()),
        ("routing_key", pa.string()),
        ("features", pa.string()),
        ("prediction", pa.float64()),
        ("prediction_json", pa.string()),
        ("latency_ms", pa.float64()),
        ("error", pa.string()),
        # The features again, typed, so drift reads columns instead of parsing JSON:
        # numbers (not booleans) in ``feature_values``; text and booleans ("true"/"false")
        # in ``feature_labels``. Other values (lists, objects) are only in ``features``.
        ("feature_values", pa.map_(pa.string(), pa.float64())),
        ("feature_labels", pa.map_(pa.string(), pa.string())),
    ]
)

GROUND_TRUTH_SCHEMA = pa.schema(
    [
        ("deployment", pa.string()),
        ("request_id", pa.string()),
        ("row", pa.int32()),
        ("entity_key", pa.string()),
        ("outcome", pa.float64()),
        ("ts", pa.timestamp("us", tz="UTC")),
    ]
)

#: ``write(table, batch_id)``: one idempotent append to the log table.
LogWriter = Callable[[pa.Table, str], None]


_PLAIN = [
    f.name
    for f in LOG_SCHEMA
    if f.name
    not in ("ts", "features", "prediction", "prediction_json", "feature_values", "feature_labels")
]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def to_arrow(records: list[dict[str, Any]]) -> pa.Table:
    """Records as the runtime emits them -> a table in ``LOG_SCHEMA`` (column by column)."""
    preds = [r["prediction"] for r in records]
    numeric = [_is_number(p) for p in preds]
    dumps = orjson.dumps
    cols: dict[str, Any] = {name: [r.get(name) for r in records] for name in _PLAIN}
    cols["ts"] = pa.array([int(r["ts"] * 1_000_000) for r in records], pa.int64()).cast(
        pa.timestamp("us", tz="UTC")
    )
    cols["features"] = [
        dumps(r["features"], option=orjson.OPT_SERIALIZE_NUMPY).decode() for r in records
    ]
    cols["prediction"] = [float(p) if n else None for p, n in zip(preds, numeric, strict=True)]
    cols["prediction_json"] = [
        None if n or p is None else dumps(p).decode() for p, n in zip(preds, numeric, strict=True)
    ]
    feats = [r["features"] if isinstance(r["features"], dict) else {} for r in records]
    cols["feature_values"], cols["feature_labels"] = typed_features(feats)
    return pa.table({f.name: cols[f.name] for f in LOG_SCHEMA}, schema=LOG_SCHEMA)


def typed_features(feats: list[dict[str, Any]]) -> tuple[pa.MapArray, pa.MapArray]:
    """Rows of features -> (numbers, labels) as two map columns, built from flat arrays.

    The common case (every value an int or a float) takes no per-value Python branch:
    ~2 us a row for 20 features. Keys go through a dictionary (few distinct names), which
    Arrow builds several times faster than a plain array of the same strings.
    """
    keys = list(chain.from_iterable(f.keys() for f in feats))
    values = list(chain.from_iterable(f.values() for f in feats))
    if set(map(type, values)) <= {float, int}:
        offsets = np.zeros(len(feats) + 1, np.int32)
        np.cumsum([len(f) for f in feats], out=offsets[1:])
        numbers = _map(offsets, keys, pa.array(values, pa.float64()))
        return numbers, _map(np.zeros(len(feats) + 1, np.int32), [], pa.array([], pa.string()))
    nums: _Flat = ([0], [], [])
    labels: _Flat = ([0], [], [])
    for f in feats:
        for k, v in f.items():
            if isinstance(v, bool):
                _put(labels, k, "true" if v else "false")
            elif isinstance(v, int | float | np.integer | np.floating):
                _put(nums, k, float(v))
            elif isinstance(v, str):
                _put(labels, k, v)
        nums[0].append(len(nums[1]))
        labels[0].append(len(labels[1]))
    return (
        _map(np.asarray(nums[0], np.int32), nums[1], pa.array(nums[2], pa.float64())),
        _map(np.asarray(labels[0], np.int32), labels[1], pa.array(labels[2], pa.string())),
    )


#: (offsets, keys, items) of a map column being built.
_Flat = tuple[list[int], list[str], list[Any]]


def _put(flat: _Flat, key: str, value: Any) -> None:
    flat[1].append(key)
    flat[2].append(value)


def _map(offsets: np.ndarray, keys: list[str], items: pa.Array) -> pa.MapArray:
    names = pa.array(keys, pa.dictionary(pa.int32(), pa.string())).cast(pa.string())
    return pa.MapArray.from_arrays(pa.array(offsets), names, items)


class PredictionLogger:
    """Buffers prediction records and appends them to the log table in batches."""

    def __init__(
        self, write: LogWriter, *, interval: float = 1.0, max_buffer: int = 200_000
    ) -> None:
        self._write = write
        self.interval = interval
        self._buffer: deque[dict[str, Any]] = deque(maxlen=max_buffer)
        self._pending: tuple[str, list[dict[str, Any]]] | None = None
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failures = 0
        self.last_error: str | None = None

    def __call__(self, records: list[dict[str, Any]]) -> None:
        """The runtime's sink: never blocks (the deque drops the oldest when full)."""
        self._buffer.extend(records)
        if self._thread is None and self.interval > 0:
            self._start()

    @property
    def buffered(self) -> int:
        return len(self._buffer) + (len(self._pending[1]) if self._pending else 0)

    def _start(self) -> None:
        with self._flush_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="shipyard-serving-log", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> int:
        """Write everything buffered now; returns rows written (0 on failure, kept for retry)."""
        with self._flush_lock:
            if self._pending is None:
                batch: list[dict[str, Any]] = []
                while self._buffer:
                    batch.append(self._buffer.popleft())
                if not batch:
                    return 0
                self._pending = (uuid.uuid4().hex, batch)
            batch_id, rows = self._pending
            try:
                self._write(to_arrow(rows), batch_id)
            except Exception as exc:  # logging must never take serving down
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("inference log write failed (will retry): %s", self.last_error)
                return 0
            self._pending = None
            self.written += len(rows)
            return len(rows)

    def drain(self, timeout: float = 30.0) -> int:
        """Write everything buffered, retrying failed writes until ``timeout`` seconds.

        Returns the rows written; rows still buffered at the deadline are logged as lost.
        """
        deadline = time.monotonic() + timeout
        written = 0
        pause = 0.05
        while self.buffered:
            n = self.flush()
            written += n
            if n == 0 and self.buffered:
                if time.monotonic() + pause > deadline:
                    log.error("inference log: %d rows not written at shutdown", self.buffered)
                    break
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
        return written

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.drain()


def lake_writer(lake: Callable[[], Any]) -> LogWriter:
    """Appends to ``LOG_TABLE`` through the lake service (a Delta transaction per batch).

    ``lake`` gives the ``LakeService`` (of the serving runtime's principal) when first written.
    """

    def write(table: pa.Table, batch_id: str) -> None:
        lake().write(
            LOG_TABLE,
            table,
            mode="append",
            batch_id=batch_id,
            source="serving",
            schema_evolution=True,  # logs written before feature_values/labels existed
            description="Every prediction served: request, variant, model version, "
            "features, prediction, latency.",
        )

    return write


def ground_truth_table(
    deployment: str, entity_keys: list[str], outcomes: list[dict[str, Any]]
) -> pa.Table:
    """Validate posted outcomes and shape them as ``GROUND_TRUTH_SCHEMA`` rows.

    Raises:
        InvalidArgument: naming the outcome that has no number or no key.
    """
    from shipyard.errors import InvalidArgument
    from shipyard.serving.inputs import entity_key_text

    if not isinstance(outcomes, list) or not outcomes:
        raise InvalidArgument("outcomes must be a non-empty list")
    now = datetime.now(UTC)
    rows = []
    for i, o in enumerate(outcomes):
        value = o.get("outcome") if isinstance(o, dict) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidArgument(f"outcomes[{i}]: 'outcome' must be a number", row=i)
        entity = o.get("entity")
        key: tuple[str | None, int | None, str | None]
        if o.get("request_id"):
            key = (str(o["request_id"]), int(o.get("row", 0)), None)
        elif isinstance(entity, dict) and entity_keys and all(k in entity for k in entity_keys):
            key = (None, None, entity_key_text(entity, tuple(entity_keys)))
        else:
            raise InvalidArgument(
                f"outcomes[{i}] needs a request_id or an entity with {entity_keys}", row=i
            )
        rows.append(
            {
                "deployment": deployment,
                "request_id": key[0],
                "row": key[1],
                "entity_key": key[2],
                "outcome": float(value),
                "ts": now,
            }
        )
    return pa.Table.from_pylist(rows, schema=GROUND_TRUTH_SCHEMA)


def stats_sql(deployment: str, since: datetime) -> str:
    """Per variant over the log since ``since``: requests, errors, latency percentiles.

    One row per request (a request's rows share its latency and error).
    ``deployment`` must be a validated deployment name.
    """
    return f"""
WITH r AS (
  SELECT variant, request_id, any_value(latency_ms) AS lat, bool_or(error IS NOT NULL) AS err
  FROM {LOG_TABLE}
  WHERE deployment = '{deployment}' AND ts >= TIMESTAMPTZ '{since.isoformat()}'
  GROUP BY variant, request_id
)
SELECT variant, count(*) AS requests, CAST(count_if(err) AS BIGINT) AS errors,
       quantile_cont(lat, 0.5) AS p50_ms, quantile_cont(lat, 0.95) AS p95_ms,
       quantile_cont(lat, 0.99) AS p99_ms
FROM r GROUP BY variant"""
