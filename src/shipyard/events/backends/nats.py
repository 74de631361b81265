"""NATS JetStream as the event bus: one stream per topic, groups' positions in a KV bucket.

A topic ``orders`` is the stream ``SY_<hex(orders)>`` on the subject
``shipyard.events.<hex(orders)>``; a record's offset is its stream sequence - 1
(sequences are contiguous: records are never deleted by Shipyard). Consumer-group
positions are JSON values in the file-backed KV bucket ``SHIPYARD_EVENT_GROUPS``.

JetStream has no multi-message transaction here, so a batch is published record
by record: offsets are unique and gap-free, but concurrent publishers' batches may
interleave and a failure can leave a batch partly published (no ``atomic_batch``
capability). ``key`` deduplicates through ``Nats-Msg-Id`` within the stream's
duplicate window (one hour). Lifecycle events reach NATS through the metadata DB's
transactional outbox (``shipyard.events.relay``), each with its row's id as ``Nats-Msg-Id``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from shipyard._internal.outbox import Outbox
from shipyard.config import EventSettings
from shipyard.errors import BackendUnavailable, ConfigError
from shipyard.events.backends.base import DURABLE_GROUPS, IDEMPOTENT_PUBLISH, EventBus
from shipyard.events.models import Position, Record

T = TypeVar("T")
PREFIX = "SY_"
SUBJECT = "shipyard.events."
GROUPS_BUCKET = "SHIPYARD_EVENT_GROUPS"
DUPLICATE_WINDOW = 3600.0
TIMEOUT = 10.0
#: Requests in flight at once (publishes and reads).
WINDOW = 256


def _hex(name: str) -> str:
    return name.encode().hex()


class NatsEventBus(EventBus):
    """JetStream streams per topic (file storage), positions in a KV bucket."""

    capabilities = frozenset({IDEMPOTENT_PUBLISH, DURABLE_GROUPS})

    def __init__(self, settings: EventSettings) -> None:
        if not settings.url:
            raise ConfigError(
                "events.backend 'nats' needs events.url (e.g. nats://127.0.0.1:4222)",
                key="events.url",
            )
        try:
            import nats  # noqa: F401 - checked here, used on the loop thread
        except ImportError:
            raise BackendUnavailable(
                "events.backend 'nats' needs nats-py: pip install 'shipyard[nats]'"
            ) from None
        self._url = settings.url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="shipyard-nats", daemon=True
        )
        self._thread.start()
        self._nc: Any = None
        self._js: Any = None
        self._kv: Any = None
        self._streams: set[str] = set()
        self._run(self._connect())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result(TIMEOUT * 3)
        except (OSError, TimeoutError) as exc:
            raise BackendUnavailable(f"NATS at {self._url} is unavailable: {exc}") from None
        except Exception as exc:
            if type(exc).__module__.startswith("nats"):
                raise BackendUnavailable(
                    f"NATS at {self._url}: {type(exc).__name__}: {exc}"
                ) from None
            raise

    async def _connect(self) -> None:
        import nats
        from nats.js.api import KeyValueConfig, StorageType

        self._nc = await nats.connect(
            self._url, connect_timeout=TIMEOUT, max_reconnect_attempts=2, allow_reconnect=True
        )
        self._js = self._nc.jetstream(timeout=TIMEOUT)
        try:
            self._kv = await self._js.key_value(GROUPS_BUCKET)
        except Exception:
            self._kv = await self._js.create_key_value(
                KeyValueConfig(bucket=GROUPS_BUCKET, storage=StorageType.FILE, history=1)
            )

    async def _ensure_stream(self, topic: str) -> str:
        from nats.js.api import StorageType, StreamConfig

        name = PREFIX + _hex(topic)
        if name not in self._streams:
            await self._js.add_stream(
                StreamConfig(
                    name=name,
                    subjects=[SUBJECT + _hex(topic)],
                    storage=StorageType.FILE,
                    duplicate_window=DUPLICATE_WINDOW,
                )
            )
            self._streams.add(name)
        return name

    async def _last_seq(self, topic: str) -> int:
        from nats.js.errors import NotFoundError

        try:
            info = await self._js.stream_info(PREFIX + _hex(topic))
        except NotFoundError:
            return 0
        return int(info.state.last_seq)

    # -- the interface -----------------------------------------------------------------

    def publish(
        self,
        topic: str,
        values: list[dict[str, Any]],
        *,
        key: str | None = None,
        tx: Outbox | None = None,
    ) -> tuple[int, int, bool]:
        async def go() -> tuple[int, int, bool]:
            await self._ensure_stream(topic)
            subject = SUBJECT + _hex(topic)
            acks: list[Any] = []
            for start in range(0, len(values), WINDOW):
                # pipelined: the requests leave in order on one connection, so the
                # server assigns sequences in record order
                acks += await asyncio.gather(
                    *(
                        self._js.publish(
                            subject,
                            json.dumps(v).encode(),
                            headers={"Nats-Msg-Id": f"{key}:{start + i}"}
                            if key is not None
                            else None,
                        )
                        for i, v in enumerate(values[start : start + WINDOW])
                    )
                )
            seqs = [int(a.seq) for a in acks]
            dups = sum(int(bool(a.duplicate)) for a in acks)
            return seqs[0] - 1, seqs[-1] - 1, dups == len(values)

        return self._run(go())

    def publish_keyed(self, topic: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Each value with ``Nats-Msg-Id`` = its id: JetStream stores it once per window."""

        async def go() -> None:
            await self._ensure_stream(topic)
            subject = SUBJECT + _hex(topic)
            for start in range(0, len(items), WINDOW):
                await asyncio.gather(
                    *(
                        self._js.publish(
                            subject, json.dumps(v).encode(), headers={"Nats-Msg-Id": msg_id}
                        )
                        for msg_id, v in items[start : start + WINDOW]
                    )
                )

        self._run(go())

    def read(self, topic: str, offset: int, limit: int) -> list[Record]:
        async def go() -> list[Record]:
            last = await self._last_seq(topic)
            stream = PREFIX + _hex(topic)
            seqs = list(range(offset + 1, min(last, offset + limit) + 1))
            out: list[Record] = []
            for start in range(0, len(seqs), WINDOW):
                msgs = await asyncio.gather(
                    *(self._js.get_msg(stream, seq=q) for q in seqs[start : start + WINDOW])
                )
                out += [
                    Record(
                        topic=topic,
                        offset=int(m.seq) - 1,
                        value=json.loads(m.data),
                        published_at=m.time,
                    )
                    for m in msgs
                ]
            return out

        return self._run(go())

    def position(self, topic: str, group: str) -> Position:
        async def go() -> Position:
            from nats.js.errors import KeyNotFoundError

            try:
                entry = await self._kv.get(f"{_hex(topic)}.{_hex(group)}")
            except KeyNotFoundError:
                return Position()
            return Position.model_validate_json(entry.value)

        return self._run(go())

    def set_position(
        self, topic: str, group: str, position: Position, *, tx: Outbox | None = None
    ) -> None:
        data = position.model_dump_json().encode()
        self._run(self._kv.put(f"{_hex(topic)}.{_hex(group)}", data))

    def end_offset(self, topic: str) -> int:
        return self._run(self._last_seq(topic))

    def topics(self) -> dict[str, int]:
        async def go() -> dict[str, int]:
            out = {}
            for info in await self._js.streams_info():
                name = info.config.name
                if name.startswith(PREFIX):
                    out[bytes.fromhex(name[len(PREFIX) :]).decode()] = int(info.state.last_seq)
            return dict(sorted(out.items()))

        return self._run(go())

    def groups(self, topic: str) -> dict[str, int]:
        async def go() -> dict[str, int]:
            from nats.js.errors import NoKeysError

            prefix = _hex(topic) + "."
            try:
                keys = await self._kv.keys()  # server-side filters need NATS >= 2.10
            except NoKeysError:
                return {}
            out = {}
            for k in (k for k in keys if k.startswith(prefix)):
                entry = await self._kv.get(k)
                group = bytes.fromhex(k[len(prefix) :]).decode()
                out[group] = Position.model_validate_json(entry.value).offset
            return dict(sorted(out.items()))

        return self._run(go())

    def close(self) -> None:
        if self._nc is not None:
            asyncio.run_coroutine_threadsafe(self._nc.close(), self._loop).result(TIMEOUT)
            self._nc = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        self._loop.close()
