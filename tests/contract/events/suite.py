"""The event-bus contract: one suite, run unchanged on every metadata database / bus.

Subclasses provide ``plat`` (a Platform whose ``events`` uses the backend under
test). Topic names are unique per test, so a subclass may share one database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from shipyard._internal.outbox import Outbox
from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.events.backends.base import (
    ATOMIC_BATCH,
    CATALOG_TX,
    DURABLE_GROUPS,
    IDEMPOTENT_PUBLISH,
)
from shipyard.events.models import Position
from shipyard.platform import Platform
from tests.contract.remote import Skins

ROOT = Path(__file__).resolve().parents[3]

_PUBLISHER = """
import sys, time
from pathlib import Path
from shipyard.platform import Platform
path, url, backend, bus_url, topic, tag, batches, size = sys.argv[1:9]
p = Platform.open(path, catalog={"url": url}, events={"backend": backend, "url": bus_url or None})
p.events.list_topics()  # connected; now wait so that both writers start together
Path(path, "ready-" + tag).touch()
while not Path(path, "go").exists():
    time.sleep(0.005)
for b in range(int(batches)):
    p.events.publish(topic, [{"w": tag, "b": b, "i": i} for i in range(int(size))])
p.close()
"""


class EventBusContract(Skins):
    @pytest.fixture
    def plat(self) -> Platform:
        raise NotImplementedError

    @pytest.fixture
    def topic(self) -> str:
        return f"t-{uuid.uuid4().hex[:10]}"

    def test_publish_gives_contiguous_offsets_in_order(self, plat: Platform, topic: str) -> None:
        r1 = plat.events.publish(topic, [{"n": 0}, {"n": 1}, {"n": 2}])
        r2 = plat.events.publish(topic, [{"n": 3, "nested": {"x": [1, 2]}}])
        assert (r1.first_offset, r1.last_offset, r1.count) == (0, 2, 3)
        assert (r2.first_offset, r2.last_offset) == (3, 3)
        got = plat.events.read_records(topic, offset=1, limit=10)
        assert [r.offset for r in got] == [1, 2, 3]
        assert got[-1].value == {"n": 3, "nested": {"x": [1, 2]}}
        assert got[0].published_at is not None

    def test_topic_is_a_catalog_asset_and_each_batch_is_audited(
        self, plat: Platform, topic: str
    ) -> None:
        plat.events.publish(topic, [{"a": 1}])
        plat.events.publish(topic, [{"a": 2}, {"a": 3}])
        asset = plat.catalog.get_asset(f"topic:{topic}")
        assert asset.owner == "default"
        recs = plat.audit.list_records(action="events.publish", asset=f"topic:{topic}").items
        assert len(recs) == 2
        assert {r.details["count"] for r in recs} == {1, 2}
        info = plat.events.get_topic(topic)
        assert info.end_offset == 3
        assert topic in {t.name for t in plat.events.list_topics().items}

    def test_group_reads_commit_and_redelivers_the_same_range(
        self, plat: Platform, topic: str
    ) -> None:
        plat.events.publish(topic, [{"i": i} for i in range(5)])
        b1 = plat.events.read(topic, "g1", max_records=3)
        assert [r.offset for r in b1.records] == [0, 1, 2]
        # not committed (crash): more records arrive, the same range comes again
        plat.events.publish(topic, [{"i": 5}])
        again = plat.events.read(topic, "g1", max_records=100)
        assert (again.first_offset, again.last_offset, again.batch_id) == (
            0,
            2,
            b1.batch_id,
        )
        plat.events.commit(again)
        b2 = plat.events.read(topic, "g1", max_records=100)
        assert [r.value["i"] for r in b2.records] == [3, 4, 5]
        # another group starts from the beginning
        assert plat.events.read(topic, "g2", max_records=1).first_offset == 0
        plat.events.commit(b2)
        assert len(plat.events.read(topic, "g1")) == 0
        assert plat.events.get_topic(topic).groups["g1"] == 6

    def test_consume_commits_after_the_body_and_not_on_failure(
        self, plat: Platform, topic: str
    ) -> None:
        plat.events.publish(topic, [{"i": i} for i in range(4)])
        with pytest.raises(RuntimeError):
            for _batch in plat.events.consume(topic, "c", max_records=2):
                raise RuntimeError("worker died")
        seen = [b.values for b in plat.events.consume(topic, "c", max_records=2)]
        assert seen == [[{"i": 0}, {"i": 1}], [{"i": 2}, {"i": 3}]]
        assert list(plat.events.consume(topic, "c")) == []

    def test_follow_stops_after_idle_timeout(self, plat: Platform, topic: str) -> None:
        plat.events.publish(topic, [{"i": 1}])
        got = list(
            plat.events.consume(topic, "f", follow=True, poll_interval=0.01, idle_timeout=0.05)
        )
        assert [b.values for b in got] == [[{"i": 1}]]

    def test_positions_survive_reopening(self, plat: Platform, topic: str) -> None:
        if DURABLE_GROUPS not in plat.events.bus.capabilities:
            pytest.skip("backend declares no durable groups")
        plat.events.publish(topic, [{"i": i} for i in range(3)])
        plat.events.commit(plat.events.read(topic, "d", max_records=2))
        again = Platform.open(
            plat.settings.project_dir,
            catalog={"url": plat.settings.catalog_url},
            events=plat.settings.events.model_dump(),
        )
        try:
            assert again.events.read(topic, "d").first_offset == 2
        finally:
            again.close()

    @pytest.mark.in_process_only  # the bus backend itself, inside a metadata transaction
    def test_publish_in_a_rolled_back_transaction_leaves_nothing(
        self, plat: Platform, topic: str
    ) -> None:
        bus = plat.events.bus
        if CATALOG_TX not in bus.capabilities:
            pytest.skip("backend declares no catalog transactions (writes at once)")
        with pytest.raises(RuntimeError), plat.context.db.begin() as conn:
            bus.publish(topic, [{"lost": 1}], tx=Outbox(conn))
            bus.set_position(topic, "g", Position(offset=1), tx=Outbox(conn))
            raise RuntimeError("the caller's change failed")
        assert bus.read(topic, 0, 10) == [] and bus.end_offset(topic) == 0
        assert bus.position(topic, "g").offset == 0
        with plat.context.db.begin() as conn:
            first, last, _ = bus.publish(topic, [{"kept": 1}], tx=Outbox(conn))
            bus.set_position(topic, "g", Position(offset=1), tx=Outbox(conn))
        assert (first, last) == (0, 0)  # the rolled-back batch left no gap
        assert [r.value for r in bus.read(topic, 0, 10)] == [{"kept": 1}]
        assert bus.position(topic, "g").offset == 1

    @pytest.mark.in_process_only  # the bus backend's capability flags
    def test_capabilities_are_known_flags(self, plat: Platform) -> None:
        known = {ATOMIC_BATCH, CATALOG_TX, DURABLE_GROUPS, IDEMPOTENT_PUBLISH}
        assert plat.events.bus.capabilities <= known

    def test_publish_key_is_idempotent(self, plat: Platform, topic: str) -> None:
        if IDEMPOTENT_PUBLISH not in plat.events.bus.capabilities:
            pytest.skip("backend declares no idempotent publish")
        first = plat.events.publish(topic, [{"a": 1}, {"a": 2}], key="batch-1")
        retry = plat.events.publish(topic, [{"a": 1}, {"a": 2}], key="batch-1")
        assert retry.skipped and (retry.first_offset, retry.last_offset) == (0, 1)
        assert not first.skipped
        nxt = plat.events.publish(topic, [{"a": 3}], key="batch-2")
        assert nxt.first_offset == 2  # no gap left by the skipped retry
        assert len(plat.events.read_records(topic, limit=100)) == 3

    @pytest.mark.parametrize(
        ("records", "match"),
        [
            ([], "non-empty"),
            ([1], r"records\[0\]"),
            ([{"t": object()}], "JSON"),
            ([{"x": float("nan")}], "JSON"),
        ],
    )
    def test_bad_records_are_refused_and_nothing_is_written(
        self, plat: Platform, topic: str, records: list, match: str
    ) -> None:
        with pytest.raises(InvalidArgument, match=match):
            plat.events.publish(topic, records)
        assert plat.events.read_records(topic) == []

    def test_bad_names_and_limits(self, plat: Platform, topic: str) -> None:
        with pytest.raises(InvalidArgument, match="topic name"):
            plat.events.publish("bad topic!", [{"a": 1}])
        with pytest.raises(InvalidArgument, match="group name"):
            plat.events.read(topic, "a b")
        with pytest.raises(InvalidArgument, match="max_records"):
            plat.events.read(topic, "g", max_records=0)
        with pytest.raises(NotFound):
            plat.events.get_topic(topic)

    def test_viewer_may_consume_but_not_publish(self, plat: Platform, topic: str) -> None:
        plat.events.publish(topic, [{"a": 1}])
        viewer = plat.security.create_principal(f"v{uuid.uuid4().hex[:6]}", role="viewer")
        as_viewer = plat.as_principal(viewer)
        with pytest.raises(PermissionDenied):
            as_viewer.events.publish(topic, [{"a": 2}])
        batch = as_viewer.events.read(topic, "viewers")
        as_viewer.events.commit(batch)
        assert plat.events.get_topic(topic).end_offset == 1
        recs = plat.audit.list_records(principal=viewer.name, action="events.publish").items
        assert [r.outcome for r in recs] == ["denied"]

    @pytest.mark.in_process_only  # other processes publish in-process
    def test_two_processes_publishing_lose_nothing(self, plat: Platform, topic: str) -> None:
        batches, size = 40, 10
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        ev = plat.settings.events
        args = [str(plat.settings.project_dir), plat.settings.catalog_url]
        args += [ev.backend, ev.url or "", topic]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _PUBLISHER, *args, tag, str(batches), str(size)], env=env
            )
            for tag in ("a", "b")
        ]
        ready = [plat.settings.project_dir / f"ready-{tag}" for tag in ("a", "b")]
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in ready):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.01)
        (plat.settings.project_dir / "go").touch()
        assert [p.wait(timeout=60) for p in procs] == [0, 0]
        records = plat.events.read_records(topic, limit=10_000)
        assert [r.offset for r in records] == list(range(2 * batches * size))
        for tag in ("a", "b"):
            mine = [(r.value["b"], r.value["i"]) for r in records if r.value["w"] == tag]
            # each writer's batches are whole, contiguous and in its own order
            assert mine == [(b, i) for b in range(batches) for i in range(size)]
        if ATOMIC_BATCH not in plat.events.bus.capabilities:
            return  # batches may interleave; offsets are still unique and gap-free
        by_batch: dict[tuple[str, int], list[int]] = {}
        for r in records:
            by_batch.setdefault((r.value["w"], r.value["b"]), []).append(r.offset)
        assert all(offs == list(range(offs[0], offs[0] + size)) for offs in by_batch.values())
