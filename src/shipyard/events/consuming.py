"""``commit`` and ``consume``, written once over ``read`` and ``commit_offset``.

Shared by the in-process ``EventService`` and the remote client, so the two
cannot drift apart.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator

from shipyard.events.models import Batch


class ConsumingMixin(ABC):
    @abstractmethod
    def read(self, topic: str, group: str, max_records: int = 100) -> Batch:
        """The group's next batch, not yet committed."""

    @abstractmethod
    def commit_offset(self, topic: str, group: str, offset: int) -> None:
        """Set the group's next offset."""

    def commit(self, batch: Batch) -> None:
        """Mark ``batch`` processed: the group's next read starts after it (audited).

        Raises:
            PermissionDenied: the caller may not read the topic.
        """
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
        """Yield the group's batches; each is committed when the loop body returns.

        At least once: a batch whose body raised, or after which the loop was left
        with ``break``, is not committed and comes again (same offsets) next time.

        Args:
            follow: keep polling for new records instead of stopping at the end.
            idle_timeout: with ``follow``, stop after this many seconds without records.
        """
        idle_since = time.monotonic()
        while True:
            batch = self.read(topic, group, max_records)
            if not batch.records:
                if not follow:
                    return
                if idle_timeout is not None and time.monotonic() - idle_since >= idle_timeout:
                    return
                time.sleep(poll_interval)
                continue
            yield batch
            self.commit(batch)
            idle_since = time.monotonic()
