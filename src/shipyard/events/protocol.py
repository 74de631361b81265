"""The interface of events: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from shipyard._internal.paging import Page
from shipyard.events.models import (
    Batch,
    PublishResult,
    Record,
    TopicInfo,
)


class EventAPI(Protocol):
    """What ``EventService`` offers both in-process and over HTTP."""

    def create_topic(
        self, name: str, *, owner: str | None = None, description: str = ""
    ) -> TopicInfo:
        """Register a topic in the catalog (publishing to a new name does it too)."""
        ...

    def get_topic(self, name: str) -> TopicInfo:
        """A topic's owner, end offset and its consumer groups' committed offsets."""
        ...

    def list_topics(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[TopicInfo]:
        """Every topic the caller may read, with its end offset."""
        ...

    def publish(
        self, topic: str, records: list[dict[str, Any]], *, key: str | None = None
    ) -> PublishResult:
        """Append ``records`` to ``topic`` as one batch (one audit record per batch)."""
        ...

    def read_records(self, topic: str, *, offset: int = 0, limit: int = 100) -> list[Record]:
        """Records from ``offset`` on, without a consumer group (what ``events tail`` shows)."""
        ...

    def read(self, topic: str, group: str, max_records: int = 100) -> Batch:
        """The group's next batch, not yet committed (call ``commit(batch)`` after the work)."""
        ...

    def commit(self, batch: Batch) -> None:
        """Mark ``batch`` processed: the group's next read starts after it (audited)."""
        ...

    def commit_offset(self, topic: str, group: str, offset: int) -> None:
        """Set the group's next offset to ``offset`` (what ``commit`` does; also to rewind)."""
        ...

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
        """Yield the group's batches; each is committed when the loop body returns."""
        ...
