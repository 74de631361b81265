"""The embedded online store: one SQLite file in WAL mode, one row per entity and view.

Reads use one connection per thread (sqlite3 caches the prepared statements);
writes go through one writer connection, a chunk per transaction, as an upsert
that keeps the stored row when it is newer.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.errors import BackendUnavailable, ConfigError
from shipyard.features.backends.base import OnlineStore, Row, Stored

if TYPE_CHECKING:
    from shipyard.config import Settings

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS online_values (ns TEXT NOT NULL, k TEXT NOT NULL, "
    "ts INTEGER NOT NULL, v BLOB NOT NULL, PRIMARY KEY (ns, k)) WITHOUT ROWID"
)
_UPSERT = (
    "INSERT INTO online_values (ns, k, ts, v) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (ns, k) DO UPDATE SET ts = excluded.ts, v = excluded.v "
    "WHERE excluded.ts >= online_values.ts"
)
_ONE = "SELECT ts, v FROM online_values WHERE ns = ? AND k = ?"
_CHUNK = 500  # keys per IN (...) query, under SQLite's variable limit


@dataclass
class SqliteOnlineStoreConfig:
    path: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> SqliteOnlineStoreConfig:
        url = settings.online.url
        if not url:
            return cls(settings.home_dir / "online.db")
        if not url.startswith("sqlite:///"):
            raise ConfigError(
                f"online.url for the sqlite backend must be sqlite:///path (got {url!r})",
                key="online.url",
            )
        path = Path(url.removeprefix("sqlite:///"))
        return cls(path if path.is_absolute() else settings.project_dir / path)


class SqliteOnlineStore(OnlineStore):
    capabilities = frozenset({"count"})

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writer = self._connect()
        self._writer.execute(_SCHEMA)
        self._all: list[sqlite3.Connection] = [self._writer]

    @classmethod
    def from_settings(cls, settings: Settings) -> SqliteOnlineStore:
        return cls(SqliteOnlineStoreConfig.from_settings(settings).path)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, cached_statements=256
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA mmap_size=268435456")
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"online store {self.path} is unavailable: {exc}") from None
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._all.append(conn)
        return conn

    def write(self, namespace: str, rows: Iterable[Row]) -> int:
        it = iter(rows)
        written = 0
        with self._write_lock:
            conn = self._writer
            while chunk := [(namespace, k, ts, v) for k, ts, v in islice(it, 50_000)]:
                before = conn.total_changes
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(_UPSERT, chunk)
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise BackendUnavailable(f"online store write failed: {exc}") from None
                written += conn.total_changes - before
        return written

    def read_one(self, namespace: str, key: str) -> Stored | None:
        try:
            conn = self._local.conn
        except AttributeError:
            conn = self._reader()
        return conn.execute(_ONE, (namespace, key)).fetchone()

    def read(self, namespace: str, keys: Sequence[str]) -> list[Stored | None]:
        if len(keys) == 1:
            return [self.read_one(namespace, keys[0])]
        conn = self._reader()
        found: dict[str, Stored] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            part = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(part))
            sql = f"SELECT k, ts, v FROM online_values WHERE ns = ? AND k IN ({marks})"
            for k, ts, v in conn.execute(sql, (namespace, *part)):
                found[k] = (ts, v)
        return [found.get(k) for k in keys]

    def delete_namespace(self, namespace: str) -> int:
        with self._write_lock:
            cur = self._writer.execute("DELETE FROM online_values WHERE ns = ?", (namespace,))
            return cur.rowcount

    def count(self, namespace: str) -> int:
        row = (
            self._reader()
            .execute("SELECT count(*) FROM online_values WHERE ns = ?", (namespace,))
            .fetchone()
        )
        return int(row[0])

    def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._all.clear()
        self._local = threading.local()
