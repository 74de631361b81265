"""``RemoteEventService``: ``EventAPI`` over HTTP; ``consume`` commits after each body."""

from __future__ import annotations

import time
from collections.abc import Iterator

from shipyard.client.ops import RemoteService
from shipyard.events.models import Batch
from shipyard.events.ops import OPS
from shipyard.events.protocol import EventAPI


class RemoteEventService(RemoteService, EventAPI, ops=OPS):
    """``EventService`` over HTTP."""

    def commit(self, batch: Batch) -> None:
        if batch.records:
            self.commit_offset(batch.topic, batch.group, batch.last_offset + 1)

    def consume(
        self,
        topic: str,
        group: str,
        *,
        max_records: int = 100,
        follow: bool = False,
        poll_interval: float = 0.5,
        idle_timeout: float | None = None,
    ) -> Iterator[Batch]:
        idle_since = time.monotonic()
        while True:
            batch = self.read(topic, group, max_records)
            if not batch.records:
                if not follow or (
                    idle_timeout is not None and time.monotonic() - idle_since >= idle_timeout
                ):
                    return
                time.sleep(poll_interval)
                continue
            yield batch
            self.commit(batch)
            idle_since = time.monotonic()
