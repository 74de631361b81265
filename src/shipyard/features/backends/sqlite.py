"""The embedded online store: one SQLite file in WAL mode, one row per entity and view.

Reads use one connection per thread (sqlite3 caches the prepared statements);
writes go through one writer connection, one transaction per call, as an upsert
that keeps the stored row when it is newer (so only keys that already exist are
compared). A bulk chunk is one statement over ``json_each`` of a flat array of
keys, the timestamps and values cut from two blobs by position: no per-row
binding, and no per-row JSON parsing (nested ``[key, ts]`` pairs cost 2.5x).

The event time is stored as 8 big-endian bytes of ``ts + 2**63``, so that SQLite's
blob comparison orders it like the number (``ts_bytes``/``ts_int``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, islice
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import orjson

from shipyard.errors import BackendUnavailable, ConfigError
from shipyard.features.backends.base import OnlineStore, Row, Stored

if TYPE_CHECKING:
    from shipyard.config import Settings

_CHUNK = 500  # keys per IN (...) query, under SQLite's variable limit
_BIAS = 1 << 63
_BULK = 50_000  # rows per bulk statement
_BULK_MIN = 64  # fewer rows: plain executemany


def ts_bytes(ts: int) -> bytes:
    """An event time (µs) as stored: big-endian ``ts + 2**63`` (blob order = number order)."""
    return (ts + _BIAS).to_bytes(8, "big")


def ts_int(stored: bytes) -> int:
    return int.from_bytes(stored, "big") - _BIAS


def _ts_blob(ts: Sequence[int]) -> bytes:
    return (
        (np.asarray(ts, dtype=np.int64).view(np.uint64) ^ np.uint64(_BIAS)).astype(">u8").tobytes()
    )


def _packed(chunk: list[Row]) -> tuple[bytes, bytes, bytes]:
    """A chunk as the bulk statement's parameters: JSON rows, the values, the times."""
    offsets = [0, *accumulate(len(v) for _, _, v in chunk)]
    meta = [(k, offsets[i], len(v)) for i, (k, _, v) in enumerate(chunk)]
    ts = _ts_blob([t for _, t, _ in chunk])
    return orjson.dumps(meta), b"".join(v for _, _, v in chunk), ts


