"""Where OpenLineage events go: a file (JSON lines) or an HTTP endpoint (``lineage.*`` settings).

The transports are openlineage-python's own (``FileTransport``, ``HttpTransport``).
Sending never fails or slows the work it describes: HTTP events are sent by one
background thread from a bounded queue (full: the event is dropped and counted),
an unreachable endpoint is logged and counted (``failures``), and the change goes on.
A file is appended to in the caller's thread (it is local and fast).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

    from shipyard.config import Settings

log = logging.getLogger(__name__)


#: Events waiting for the background sender; past this they are dropped (and counted).
QUEUE_SIZE = 10_000


class LineageEmitter:
    """Sends run events through one openlineage-python transport."""

    def __init__(self, transport: Any, *, background: bool = False) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self.sent = 0
        self.failures = 0
        self.dropped = 0
        self._queue: queue.Queue[RunEvent | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(QUEUE_SIZE)
            self._thread = threading.Thread(target=self._drain, name="openlineage", daemon=True)
            self._thread.start()

    def emit(self, event: RunEvent) -> None:
        if self._queue is None:
            self._send(event)
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def _send(self, event: RunEvent) -> None:
        try:
            with self._lock:  # the file transport appends: one event per line
                self._transport.emit(event)
            self.sent += 1
        except Exception as exc:  # any transport error: lineage must not break the work
            self.failures += 1
            log.warning("OpenLineage event not sent: %s", str(exc).splitlines()[0][:300])

    def _drain(self) -> None:
        assert self._queue is not None
        while (event := self._queue.get()) is not None:
            self._send(event)
            self._queue.task_done()
        self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued event was sent (or failed)."""
        if self._queue is not None:
            self._queue.join()

    def close(self, timeout: float = 10.0) -> None:
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)  # a dead endpoint may hold the last events; not longer
        close = getattr(self._transport, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:  # closing a dead connection is not the user's problem
                log.debug("OpenLineage transport close: %s", exc)


def build_emitter(settings: Settings) -> LineageEmitter | None:
    """The emitter ``lineage.transport`` names, or None when lineage is off (the default)."""
    cfg = settings.lineage
    if cfg.transport == "file":
        from openlineage.client.transport.file import FileConfig, FileTransport

        path = cfg.path or str(settings.home_dir / "openlineage.jsonl")
        return LineageEmitter(FileTransport(FileConfig(log_file_path=path, append=True)))
    if cfg.transport == "http":
        from openlineage.client.transport.http import HttpConfig, HttpTransport

        params: dict[str, Any] = {
            "url": cfg.url,
            "endpoint": cfg.endpoint,
            "timeout": cfg.timeout,
            # A few quick retries: a down endpoint must not back the queue up for minutes.
            "retry": {"total": 2, "backoff_factor": 0.2, "status_forcelist": [502, 503, 504]},
        }
        if cfg.api_key is not None:
            params["auth"] = {"type": "api_key", "apiKey": cfg.api_key.get_secret_value()}
        return LineageEmitter(HttpTransport(HttpConfig.from_dict(params)), background=True)
    return None
