"""The lake-storage contract: one suite, run unchanged on every ``LakeStorage``.

Subclasses provide ``storage`` (an empty root under test); everything else is
shared. It covers what the lake relies on: the URI layout, writes as Delta
commits, reads through Arrow and DuckDB, time travel by version and timestamp,
idempotency keys, commit metadata, schema checks and the declared capabilities.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.lake import query
from shipyard.lake.storage import META_BATCH, META_PRINCIPAL, LakeStorage

NAME = "bronze.orders"


def _rows(*ids: int) -> pa.Table:
    return pa.table({"id": list(ids), "amount": [float(i) * 1.5 for i in ids]})


def _ids(dt: object) -> list[int]:
    return sorted(dt.to_pyarrow_table().column("id").to_pylist())  # type: ignore[attr-defined]


class LakeStorageContract:
    @pytest.fixture
    def storage(self) -> LakeStorage:
        raise NotImplementedError

    def test_uri_layout_is_root_layer_name(self, storage: LakeStorage) -> None:
        assert storage.uri("silver.daily_orders") == f"{storage.root}/silver/daily_orders"
        assert not storage.root.endswith("/")

    def test_missing_table(self, storage: LakeStorage) -> None:
        assert not storage.exists(NAME)
        assert storage.find(NAME) is None
        with pytest.raises(NotFound):
            storage.open(NAME)

    def test_write_then_read_with_arrow_and_duckdb(self, storage: LakeStorage) -> None:
        dt = storage.write(NAME, _rows(1, 2, 3))
        assert dt.version() == 0 and storage.exists(NAME)
        assert _ids(storage.open(NAME)) == [1, 2, 3]
        found = storage.find(NAME)
        assert found is not None and found.version() == 0
        session = query.connect({NAME: storage.open(NAME)}, root=storage.root)
        try:
            got = query.run(session, "SELECT sum(amount) AS s, count(*) AS n FROM bronze.orders")
        finally:
            session.close()
        assert got.to_pylist() == [{"s": 9.0, "n": 3}]

    def test_append_overwrite_and_time_travel_by_version(self, storage: LakeStorage) -> None:
        storage.write(NAME, _rows(1, 2))
        storage.write(NAME, _rows(3))
        storage.write(NAME, _rows(9), mode="overwrite")
        assert storage.open(NAME).version() == 2
        assert _ids(storage.open(NAME)) == [9]
        assert _ids(storage.open(NAME, version=0)) == [1, 2]
        assert _ids(storage.open(NAME, version=1)) == [1, 2, 3]
        for bad in (3, -1):
            with pytest.raises(NotFound):
                storage.open(NAME, version=bad)

    def test_time_travel_by_timestamp(self, storage: LakeStorage) -> None:
        storage.write(NAME, _rows(1))
        between = datetime.now(UTC)
        # delta-rs dates a commit by its log file's modification time, which object
        # stores keep in whole seconds: the next commit must land in a later second.
        time.sleep(1.05)
        storage.write(NAME, _rows(2))
        assert _ids(storage.open(NAME, as_of=between)) == [1]
        assert _ids(storage.open(NAME, as_of=between.isoformat())) == [1]
        assert _ids(storage.open(NAME, as_of=datetime.now(UTC))) == [1, 2]

    def test_keys_make_a_write_idempotent_and_metadata_is_kept(self, storage: LakeStorage) -> None:
        meta = {META_PRINCIPAL: "ann", META_BATCH: "b-1", "shipyard.sources": ["x@1"]}
        dt = storage.write(NAME, _rows(1), keys=["ingest:b-1"], metadata=meta)
        assert storage.applied(dt, "ingest:b-1") and not storage.applied(dt, "ingest:b-2")
        dt = storage.write(NAME, _rows(2), keys=["ingest:b-2"], metadata={META_BATCH: "b-2"})
        assert storage.batch_version(dt, "b-1") == 0
        assert storage.batch_version(dt, "b-2") == 1
        first = dt.history()[-1]
        assert first[META_PRINCIPAL] == "ann" and first["shipyard.sources"] == '["x@1"]'

    def test_predicate_overwrite_replaces_only_matching_rows(self, storage: LakeStorage) -> None:
        storage.write(NAME, _rows(1, 2, 3))
        storage.write(NAME, _rows(2), mode="overwrite", predicate="id = 2")
        dt = storage.open(NAME)
        assert sorted(dt.to_pyarrow_table().to_pylist(), key=lambda r: r["id"]) == [
            {"id": 1, "amount": 1.5},
            {"id": 2, "amount": 3.0},
            {"id": 3, "amount": 4.5},
        ]

    def test_schema_is_checked_and_merge_adds_columns(self, storage: LakeStorage) -> None:
        storage.write(NAME, _rows(1))
        with pytest.raises(InvalidArgument):
            storage.write(NAME, pa.table({"other": ["x"]}))
        wider = _rows(2).append_column("note", pa.array(["n"]))
        storage.write(NAME, wider, schema_mode="merge")
        dt = storage.open(NAME)
        assert dt.version() == 1 and "note" in dt.schema().to_arrow().names

    def test_a_stream_is_written_as_one_commit(self, storage: LakeStorage) -> None:
        table = _rows(*range(100))
        reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=7))
        dt = storage.write(NAME, reader)
        assert dt.version() == 0 and _ids(dt) == list(range(100))

    def test_stats_of_a_snapshot(self, storage: LakeStorage) -> None:
        storage.write(NAME, _rows(1, 2))
        dt = storage.write(NAME, _rows(3))
        stats = storage.stats(dt)
        assert (stats.version, stats.num_rows, stats.num_files) == (1, 3, 2)
        assert stats.size_bytes > 0 and stats.schema.names == ["id", "amount"]
        assert storage.stats(storage.open(NAME, version=0)).num_rows == 2

    def test_concurrent_writers_lose_nothing_when_declared(self, storage: LakeStorage) -> None:
        if not storage.concurrent_writers:
            pytest.skip("backend declares no safe concurrent commits")
        storage.write(NAME, _rows(0))
        errors: list[BaseException] = []

        def writer(base: int) -> None:
            try:
                for i in range(4):
                    storage.write(NAME, _rows(base + i))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(b,)) for b in (100, 200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        dt = storage.open(NAME)
        assert dt.version() == 8
        assert _ids(dt) == [0, 100, 101, 102, 103, 200, 201, 202, 203]

    def test_delete_table_as_declared(self, storage: LakeStorage) -> None:
        storage.write(NAME, _rows(1))
        storage.delete_table(NAME)
        assert storage.exists(NAME) is not storage.deletes_tables
        storage.delete_table("bronze.never_there")  # nothing there is fine