@dataclass(frozen=True)
class _Sql:
    """The statements of one namespace's table (``ov_<name>_<hash>``)."""

    table: str
    create: str
    upsert: str
    bulk: str
    fixed: str
    one: str

    @classmethod
    def of(cls, namespace: str) -> _Sql:
        safe = re.sub(r"[^A-Za-z0-9_]", "_", namespace)[:48]
        digest = hashlib.sha1(namespace.encode()).hexdigest()[:8]
        t = f'"ov_{safe}_{digest}"'
        return cls(
            table=t,
            create=f"CREATE TABLE IF NOT EXISTS {t} (k TEXT PRIMARY KEY, "
            "ts BLOB NOT NULL, v BLOB NOT NULL) WITHOUT ROWID",
            upsert=f"INSERT INTO {t} (k, ts, v) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE "
            f"SET ts = excluded.ts, v = excluded.v WHERE excluded.ts >= {t}.ts",
            # A chunk in one statement: ?1 = JSON [[key, offset, length], ...],
            # ?2 = the values back to back, ?3 = the stored times (8 bytes each).
            bulk=f"INSERT INTO {t} (k, ts, v) SELECT j.value ->> 0, substr(?3, j.key * 8 + 1, 8), "
            "substr(?2, (j.value ->> 1) + 1, j.value ->> 2) FROM json_each(?1) AS j WHERE true "
            f"ON CONFLICT (k) DO UPDATE SET ts = excluded.ts, v = excluded.v "
            f"WHERE excluded.ts >= {t}.ts",
            # Fixed-size values: ?1 = JSON [key, ...], ?3 = bytes per value, ?4 = the times.
            fixed=f"INSERT INTO {t} (k, ts, v) SELECT j.value, substr(?4, j.key * 8 + 1, 8), "
            "substr(?2, j.key * ?3 + 1, ?3) FROM json_each(?1) AS j WHERE true "
            f"ON CONFLICT (k) DO UPDATE SET ts = excluded.ts, v = excluded.v "
            f"WHERE excluded.ts >= {t}.ts",
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
        from shipyard.config import environment_url

        url = environment_url(url, settings.environment, settings.owns("online", "url"))
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
        # A bulk load's B-tree pages stay in memory (the 2 MB default spills a 100k-row
        # load; 64 MB makes it a third faster). Only what is used is allocated.
        self._writer.execute("PRAGMA cache_size=-65536")
        self._all: list[sqlite3.Connection] = [self._writer]
        self._sql: dict[str, _Sql] = {}
        self._upgrade()

    def _upgrade(self) -> None:
        """Convert tables written before event times were stored as blobs (``ts INTEGER``)."""

        def legacy() -> list[str]:
            names = self._writer.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ov%'"
            ).fetchall()
            return [
                name
                for (name,) in names
                if any(
                    c[1] == "ts" and c[2].upper() == "INTEGER"
                    for c in self._writer.execute(f'PRAGMA table_info("{name}")')
                )
            ]

        try:
            if not legacy():
                return
            with self._write_lock:
                self._writer.execute("BEGIN IMMEDIATE")
                for name in legacy():  # again, now that no other process can convert it
                    self._convert(name)
                self._writer.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._writer.in_transaction:
                self._writer.execute("ROLLBACK")
            raise BackendUnavailable(
                f"online store {self.path} cannot be upgraded: {exc}"
            ) from None

    def _convert(self, name: str) -> None:
        conn, old = self._writer, f'"{name}__legacy"'
        conn.execute(f'ALTER TABLE "{name}" RENAME TO {old}')
        conn.execute(
            f'CREATE TABLE "{name}" (k TEXT PRIMARY KEY, ts BLOB NOT NULL, v BLOB NOT NULL) '
            "WITHOUT ROWID"
        )
        rows = conn.execute(f"SELECT k, ts, v FROM {old} ORDER BY k")
        while chunk := rows.fetchmany(_BULK):
            conn.executemany(
                f'INSERT INTO "{name}" VALUES (?, ?, ?)', [(k, ts_bytes(t), v) for k, t, v in chunk]
            )
        conn.execute(f"DROP TABLE {old}")

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
        """Upsert ``rows`` in one transaction, a chunk per statement (newer stored rows kept)."""
        sql = self._stmts(namespace)
        it = iter(rows)
        first = list(islice(it, _BULK))

        def run(conn: sqlite3.Connection) -> None:
            chunk = first
            while chunk:
                if len(chunk) >= _BULK_MIN:
                    conn.execute(sql.bulk, _packed(chunk))
                else:
                    conn.executemany(sql.upsert, [(k, ts_bytes(t), v) for k, t, v in chunk])
                chunk = list(islice(it, _BULK))

        return self._transaction(sql, run, bulk=len(first) >= _BULK_MIN)

    def write_packed(
        self, namespace: str, keys: Sequence[str], ts: Sequence[int], blob: bytes, size: int
    ) -> int:
        """Fixed-size values: a chunk is one statement, its rows never Python tuples."""
        sql = self._stmts(namespace)

        def run(conn: sqlite3.Connection) -> None:
            times = _ts_blob(ts)
            for i in range(0, len(keys), _BULK):
                meta = orjson.dumps(list(keys[i : i + _BULK]))
                values = blob[i * size : (i + _BULK) * size]
                conn.execute(sql.fixed, (meta, values, size, times[i * 8 : (i + _BULK) * 8]))

        return self._transaction(sql, run, bulk=len(keys) >= _BULK_MIN)

    def _transaction(
        self, sql: _Sql, run: Callable[[sqlite3.Connection], None], *, bulk: bool
    ) -> int:
        """Run ``run`` in one write transaction; returns the rows it changed.

        Bulk loads run with ``synchronous=OFF`` (an application crash cannot corrupt a
        WAL database); the checkpoint after runs with ``NORMAL`` again, so what was
        written is on disk when this returns.
        """
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute(sql.create)
                if bulk:
                    conn.execute("PRAGMA synchronous=OFF")
                before = conn.total_changes
                conn.execute("BEGIN IMMEDIATE")
                run(conn)
                conn.execute("COMMIT")
                written = conn.total_changes - before
                if bulk:
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute("PRAGMA synchronous=NORMAL")
                raise BackendUnavailable(f"online store write failed: {exc}") from None
        return written

    def read_one(self, namespace: str, key: str) -> Stored | None:
        try:
            conn = self._local.conn
            one = self._sql[namespace].one
        except (AttributeError, KeyError):
            conn, one = self._reader(), self._stmts(namespace).one
        try:
            row = conn.execute(one, (key,)).fetchone()
        except sqlite3.OperationalError as exc:
            return self._missing(exc)
        return None if row is None else (ts_int(row[0]), row[1])

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
                    found[k] = (ts_int(ts), v)
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
