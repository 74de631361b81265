"""Where OpenLineage events go: a file (JSON lines) or an HTTP endpoint (``lineage.*`` settings).

The transports are openlineage-python's own (``FileTransport``, ``HttpTransport``).
Sending never fails the work it describes: an unreachable endpoint is logged and
counted (``failures``), and the change goes on.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

    from shipyard.config import Settings

log = logging.getLogger(__name__)


class LineageEmitter:
    """Sends run events through one openlineage-python transport."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self.sent = 0
        self.failures = 0

    def emit(self, event: RunEvent) -> None:
        try:
            with self._lock:  # the file transport appends: one event per line
                self._transport.emit(event)
            self.sent += 1
        except Exception as exc:  # any transport error: lineage must not break the work
            self.failures += 1
            log.warning("OpenLineage event not sent: %s", str(exc).splitlines()[0][:300])

    def close(self) -> None:
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

        params: dict[str, Any] = {"url": cfg.url, "endpoint": cfg.endpoint, "timeout": cfg.timeout}
        if cfg.api_key is not None:
            params["auth"] = {"type": "api_key", "apiKey": cfg.api_key.get_secret_value()}
        return LineageEmitter(HttpTransport(HttpConfig.from_dict(params)))
    return None
