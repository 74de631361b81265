"""The event-bus contract on a real NATS JetStream server (streams of this run removed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.events.backends.nats import PREFIX
from shipyard.platform import Platform
from tests.contract.events.suite import EventBusContract

pytestmark = pytest.mark.integration


def _drop_streams(url: str, topics: list[str]) -> None:
    import nats

    async def go() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        for t in topics:
            with contextlib.suppress(Exception):  # a stream the test never made
                await js.delete_stream(PREFIX + t.encode().hex())
        await nc.close()

    asyncio.run(go())


class TestNatsEventBus(EventBusContract):
    @pytest.fixture
    def plat(self, tmp_path: Path, nats_url: str, topic: str) -> Iterator[Platform]:
        p = Platform.open(tmp_path, events={"backend": "nats", "url": nats_url})
        yield p
        p.close()
        _drop_streams(nats_url, [topic])
