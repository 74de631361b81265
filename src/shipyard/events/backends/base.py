"""The event-bus seam: publish a batch, read from an offset, keep consumer positions.

The interface stores and fetches; ``EventService`` decides (authorization, audit,
catalog, batching). Backends translate driver errors to ``BackendUnavailable``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from shipyard._internal.outbox import Outbox
from shipyard.events.models import Position, Record

#: Writes join the metadata transaction the service passes as ``tx`` (an ``Outbox``,
#: never a driver type), so a publish and its audit record (or a consumer's output
#: topic and its offset commit) commit or roll back together. Backends without it
#: ignore ``tx`` and write at once.
CATALOG_TX = "catalog_tx"
#: ``publish(..., key=)`` is idempotent: a batch whose key was published is not appended again.
IDEMPOTENT_PUBLISH = "idempotent_publish"
#: A published batch is all-or-nothing and its offsets are contiguous even with
#: concurrent publishers (no interleaving).
ATOMIC_BATCH = "atomic_batch"
#: Consumer-group positions survive restarts of the process and of the server.
DURABLE_GROUPS = "durable_groups"


class EventBus(ABC):
    """Topics of JSON records; offsets per topic start at 0 and increase by 1."""

    #: What this backend can do (the names above); the contract suite checks each.
    capabilities: frozenset[str] = frozenset()

    @abstractmethod
    def publish(
        self,
        topic: str,
        values: list[dict[str, Any]],
        *,
        key: str | None = None,
        tx: Outbox | None = None,
    ) -> tuple[int, int, bool]:
        """Append ``values`` in order; returns ``(first_offset, last_offset, skipped)``.

        Offsets are unique and gap-free per topic; with ``atomic_batch`` the batch is
        also all-or-nothing and contiguous under concurrent publishers. With
        ``catalog_tx``, the batch is part of the caller's transaction ``tx``.
        """

    def publish_keyed(self, topic: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Append each value with its own deduplication id (the event outbox's relay): a
        value whose id was already published is not appended again. Backends whose
        broker deduplicates by message id override it to use the id as is."""
        for msg_id, value in items:
            self.publish(topic, [value], key=msg_id)

    @abstractmethod
    def read(self, topic: str, offset: int, limit: int) -> list[Record]:
        """Up to ``limit`` records with offset >= ``offset``, in offset order."""

    @abstractmethod
    def position(self, topic: str, group: str) -> Position:
        """The group's position (offset 0, nothing pending, for a new group)."""

    @abstractmethod
    def set_position(
        self, topic: str, group: str, position: Position, *, tx: Outbox | None = None
    ) -> None:
        """Store the group's position durably (a commit, or the claim of a batch)."""

    @abstractmethod
    def end_offset(self, topic: str) -> int:
        """The offset the next published record will get (0 for an empty or unknown topic)."""

    @abstractmethod
    def topics(self) -> dict[str, int]:
        """Every topic that has records, with its end offset."""

    @abstractmethod
    def groups(self, topic: str) -> dict[str, int]:
        """Each consumer group of ``topic`` with its committed offset."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
