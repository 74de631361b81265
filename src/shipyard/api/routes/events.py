"""Event-bus routes: parse, call one service method, serialise."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import Body, Limit, Offset, PageSize
from shipyard.events.models import Batch, PublishResult, Record, TopicInfo

router = APIRouter(prefix="/events", tags=["events"])


class TopicIn(Body):
    name: str
    owner: str | None = None
    description: str = ""


class RecordsIn(Body):
    records: list[Any]  # the service checks each record: the same errors as in-process
    key: str | None = Field(default=None, description="Idempotency key of this batch.")


class ReadIn(Body):
    max_records: int = 100


class CommitIn(Body):
    offset: int = Field(description="The group's next offset (last processed + 1).")


@router.get("/topics")
def list_topics(
    platform: Caller, limit: PageSize | None = None, page_token: str | None = None
) -> Page[TopicInfo]:
    return platform.events.list_topics(limit=limit, page_token=page_token)


@router.post("/topics", status_code=201)
def create_topic(platform: Caller, body: TopicIn) -> TopicInfo:
    return platform.events.create_topic(body.name, owner=body.owner, description=body.description)


@router.get("/topics/{topic}")
def get_topic(platform: Caller, topic: str) -> TopicInfo:
    return platform.events.get_topic(topic)


@router.post("/topics/{topic}/records", status_code=201)
def publish(platform: Caller, topic: str, body: RecordsIn) -> PublishResult:
    return platform.events.publish(topic, body.records, key=body.key)


@router.get("/topics/{topic}/records")
def read_records(
    platform: Caller, topic: str, offset: Offset = 0, limit: Limit = 100
) -> list[Record]:
    return platform.events.read_records(topic, offset=offset, limit=limit)


@router.post("/topics/{topic}/groups/{group}/read")
def read(platform: Caller, topic: str, group: str, body: ReadIn) -> Batch:
    return platform.events.read(topic, group, body.max_records)


@router.post("/topics/{topic}/groups/{group}/commit", status_code=204)
def commit(platform: Caller, topic: str, group: str, body: CommitIn) -> None:
    platform.events.commit_offset(topic, group, body.offset)
