"""``EventService``: topics as catalog assets, audited publishes, at-least-once consumers."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard._internal.outbox import Outbox
from shipyard._internal.paging import Page, page_in_memory, readable_teams, resolve_limit
from shipyard._internal.shared import Shared
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import AlreadyExists, ConfigError, InvalidArgument, PermissionDenied
from shipyard.events import sinks
from shipyard.events.backends.base import EventBus
from shipyard.events.consuming import ConsumingMixin
from shipyard.events.models import (
    KIND,
    Batch,
    Position,
    PublishResult,
    Record,
    TopicInfo,
    check_name,
)
from shipyard.events.sinks import SinkResult
from shipyard.security.models import Permission

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard.config import Settings
    from shipyard.features.service import FeatureService
    from shipyard.lake.service import LakeService

#: Records per publish call (one transaction) and per consumer batch, at most.
MAX_BATCH = 10_000
_BACKENDS = {
    "sqlite": "shipyard.events.backends.sql:SqlEventBus",
    "sql": "shipyard.events.backends.sql:SqlEventBus",
    "postgresql": "shipyard.events.backends.sql:SqlEventBus",
    "nats": "shipyard.events.backends.nats:NatsEventBus",
}


def build_bus(settings: Settings, db: Database) -> EventBus:
    """The configured backend (``events.backend``: an alias or ``module:Class``)."""
    name = settings.events.backend
    target = _BACKENDS.get(name, name)
    if ":" not in target:
        raise ConfigError(
            f"unknown events.backend {name!r}: use one of {sorted(_BACKENDS)} or 'module:Class'",
            key="events.backend",
        )
    module, cls = target.split(":", 1)
    try:
        factory = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"events.backend {name!r} cannot be loaded: {exc}") from None
    if target.endswith("SqlEventBus"):
        return factory(db)
    return factory(settings.events)


class EventService(ConsumingMixin, Service):
    """Publish records to topics and consume them by group, at least once.

    Example:
        >>> p.events.publish("orders", [{"order_id": 1, "amount": 9.5}])
        >>> for batch in p.events.consume("orders", "scorer"):
        ...     handle(batch.values)   # committed once this body returns
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        bus: Shared[EventBus],
        lake: Callable[[], LakeService],
        features: Callable[[], FeatureService],
    ) -> None:
        super().__init__(ctx)
        self._bus = bus  # one backend (one NATS connection) per platform
        self._lake = lake  # the sinks' targets, built only when a sink runs
        self._features = features

    @property
    def bus(self) -> EventBus:
        return self._bus.get()

    # -- topics --------------------------------------------------------------------------

    def _team(self, topic: str) -> str:
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.find(conn, KIND, topic)
        return asset.owner if asset is not None else self._ctx.default_team

    def _ensure_topic(self, topic: str) -> str:
        """The topic's owner team, registering the topic on first use (race-safe)."""
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.find(conn, KIND, topic)
        if asset is not None:
            return asset.owner
        team = self._ctx.default_team
        try:
            with self._ctx.mutation("events.create_topic", team=team, asset=f"{KIND}:{topic}") as m:
                if self._ctx.catalog.find(m.conn, KIND, topic) is None:
                    self._ctx.catalog.upsert(
                        m.conn,
                        kind=KIND,
                        name=topic,
                        owner=team,
                        created_by=self.principal.name,
                        new_version=False,
                    )
        except AlreadyExists:
            pass  # another publisher registered it first
        return self._team(topic)

    def create_topic(
        self, name: str, *, owner: str | None = None, description: str = ""
    ) -> TopicInfo:
        """Register a topic in the catalog (publishing to a new name does it too).

        Raises:
            InvalidArgument: a bad name. PermissionDenied: no write on ``owner``.
        """
        check_name(name)
        _check_reserved(name)
        with self._ctx.db.connect() as conn:
            stored = self._ctx.catalog.find(conn, KIND, name)
        # an existing topic is authorized against its stored owner, not the one named here
        team = self._ctx.require_owner(
            stored.owner if stored is not None else None,
            owner,
            action="events.create_topic",
            asset=f"{KIND}:{name}",
        )
        with self._ctx.mutation("events.create_topic", team=team, asset=f"{KIND}:{name}") as m:
            current = self._ctx.catalog.find(m.conn, KIND, name)
            if current is not None and current.owner != team:  # a transfer, authorized above
                self._ctx.catalog.update(
                    m.conn, current, description=None, owner=team, tags=None, properties=None
                )
            self._ctx.catalog.upsert(
                m.conn,
                kind=KIND,
                name=name,
                owner=team,
                created_by=self.principal.name,
                description=description,
                new_version=False,
            )
        return self.get_topic(name)

    def get_topic(self, name: str) -> TopicInfo:
        """A topic's owner, end offset and its consumer groups' committed offsets.

        Raises:
            NotFound: no such topic in the catalog.
        """
        check_name(name)
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.get(conn, KIND, name)
        self._ctx.require(Permission.READ, asset.owner, action="events.get_topic")
        return TopicInfo(
            name=name,
            owner=asset.owner,
            end_offset=self.bus.end_offset(name),
            groups=self.bus.groups(name),
        )

    def list_topics(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[TopicInfo]:
        """Topics the caller may read, by name, with their end offsets.

        Topics live in the bus, not in a SQL table, so the readable ones are picked from
        the bus's list (owners from one catalog query) and paged by name.
        """
        size = resolve_limit(self._ctx.settings, limit)
        teams = readable_teams(self.principal)
        ends = self.bus.topics()
        with self._ctx.db.connect() as conn:
            owners = {
                a.name: a.owner for a in self._ctx.catalog.search(conn, kind=KIND, limit=2**31)
            }
        shown = []
        for name, end in ends.items():
            owner = owners.get(name, self._ctx.default_team)
            if teams is None or owner in teams:
                shown.append(TopicInfo(name=name, owner=owner, end_offset=end))
        return page_in_memory(
            shown, lambda t: t.name, scope="events.topics", limit=size, page_token=page_token
        )

    # -- publish -------------------------------------------------------------------------

    def publish(
        self, topic: str, records: list[dict[str, Any]], *, key: str | None = None
    ) -> PublishResult:
        """Append ``records`` to ``topic`` as one batch (one audit record per batch).

        Args:
            topic: the topic (created in the catalog, owned by the default team, on first use).
            records: JSON objects; the batch gets contiguous offsets, all or nothing.
            key: idempotency key: a batch whose key was already published is not appended
                again (the first publish's offsets are returned with ``skipped=True``).

        Returns:
            The offsets the batch got.

        Raises:
            InvalidArgument: a bad topic name, an empty batch, a record that is not a JSON object.
            PermissionDenied: the caller may not write to the topic's team.
        """
        check_name(topic)
        _check_reserved(topic)
        _check_records(records)
        team = self._ensure_topic(topic)
        with self._ctx.mutation("events.publish", team=team, asset=f"{KIND}:{topic}") as m:
            first, last, skipped = self.bus.publish(topic, records, key=key, tx=Outbox(m.conn))
            m.details = {"first_offset": first, "last_offset": last, "count": len(records)}
            if skipped:
                m.details["skipped"] = True
        return PublishResult(
            topic=topic, first_offset=first, last_offset=last, count=len(records), skipped=skipped
        )

    # -- consume -------------------------------------------------------------------------

    def read_records(self, topic: str, *, offset: int = 0, limit: int = 100) -> list[Record]:
        """Records from ``offset`` on, without a consumer group (what ``events tail`` shows)."""
        check_name(topic)
        _check_limit(limit)
        self._ctx.require(Permission.READ, self._team(topic), action="events.read")
        return self.bus.read(topic, max(0, offset), limit)

    def read(self, topic: str, group: str, max_records: int = 100) -> Batch:
        """The group's next batch, not yet committed (call ``commit(batch)`` after the work).

        A batch handed out and not committed (the consumer crashed) is handed out again
        with exactly the same offsets, so ``batch.batch_id`` is a stable idempotency key.

        Raises:
            InvalidArgument: bad names or ``max_records``. PermissionDenied: no read.
        """
        check_name(topic)
        check_name(group, "group")
        _check_limit(max_records)
        self._ctx.require(Permission.READ, self._team(topic), action="events.read")
        pos = self.bus.position(topic, group)
        if pos.pending_end is not None and pos.pending_end >= pos.offset:
            records = self.bus.read(topic, pos.offset, pos.pending_end - pos.offset + 1)
        else:
            records = self.bus.read(topic, pos.offset, max_records)
            if records:
                self.bus.set_position(
                    topic, group, Position(offset=pos.offset, pending_end=records[-1].offset)
                )
        return Batch(topic=topic, group=group, records=records)

    def commit_offset(self, topic: str, group: str, offset: int) -> None:
        """Set the group's next offset to ``offset`` (what ``commit`` does; also to rewind).

        Raises:
            InvalidArgument: bad names, a negative offset or one past the topic's end.
            PermissionDenied: the caller may not read the topic.
        """
        check_name(topic)
        check_name(group, "group")
        end = self.bus.end_offset(topic)
        if not isinstance(offset, int) or not 0 <= offset <= end:
            raise InvalidArgument(
                f"offset must be between 0 and the topic's end {end}", offset=str(offset)
            )
        team = self._team(topic)
        with self._ctx.mutation(
            "events.commit", team=team, asset=f"{KIND}:{topic}", permission=Permission.READ
        ) as m:
            self.bus.set_position(topic, group, Position(offset=offset), tx=Outbox(m.conn))
            m.details = {"group": group, "offset": offset}

    # -- sinks ---------------------------------------------------------------------------

    def to_lake(
        self,
        topic: str,
        table: str,
        *,
        group: str | None = None,
        max_records: int = 1000,
        max_batches: int | None = None,
        follow: bool = False,
        idle_timeout: float | None = None,
    ) -> SinkResult:
        """Append a topic's records to a lake table (bronze micro-batches), at least once.

        Each batch is one ``LakeService.write`` keyed by group + topic + offset range, so
        a batch redelivered after a crash is skipped, not duplicated; bronze tables add
        ``_ingested_at``, ``_source`` (``topic:<name>``) and ``_batch_id``. Lineage
        ``topic:<topic>`` -> ``table:<table>``.

        Args:
            group: the consumer group (default ``lake.<table>``).
            max_batches / follow / idle_timeout: as for ``consume``.

        Returns:
            Batches and records moved, batches already there, the committed offset.

        Raises:
            InvalidArgument: bad names, rows the table's schema refuses (not committed).
            PermissionDenied: no read on the topic or no write on the table.
        """
        group = group or f"lake.{table}"
        apply = sinks.lake_writer(self._lake(), topic, table, group)
        return sinks.drain(
            self,
            topic,
            group,
            f"table:{table}",
            apply,
            max_records=max_records,
            max_batches=max_batches,
            follow=follow,
            idle_timeout=idle_timeout,
        )

    def to_features(
        self,
        topic: str,
        push_source: str,
        *,
        group: str | None = None,
        to: str = "online_and_offline",
        max_records: int = 1000,
        max_batches: int | None = None,
        follow: bool = False,
        idle_timeout: float | None = None,
    ) -> SinkResult:
        """Apply a topic's records to a feature ``PushSource`` (``FeatureService.push``).

        Online values appear at once; offline rows are appended to the push source's
        table. At least once: a redelivered batch is pushed again (a no-op online).

        Args:
            push_source: the ``PushSource`` name the feature views read.
            group: the consumer group (default ``features.<push_source>``).
            to: ``online``, ``offline`` or ``online_and_offline``.

        Raises:
            NotFound: no view reads the push source. InvalidArgument: records without the
                join keys or timestamp, wrong types (the batch is not committed).
        """
        group = group or f"features.{push_source}"
        apply = sinks.feature_pusher(self._features(), push_source, to)
        return sinks.drain(
            self,
            topic,
            group,
            f"push_source:{push_source}",
            apply,
            max_records=max_records,
            max_batches=max_batches,
            follow=follow,
            idle_timeout=idle_timeout,
        )


def _check_records(records: Any) -> None:
    if not isinstance(records, list) or not records:
        raise InvalidArgument("records must be a non-empty list of JSON objects")
    if len(records) > MAX_BATCH:
        raise InvalidArgument(f"at most {MAX_BATCH} records per publish, got {len(records)}")
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise InvalidArgument(f"records[{i}] must be a JSON object", row=i)
    try:
        json.dumps(records, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"records must be JSON: {exc}") from None


def _check_limit(n: Any) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_BATCH:
        raise InvalidArgument(f"max_records must be between 1 and {MAX_BATCH}", value=str(n))


def _check_reserved(topic: str) -> None:
    """``shipyard.*`` topics carry the platform's lifecycle events; only it publishes there."""
    from shipyard.events.lifecycle import PREFIX

    if topic.startswith(PREFIX):
        raise PermissionDenied(
            f"topic {topic!r}: '{PREFIX}*' topics are the platform's lifecycle events", topic=topic
        )
