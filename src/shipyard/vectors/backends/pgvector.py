"""The PostgreSQL backend: one table per index with a ``vector(d)`` column (pgvector).

Whether the server has the extension is detected (``pg_available_extensions``); without
it ``BackendUnavailable`` says so in one line. Changes run in one transaction that
``save`` commits together with the table version and the row count, so a crash
mid-update rolls back to the previous version.

Filtered queries never come back short. pgvector 0.6 (no iterative index scans) filters
the ``ef_search`` HNSW candidates *after* the scan, so: few or rare matches are searched
exactly up front (over the GIN index of the filter attributes); otherwise the beam is
widened to expect ``2k`` passing candidates; and an answer still short of
``min(k, matched)`` is redone exactly. "Exactly" is a materialized CTE, which no plan can
serve from the HNSW index (docs/adr/0039-pgvector-tested-on-a-real-server.md).
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
#: Filters matching at most this many rows, or under this share of the index, are
#: searched exactly (over the GIN index of the filterable columns).
EXACT_BELOW = 2_000
EXACT_FRACTION = 0.05
#: pgvector's largest ``hnsw.ef_search``.
MAX_EF = 1000


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
        # the row count as saved: an unfiltered query reads it instead of counting rows
        conn.execute(f"ALTER TABLE {META} ADD COLUMN IF NOT EXISTS row_count bigint")
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
        if self.spec.filterable:  # filters (``attrs @> ...``) find their rows through it
            cur.execute(f"CREATE INDEX ON {t} USING gin (attrs jsonb_path_ops)")
        cur.execute(f"ANALYZE {t}")  # the planner's row estimates for filters, from the start
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

    def _count_rows(self) -> int | None:
        if not self._exists():
            return None
        return int(self.conn.execute(f"SELECT count(*) FROM {self._table}").fetchone()[0])

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
        if row is None:
            return None
        value = row[0]  # pgvector >= 0.3 loads a ``Vector``, earlier ones an array
        return np.asarray(getattr(value, "to_numpy", lambda: value)(), dtype=np.float32)

    # -- queries -----------------------------------------------------------------------------

    def _where(self, filter: Filter | None) -> tuple[str, list[Any]]:
        """The filter as an SQL condition (``true`` for none) and its parameters."""
        from psycopg.types.json import Jsonb

        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (filter or {}).items():
            values = filter_values(value)
            if not values:
                return "false", []
            clauses.append("(" + " OR ".join(["attrs @> %s"] * len(values)) + ")")
            args.extend(Jsonb({column: _plain(v)}) for v in values)
        return (" AND ".join(clauses) if clauses else "true"), args

    def query(self, vector: np.ndarray, k: int, filter: Filter | None = None) -> Neighbours:
        q = self.check_query(vector, k, filter)
        if self.spec.metric == "cosine" and not np.linalg.norm(q):
            raise InvalidArgument("a zero query vector has no cosine direction")
        try:
            exists, saved, kind = self.conn.execute(
                f"SELECT to_regclass(%s) IS NOT NULL, m.row_count, m.id_kind FROM (SELECT 1) "
                f"AS one LEFT JOIN {META} AS m ON m.name = %s",
                (self._table, self.spec.name),
            ).fetchone()
            if not exists:
                return Neighbours([], [], 0, "exact")
            self._id_kind = self._id_kind or kind
            # the count ``save`` committed with the rows, unless changes are pending
            return self._query(q, k, filter, None if self._dirty else saved)
        finally:
            self._end_read()

    def _query(self, q: np.ndarray, k: int, filter: Filter | None, total: int | None) -> Neighbours:
        cond, args = self._where(filter)
        if total is None:
            total = int(self.conn.execute(f"SELECT count(*) FROM {self._table}").fetchone()[0])
        matched = total
        if filter:  # through the GIN index of the filterable columns
            sql = f"SELECT count(*) FROM {self._table} WHERE {cond}"
            matched = int(self.conn.execute(sql, args).fetchone()[0])
        ef = self._beam(k, matched, total)
        if ef is not None:
            rows = self._hnsw(q, k, ef, cond, args)
            if len(rows) >= min(k, matched):
                return self._answer(rows, int(matched), "hnsw")
        # Few matches, or HNSW came back short (pgvector filters the ef_search candidates
        # after the scan): answer exactly
        return self._answer(self._exact(q, k, cond, args), int(matched), "exact")

    def _beam(self, k: int, matched: int, total: int) -> int | None:
        """The ``hnsw.ef_search`` for this query, or None to search exactly.

        pgvector 0.6 filters HNSW candidates after the scan, so about ``ef * matched /
        total`` of them pass: the beam is widened to expect ``2k`` passing rows. Few or
        rare matches (or a beam past pgvector's limit) are searched exactly instead.
        """
        if self.spec.index_type != "hnsw" or matched <= k:
            return None
        if matched <= EXACT_BELOW or matched < EXACT_FRACTION * total:
            return None
        ef = max(self.spec.build_params()["ef_search"], k, -(-2 * k * total // matched))
        return ef if ef <= MAX_EF else None

    def _hnsw(self, q: np.ndarray, k: int, ef: int, cond: str, args: list[Any]) -> list[Any]:
        op = _OPS[self.spec.metric][1]
        with self.conn.pipeline():  # one round trip; SET LOCAL ends with the transaction
            self.conn.execute(f"SET LOCAL hnsw.ef_search = {ef}")
            return list(
                self.conn.execute(
                    f"SELECT id, embedding {op} %s AS d FROM {self._table} WHERE {cond} "
                    "ORDER BY d LIMIT %s",
                    [q, *args, k],
                ).fetchall()
            )

    def _exact(self, q: np.ndarray, k: int, cond: str, args: list[Any]) -> list[Any]:
        """Distances to every matching row, sorted: a materialized CTE cannot be served
        by the HNSW index, whatever plan the server has cached for this statement (a
        planner setting such as ``enable_indexscan = off`` is not enough: psycopg
        prepares a statement run five times and the server then reuses its plan)."""
        op = _OPS[self.spec.metric][1]
        return list(
            self.conn.execute(
                f"WITH m AS MATERIALIZED (SELECT id, embedding FROM {self._table} "
                f"WHERE {cond}) SELECT id, embedding {op} %s AS d FROM m ORDER BY d LIMIT %s",
                [*args, q, k],
            ).fetchall()
        )

    def _answer(self, rows: list[Any], matched: int, method: str) -> Neighbours:
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
            f"INSERT INTO {META} (name, table_version, id_kind, row_count) "
            "VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET table_version = EXCLUDED.table_version, "
            f"id_kind = COALESCE(EXCLUDED.id_kind, {META}.id_kind), "
            "row_count = EXCLUDED.row_count",
            (self.spec.name, table_version, self._id_kind, self._count_rows()),
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
