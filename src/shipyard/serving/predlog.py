"""The inference log: every prediction, written to a Delta table in the background.

``PredictionLogger`` is the runtime's record sink: appending is a ``deque.extend``
(never blocks, never raises); a thread turns what accumulated into one Arrow
table and one Delta append every ``interval`` seconds, so a crash loses at most
that much. A failed write keeps its rows (up to ``max_buffer``, oldest dropped
and counted) and retries with the same batch id, so a retry of a write that did
land is skipped instead of duplicated.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
    f.name for f in LOG_SCHEMA if f.name not in ("ts", "features", "prediction", "prediction_json")
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
    return pa.table({f.name: cols[f.name] for f in LOG_SCHEMA}, schema=LOG_SCHEMA)


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

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()


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
