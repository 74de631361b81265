from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.features.backends.base import OnlineStore
from shipyard.features.backends.sqlite import SqliteOnlineStore
from tests.contract.features.service_suite import FeatureServiceContract
from tests.contract.features.suite import OnlineStoreContract


class TestSqliteOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[OnlineStore]:
        s = SqliteOnlineStore(tmp_path / "online.db")
        yield s
        s.close()

    def test_file_is_in_wal_mode(self, tmp_path: Path) -> None:
        s = SqliteOnlineStore(tmp_path / "o.db")
        try:
            s.write("v:1", [("1", 1, b"x")])
            mode = s._reader().execute("PRAGMA journal_mode").fetchone()[0]
            assert mode == "wal"
        finally:
            s.close()

    def test_reads_from_other_threads(self, tmp_path: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        s = SqliteOnlineStore(tmp_path / "o.db")
        try:
            s.write("v:1", [(str(i), i, b"x") for i in range(100)])
            with ThreadPoolExecutor(4) as pool:
                got = list(pool.map(lambda i: s.read_one("v:1", str(i)), range(100)))
            assert got == [(i, b"x") for i in range(100)]
        finally:
            s.close()

    def test_tables_of_the_integer_time_format_are_converted(self, tmp_path: Path) -> None:
        import sqlite3

        from shipyard.features.backends.sqlite import _Sql

        table = _Sql.of("v:1").table
        conn = sqlite3.connect(tmp_path / "o.db")
        conn.execute(
            f"CREATE TABLE {table} (k TEXT PRIMARY KEY, ts INTEGER NOT NULL, v BLOB NOT NULL) "
            "WITHOUT ROWID"
        )
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", [("a", 5, b"x"), ("b", -3, b"y")])
        conn.commit()
        conn.close()
        s = SqliteOnlineStore(tmp_path / "o.db")
        try:
            assert s.read("v:1", ["a", "b"]) == [(5, b"x"), (-3, b"y")]
            assert s.write("v:1", [("a", 4, b"old"), ("b", -2, b"new")]) == 1
            assert s.read("v:1", ["a", "b"]) == [(5, b"x"), (-2, b"new")]
        finally:
            s.close()
        again = SqliteOnlineStore(tmp_path / "o.db")  # converted once
        try:
            assert again.read_one("v:1", "a") == (5, b"x")
        finally:
            again.close()


class TestSqliteFeatureService(FeatureServiceContract):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'catalog.db'}"
