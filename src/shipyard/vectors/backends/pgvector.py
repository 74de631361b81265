"""The PostgreSQL backend: one table per index with a ``vector(d)`` column (pgvector).

Whether the server has the extension is detected (``pg_available_extensions``); without
it ``BackendUnavailable`` says so in one line. Changes run in one transaction that
``save`` commits together with the table version, so a crash mid-update rolls back to
the previous version. HNSW answers are checked: a filtered scan that comes back short
(pgvector's HNSW stops at ``ef_search`` candidates) is redone exactly with index scans
off, so at least-k matches always give k hits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shipyard.errors import BackendUnavailable, InvalidArgument, mask_url
from shipyard.vectors.backends.base import (
    Capabilities,
    Filter,
    Neighbours,
    VectorIndex,
    filter_values,
)
from shipyard.vectors.models import VectorIndexSpec

META = "shipyard_vector_indexes"
_OPS = {
    "l2": ("vector_l2_ops", "<->"),
    "cosine": ("vector_cosine_ops", "<=>"),
    "ip": ("vector_ip_ops", "<#>"),
}


class PgVectorIndex(VectorIndex):
    """An index in a PostgreSQL table; HNSW through pgvector's ``hnsw`` access method."""

    capabilities = Capabilities(files=False)
    #: The extension looked for (a test points it at a missing one).
    EXTENSION = "vector"

    def __init__(self, spec: VectorIndexSpec, url: str) -> None:
        super().__init__(spec)
        if not url.startswith(("postgresql", "postgres:")):
            raise BackendUnavailable(
                "vectors.backend 'pgvector' needs a PostgreSQL URL (set vectors.url)"
            )
        self._url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._table = f"shipyard_vec_{spec.name}"
        self._conn: Any = None
        self._dirty = False
        self._id_kind: str | None = None

    # -- connection ------------------------------------------------------------------

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> Any:
        import psycopg
        from pgvector.psycopg import register_vector

        masked = mask_url(self._url)
        try:
            conn = psycopg.connect(self._url, autocommit=True)
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreachable"
            raise BackendUnavailable(f"PostgreSQL {masked} is unavailable: {first}") from None
        row = conn.execute(
            "SELECT installed_version FROM pg_available_extensions WHERE name = %s",
            (self.EXTENSION,),
        ).fetchone()
        if row is None:
            conn.close()
            raise BackendUnavailable(
                f"PostgreSQL {masked} has no '{self.EXTENSION}' extension (pgvector): install "
                "it on the server (e.g. postgresql-15-pgvector) or use vectors.backend 'embedded'"
            )
        if row[0] is None:
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {self.EXTENSION}")
        register_vector(conn)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {META} (name text PRIMARY KEY, "
            "table_version bigint, id_kind text)"
        )
        conn.autocommit = False
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _end_read(self) -> None:
        if not self._dirty:
            self.conn.rollback()

    # -- content -------------------------------------------------------------------------

    def _rows(self, ids: Sequence[Any], arr: np.ndarray, attrs: Mapping[str, Sequence[Any]]):
        from psycopg.types.json import Jsonb

        for n, i in enumerate(ids):
            yield (str(i), arr[n], Jsonb({c: _plain(attrs[c][n]) for c in self.spec.filterable}))

    def _prepare(
        self, ids: Sequence[Any], vectors: np.ndarray, attrs: Mapping[str, Sequence[Any]]
    ) -> np.ndarray:
        arr = self.check_vectors(ids, vectors)
        kinds = {
            "int"
            if isinstance(i, int | np.integer) and not isinstance(i, bool)
            else "str"
            if isinstance(i, str)
            else "bad"
            for i in ids
        }
        if "bad" in kinds or len(kinds) > 1:
            raise InvalidArgument("ids must be all integers or all strings")
        if len(set(ids)) != len(ids):
            raise InvalidArgument(f"index '{self.spec.name}': duplicate ids in one batch")
        for c in self.spec.filterable:
            if c not in attrs or len(attrs[c]) != len(ids):
                raise InvalidArgument(
                    f"index '{self.spec.name}': filterable column '{c}' "
                    "is missing or has the wrong length"
                )
        if self.spec.metric == "cosine" and len(arr) and (np.linalg.norm(arr, axis=1) == 0).any():
            raise InvalidArgument("a zero vector has no cosine direction")
        if kinds:
            self._id_kind = kinds.pop()
        return arr

    def build(
        self, ids: Sequence[Any], vectors: np.ndarray, attrs: Mapping[str, Sequence[Any]]
    ) -> None:
        arr = self._prepare(ids, vectors, attrs)
        d, t = self.spec.dimension, self._table
        cur = self.conn.cursor()
        cur.execute(f"DROP TABLE IF EXISTS {t}")
        cur.execute(
            f"CREATE TABLE {t} (id text PRIMARY KEY, embedding vector({d}) NOT NULL, "
            "attrs jsonb NOT NULL)"
        )
        with cur.copy(f"COPY {t} (id, embedding, attrs) FROM STDIN") as copy:
            for row in self._rows(ids, arr, attrs):
                copy.write_row(row)
        if self.spec.index_type == "hnsw":
            p = self.spec.build_params()
            ops = _OPS[self.spec.metric][0]
            cur.execute(
                f"CREATE INDEX ON {t} USING hnsw (embedding {ops}) "
                f"WITH (m = {int(p['m'])}, ef_construction = {int(p['ef_construction'])})"
            )
        self._dirty = True

    def _exists(self) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s)", (self._table,)).fetchone()
        return row is not None and row[0] is not None

    def upsert(
        self, ids: Sequence[Any], vectors: np.ndarray, attrs: Mapping[str, Sequence[Any]]
    ) -> None:
        if not self._exists():
            self.build(ids, vectors, attrs)
            return
        arr = self._prepare(ids, vectors, attrs)
        self.conn.cursor().executemany(
            f"INSERT INTO {self._table} (id, embedding, attrs) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, attrs = EXCLUDED.attrs",
            list(self._rows(ids, arr, attrs)),
        )
        self._dirty = True

    def delete(self, ids: Sequence[Any]) -> int:
        if not ids or not self._exists():
            return 0
        cur = self.conn.execute(
            f"DELETE FROM {self._table} WHERE id = ANY(%s)", ([str(i) for i in ids],)
        )
        self._dirty = True
        return int(cur.rowcount)

    def count(self) -> int:
        try:
            if not self._exists():
                return 0
            return int(self.conn.execute(f"SELECT count(*) FROM {self._table}").fetchone()[0])
        finally:
            self._end_read()

    def get_vector(self, id: Any) -> np.ndarray | None:
        try:
            if not self._exists():
                return None
            row = self.conn.execute(
                f"SELECT embedding FROM {self._table} WHERE id = %s", (str(id),)
            ).fetchone()
        finally:
            self._end_read()
        return None if row is None else np.asarray(row[0], dtype=np.float32)

    # -- queries -----------------------------------------------------------------------------

    def _where(self, filter: Filter | None) -> tuple[str, list[Any]]:
        from psycopg.types.json import Jsonb

        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (filter or {}).items():
            values = filter_values(value)
            if not values:
                return "WHERE false", []
            clauses.append("(" + " OR ".join(["attrs @> %s"] * len(values)) + ")")
            args.extend(Jsonb({column: _plain(v)}) for v in values)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), args

    def query(self, vector: np.ndarray, k: int, filter: Filter | None = None) -> Neighbours:
        q = self.check_query(vector, k, filter)
        if self.spec.metric == "cosine" and not np.linalg.norm(q):
            raise InvalidArgument("a zero query vector has no cosine direction")
        try:
            if not self._exists():
                return Neighbours([], [], 0, "exact")
            return self._query(q, k, filter)
        finally:
            self._end_read()

    def _query(self, q: np.ndarray, k: int, filter: Filter | None) -> Neighbours:
        where, args = self._where(filter)
        op = _OPS[self.spec.metric][1]
        matched = int(
            self.conn.execute(f"SELECT count(*) FROM {self._table} {where}", args).fetchone()[0]
        )
        sql = f"SELECT id, embedding {op} %s AS d FROM {self._table} {where} ORDER BY d LIMIT %s"
        method = "hnsw" if self.spec.index_type == "hnsw" else "exact"
        with self.conn.transaction():
            if method == "hnsw":
                ef = min(max(self.spec.build_params()["ef_search"], k), 1000)
                self.conn.execute(f"SET LOCAL hnsw.ef_search = {ef}")
            rows = self.conn.execute(sql, [q, *args, k]).fetchall()
        if len(rows) < min(k, matched):  # HNSW came back short: answer exactly
            with self.conn.transaction():
                self.conn.execute("SET LOCAL enable_indexscan = off")
                rows = self.conn.execute(sql, [q, *args, k]).fetchall()
                self.conn.execute("SET LOCAL enable_indexscan = on")
            method = "exact"
        kind = self._kind()
        ids = [int(r[0]) if kind == "int" else r[0] for r in rows]
        return Neighbours(ids, [float(r[1]) for r in rows], matched, method)

    def _kind(self) -> str | None:
        if self._id_kind is None:
            row = self.conn.execute(
                f"SELECT id_kind FROM {META} WHERE name = %s", (self.spec.name,)
            ).fetchone()
            self._id_kind = row[0] if row else None
        return self._id_kind

    # -- persistence ----------------------------------------------------------------------------

    def save(self, table_version: int | None) -> None:
        self.conn.execute(
            f"INSERT INTO {META} (name, table_version, id_kind) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET table_version = EXCLUDED.table_version, "
            f"id_kind = COALESCE(EXCLUDED.id_kind, {META}.id_kind)",
            (self.spec.name, table_version, self._id_kind),
        )
        self.conn.commit()
        self._dirty = False

    def load(self) -> int | None:
        self.conn.rollback()
        self._dirty = False
        self._id_kind = None
        row = self.conn.execute(
            f"SELECT table_version FROM {META} WHERE name = %s", (self.spec.name,)
        ).fetchone()
        self._end_read()
        return int(row[0]) if row and row[0] is not None else None


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, str | int | float | bool) and value is not None:
        return json.loads(json.dumps(value, default=str))
    return value
