"""Value objects of the event bus (no I/O)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shipyard.errors import InvalidArgument

KIND = "topic"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def check_name(value: str, what: str = "topic") -> str:
    """Topic and group names: letters, digits, ``_ . -`` (NATS subject safe), max 200."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidArgument(
            f"invalid {what} name {value!r}: use letters, digits, '_', '.', '-' "
            "(starting with a letter or digit, at most 200)",
            name=str(value),
        )
    return value


class Record(BaseModel):
    """One record of a topic at its offset."""

    topic: str
    offset: int
    value: dict[str, Any]
    published_at: datetime | None = None


class PublishResult(BaseModel):
    """Offsets given to one published batch (``skipped``: its key was already published)."""

    topic: str
    first_offset: int
    last_offset: int
    count: int
    skipped: bool = False


class Batch(BaseModel):
    """Records handed to a consumer group, to be committed once processed."""

    topic: str
    group: str
    records: list[Record] = Field(default_factory=list)

    @property
    def first_offset(self) -> int:
        return self.records[0].offset if self.records else -1

    @property
    def last_offset(self) -> int:
        return self.records[-1].offset if self.records else -1

    @property
    def values(self) -> list[dict[str, Any]]:
        return [r.value for r in self.records]

    @property
    def batch_id(self) -> str:
        """A stable key of this offset range (the same range on a redelivery)."""
        return f"{self.topic}:{self.first_offset}-{self.last_offset}"

    def __len__(self) -> int:
        return len(self.records)


class TopicInfo(BaseModel):
    """A topic, its size and its groups' positions."""

    name: str
    owner: str | None = None
    end_offset: int = 0
    groups: dict[str, int] = Field(default_factory=dict)


class Position(BaseModel):
    """Where a consumer group stands: next offset and the uncommitted batch's end."""

    offset: int = 0
    pending_end: int | None = None
