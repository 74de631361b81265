"""``RemoteEventService``: the event service over HTTP (same methods as ``EventService``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from shipyard.client.http import HttpTransport
from shipyard.events.models import Batch, PublishResult, Record, TopicInfo

API = "/api/v1/events/topics"


class RemoteEventService:
    """Publish and consume over ``/api/v1/events``; ``consume`` commits after each body."""

    def __init__(self, http: HttpTransport) -> None:
        self._http = http

    def create_topic(
        self, name: str, *, owner: str | None = None, description: str = ""
    ) -> TopicInfo:
        body = {"name": name, "owner": owner, "description": description}
        return TopicInfo.model_validate(self._http.post(API, body))

    def get_topic(self, name: str) -> TopicInfo:
        return TopicInfo.model_validate(self._http.get(f"{API}/{name}"))

    def list_topics(self) -> list[TopicInfo]:
        return [TopicInfo.model_validate(t) for t in self._http.get(API)]

    def publish(
        self, topic: str, records: list[dict[str, Any]], *, key: str | None = None
    ) -> PublishResult:
        data = self._http.post(f"{API}/{topic}/records", {"records": records, "key": key})
        return PublishResult.model_validate(data)

    def read_records(self, topic: str, *, offset: int = 0, limit: int = 100) -> list[Record]:
        data = self._http.get(f"{API}/{topic}/records", offset=offset, limit=limit)
        return [Record.model_validate(r) for r in data]

    def read(self, topic: str, group: str, max_records: int = 100) -> Batch:
        data = self._http.post(f"{API}/{topic}/groups/{group}/read", {"max_records": max_records})
        return Batch.model_validate(data)

    def commit(self, batch: Batch) -> None:
        if batch.records:
            self.commit_offset(batch.topic, batch.group, batch.last_offset + 1)

    def commit_offset(self, topic: str, group: str, offset: int) -> None:
        self._http.post(f"{API}/{topic}/groups/{group}/commit", {"offset": offset})

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
