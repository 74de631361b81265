"""The embedded online store: one SQLite file in WAL mode, one row per entity and view.

Reads use one connection per thread (sqlite3 caches the prepared statements);
writes go through one writer connection, a chunk per transaction, as an upsert
that keeps the stored row when it is newer.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
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

_CHUNK = 500  # keys per IN (...) query, under SQLite's variable limit


@dataclass(frozen=True)
class _Sql:
    """The statements of one namespace's table (``ov_<name>_<hash>``)."""

    table: str
    create: str
    upsert: str
    one: str

    @classmethod
    def of(cls, namespace: str) -> _Sql:
        safe = re.sub(r"[^A-Za-z0-9_]", "_", namespace)[:48]
        digest = hashlib.sha1(namespace.encode()).hexdigest()[:8]
        t = f'"ov_{safe}_{digest}"'
        return cls(
            table=t,
            create=f"CREATE TABLE IF NOT EXISTS {t} (k TEXT PRIMARY KEY, "
            "ts INTEGER NOT NULL, v BLOB NOT NULL) WITHOUT ROWID",
            upsert=f"INSERT INTO {t} (k, ts, v) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE "
            f"SET ts = excluded.ts, v = excluded.v WHERE excluded.ts >= {t}.ts",
            one=f"SELECT ts, v FROM {t} WHERE k = ?",
        )


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
    """One table per namespace (short keys, in-order bulk loads), rows keyed by entity."""

    capabilities = frozenset({"count"})

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writer = self._connect()
        self._all: list[sqlite3.Connection] = [self._writer]
        self._sql: dict[str, _Sql] = {}

    def _stmts(self, namespace: str) -> _Sql:
        sql = self._sql.get(namespace)
        if sql is None:
            sql = self._sql[namespace] = _Sql.of(namespace)
        return sql

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
        sql = self._stmts(namespace)
        it = iter(rows)
        written = 0
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute(sql.create)
                while chunk := list(islice(it, 50_000)):
                    before = conn.total_changes
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(sql.upsert, chunk)
                    conn.execute("COMMIT")
                    written += conn.total_changes - before
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise BackendUnavailable(f"online store write failed: {exc}") from None
        return written

    def read_one(self, namespace: str, key: str) -> Stored | None:
        try:
            conn = self._local.conn
            one = self._sql[namespace].one
        except (AttributeError, KeyError):
            conn, one = self._reader(), self._stmts(namespace).one
        try:
            return conn.execute(one, (key,)).fetchone()
        except sqlite3.OperationalError as exc:
            return self._missing(exc)

    @staticmethod
    def _missing(exc: sqlite3.OperationalError) -> None:
        if "no such table" in str(exc):
            return None  # nothing was ever written to this namespace
        raise BackendUnavailable(f"online store read failed: {exc}") from None

    def read(self, namespace: str, keys: Sequence[str]) -> list[Stored | None]:
        if len(keys) == 1:
            return [self.read_one(namespace, keys[0])]
        conn, table = self._reader(), self._stmts(namespace).table
        found: dict[str, Stored] = {}
        unique = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(unique), _CHUNK):
                part = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(part))
                sql = f"SELECT k, ts, v FROM {table} WHERE k IN ({marks})"
                for k, ts, v in conn.execute(sql, part):
                    found[k] = (ts, v)
        except sqlite3.OperationalError as exc:
            self._missing(exc)
        return [found.get(k) for k in keys]

    def delete_namespace(self, namespace: str) -> int:
        n = self.count(namespace)
        with self._write_lock:
            self._writer.execute(f"DROP TABLE IF EXISTS {self._stmts(namespace).table}")
        return n

    def count(self, namespace: str) -> int:
        try:
            row = (
                self._reader()
                .execute(f"SELECT count(*) FROM {self._stmts(namespace).table}")
                .fetchone()
            )
        except sqlite3.OperationalError as exc:
            self._missing(exc)
            return 0
        return int(row[0])

    def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._all.clear()
        self._local = threading.local()
