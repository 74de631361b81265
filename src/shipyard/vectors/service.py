"""Vector indexes as cataloged assets: declared (plan/apply), built from the lake, queried.

An index is a catalog asset of kind ``vector_index`` (owner: the source table's owner;
properties: the spec and the last build's state) with a lineage edge from its table.
Its content lives in a backend (``backends/``); the lake stays the source of truth, so
``build(full=True)`` can always recreate it.

Updates are incremental by **version diff**: the table is read (through ``LakeService``)
at the version the index holds and at the latest one, and only rows whose id, vector or
filterable values differ are upserted or deleted. The backend saves the table version
with its content atomically, so a crash mid-update leaves the previous version loadable
and the next update starts from there.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from shipyard._internal.clock import utcnow
from shipyard._internal.shared import Shared
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import InvalidArgument, NotFound
from shipyard.security.models import Permission
from shipyard.vectors.backends.base import Filter, VectorIndex
from shipyard.vectors.keywords import KeywordIndex, fuse
from shipyard.vectors.models import (
    MAX_K,
    IndexState,
    QueryResult,
    VectorIndexInfo,
    VectorIndexSpec,
)
from shipyard.vectors.rows import check_columns, columns, diff
from shipyard.vectors.views import (
    VIEW_KIND,
    open_view,
    source_asset,
    view_rows,
    view_version,
)

if TYPE_CHECKING:
    from shipyard.catalog.changes import ChangeFeed
    from shipyard.catalog.models import Asset
    from shipyard.lake.service import LakeService

KIND = "vector_index"
TABLE_KIND = "table"
_LOCK = threading.Lock()
_WATCHED = (KIND, TABLE_KIND, VIEW_KIND)
#: Largest ``k`` ``aquery`` answers on the event loop (a wider beam is worth a thread).
INLINE_K = 100


@dataclass(slots=True)
class _Ready:
    """What a query needs: valid while the catalog's change fingerprint is ``seen``,
    trusted without asking until ``until`` (``time.monotonic``)."""

    seen: Hashable
    owner: str
    index: VectorIndex
    version: int | None
    until: float


@dataclass
class VectorState:
    """The loaded indexes (with the table version each holds) and the asset cache of a platform."""

    indexes: dict[str, tuple[VectorIndex, int | None]] = field(default_factory=dict)
    assets: dict[str, Any] = field(default_factory=dict)
    ready: dict[str, _Ready] = field(default_factory=dict)
    #: Keyword (BM25) indexes of hybrid queries: name -> (spec, table version, index).
    keywords: dict[str, tuple[VectorIndexSpec, int | None, KeywordIndex]] = field(
        default_factory=dict
    )

    def close(self) -> None:
        with _LOCK:
            held, self.indexes, self.ready = list(self.indexes.values()), {}, {}
            words, self.keywords = list(self.keywords.values()), {}
        for index, _ in held:
            index.close()
        for *_, kw in words:
            kw.close()


class VectorService(Service):
    """Declare, build and query vector indexes over lake tables and feature views."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        lake: LakeService,
        changes: Shared[ChangeFeed],
        open_index: Callable[[VectorIndexSpec], VectorIndex],
        state: VectorState,
    ) -> None:
        super().__init__(ctx)
        self._lake = lake
        self._changes = changes
        self._backend = open_index
        self._state = state

    # -- plumbing -------------------------------------------------------------------

    def _open(self, spec: VectorIndexSpec) -> tuple[VectorIndex, int | None]:
        """The loaded backend of ``spec`` (cached per platform) and its table version."""
        cache = self._state.indexes
        with _LOCK:
            held = cache.get(spec.name)
            if held is not None and held[0].spec == spec:
                return held[0], held[1]
            if held is not None:
                held[0].close()
            index = self._backend(spec)
            version = index.load()
            cache[spec.name] = (index, version)
            return index, version

    def _asset(self, name: str) -> tuple[Asset, VectorIndexSpec, str]:
        """The index asset, its spec and the source table's stored owner.

        Cached until an index or a table asset changes in the catalog (the change feed
        answers that in microseconds), so a query does not pay two catalog reads.
        """
        seen = self._changes.get().fingerprint(_WATCHED)
        cache = self._state.assets
        hit = cache.get(name)
        if hit is not None and seen is not None and hit[0] == seen:
            return hit[1]
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.find(conn, KIND, name)
            if asset is None:
                raise NotFound(f"no vector index named '{name}'", name=name)
            spec = VectorIndexSpec.model_validate(asset.properties["spec"])
            source = self._ctx.catalog.find(conn, *source_asset(spec))
        found = (asset, spec, source.owner if source is not None else asset.owner)
        if len(cache) > 1024:
            cache.clear()
        cache[name] = (seen, found)
        return found

    # -- declare --------------------------------------------------------------------

    def plan(self, specs: Iterable[Any]) -> list[dict[str, Any]]:
        """What ``apply`` would do: ``{"name", "action": create|update|unchanged}`` per spec.

        Raises:
            InvalidArgument: a malformed spec, an unknown column, a vector column of the
                wrong type or dimension (one line naming the index).
            NotFound: the source table does not exist.
        """
        out = []
        for spec in self._validated(specs):
            with self._ctx.db.connect() as conn:
                current = self._ctx.catalog.find(conn, KIND, spec.name)
            if current is None:
                action = "create"
            elif VectorIndexSpec.model_validate(current.properties["spec"]) == spec:
                action = "unchanged"
            else:
                action = "update"
            out.append({"name": spec.name, "table": spec.source, "action": action})
        return out

    def _validated(self, specs: Iterable[Any]) -> list[VectorIndexSpec]:
        """The specs, checked against their sources (a view's join key filled in as the id)."""
        parsed = [VectorIndexSpec.parse(s) for s in specs]
        names = [s.name for s in parsed]
        if len(set(names)) != len(names):
            raise InvalidArgument("a vector index is declared twice")
        out = []
        for spec in parsed:
            if spec.feature_view is not None:
                view = open_view(self._ctx, spec.feature_view)
                if spec.id_column not in (None, view.join_key):
                    raise InvalidArgument(
                        f"vector index '{spec.name}': the id of feature view "
                        f"{spec.feature_view} is its join key '{view.join_key}'"
                    )
                spec = spec.model_copy(update={"id_column": view.join_key})
                types, where = view.types, f"feature view {spec.feature_view}"
            else:
                table = self._lake.get_table(spec.source)
                types, where = {c.name: c.type for c in table.columns}, f"table {spec.table}"
            check_columns(spec, types, where)
            out.append(spec)
        return out

    def apply(self, specs: Iterable[Any]) -> list[dict[str, Any]]:
        """Create or update index definitions (needs WRITE on each source table's team).

        A changed definition drops the built content: the next ``build`` starts afresh.
        """
        specs = list(specs)
        plan = self.plan(specs)
        parsed = {s.name: s for s in self._validated(specs)}
        for change in plan:
            if change["action"] == "unchanged":
                continue
            spec = parsed[change["name"]]
            owner = self._owner(spec)
            if change["action"] == "update":  # redefining needs the current owner's WRITE too
                with self._ctx.db.connect() as conn:
                    current = self._ctx.catalog.get(conn, KIND, spec.name)
                self._ctx.require(
                    Permission.WRITE,
                    current.owner,
                    action="vectors.apply",
                    asset=f"vector_index:{spec.name}",
                )
            self._state.ready.pop(spec.name, None)
            with self._ctx.mutation(
                "vectors.apply", team=owner, asset=f"vector_index:{spec.name}"
            ) as m:
                asset = self._ctx.catalog.upsert(
                    m.conn,
                    kind=KIND,
                    name=spec.name,
                    owner=owner,
                    created_by=self.principal.name,
                    description=spec.description,
                    properties={
                        "spec": spec.model_dump(mode="json"),
                        "state": IndexState().model_dump(),
                    },
                )
                source = self._ctx.catalog.get(m.conn, *source_asset(spec))
                self._ctx.catalog.add_edge(
                    m.conn, source, asset, operation="vector_index", created_by=self.principal.name
                )
                m.details = {"action": change["action"], "table": spec.source}
            if change["action"] == "update":
                index, _ = self._open(spec)
                index.build(
                    [], np.empty((0, spec.dimension), np.float32), {c: [] for c in spec.filterable}
                )
                index.save(None)
        return plan

    # -- build ---------------------------------------------------------------------------

    def build(self, name: str, *, full: bool = False) -> IndexState:
        """Bring the index up to the table's latest version (needs WRITE on its team).

        Incremental by version diff unless ``full`` or the index holds nothing yet.

        Raises:
            InvalidArgument: a NaN/infinite vector or one of the wrong dimension (names the id),
                a null or duplicate id.
        """
        _, spec, owner = self._asset(name)
        self._ctx.require(
            Permission.WRITE, owner, action="vectors.build", asset=f"vector_index:{name}"
        )
        latest = self._latest(spec)
        # Update a fresh copy (loaded from its file / its own connection) and swap it in:
        # queries keep reading the one they have meanwhile, and a failure leaves it as is.
        index = self._backend(spec)
        try:
            held = index.load()
            if held == latest and not full:
                mode = "unchanged"
            else:
                mode = self._update(spec, index, held, latest, full=full)
            rows = index.count()
        except BaseException:
            index.close()
            raise
        with _LOCK:
            cache = self._state.indexes
            old = cache.get(name)
            cache[name] = (index, latest)
            self._state.ready.pop(name, None)
        if old is not None and old[0] is not index:
            old[0].close()
        return self._record(spec, owner, latest, rows, mode)

    def _restore(self, spec: VectorIndexSpec, version: int) -> tuple[VectorIndex, int]:
        """Rebuild an index whose saved content is gone (deleted files or objects) at the
        table version the catalog says it was built at, save it and swap it in."""
        index = self._backend(spec)
        try:
            self._update(spec, index, None, version, full=True)
        except BaseException:
            index.close()
            raise
        with _LOCK:
            old = self._state.indexes.get(spec.name)
            self._state.indexes[spec.name] = (index, version)
        if old is not None and old[0] is not index:
            old[0].close()
        return index, version

    def _forget(self, name: str) -> None:
        with _LOCK:
            held = self._state.indexes.pop(name, None)
        if held is not None:
            held[0].close()

    def _update(
        self,
        spec: VectorIndexSpec,
        index: VectorIndex,
        held: int | None,
        latest: int,
        *,
        full: bool,
    ) -> str:
        new = self._rows(spec, latest)
        if held is None or full:
            ids, vectors, attrs = columns(spec, new)
            index.build(ids, vectors, attrs)
            mode = "build"
        else:
            gone, changed = diff(spec, self._rows(spec, held), new)
            index.delete(gone)
            ids, vectors, attrs = columns(spec, changed)
            if ids:
                index.upsert(ids, vectors, attrs)
            mode = "incremental"
        index.save(latest)
        return mode

    def _rows(self, spec: VectorIndexSpec, version: int) -> pa.Table:
        return self._read(spec, version, [spec.vector_column, *spec.filterable])

    def _read(self, spec: VectorIndexSpec, version: int, cols: list[str]) -> pa.Table:
        """The id column and ``cols`` of the source at ``version`` (a view: latest per entity)."""
        cols = [str(spec.id_column), *cols]
        if spec.feature_view is not None:
            view = open_view(self._ctx, spec.feature_view)
            return view_rows(self._ctx, self._lake, view, version, cols)
        return self._lake.read(spec.source, version=version, columns=cols)

    def _latest(self, spec: VectorIndexSpec) -> int:
        if spec.feature_view is not None:
            return view_version(self._ctx, self._lake, open_view(self._ctx, spec.feature_view))
        return self._lake.get_table(spec.source).version

    def _owner(self, spec: VectorIndexSpec) -> str:
        if spec.feature_view is not None:
            return open_view(self._ctx, spec.feature_view).owner
        return self._lake.get_table(spec.source).owner

    def follow_view(self, view: str) -> list[IndexState]:
        """Update every index over feature ``view`` (after it is materialized).

        Incremental by version diff like ``build``; needs WRITE on the view's team,
        which materializing it needed already.
        """
        with self._ctx.db.connect() as conn:
            found = self._ctx.catalog.search(conn, kind=KIND, limit=10_000)
        names = sorted(
            a.name for a in found if a.properties.get("spec", {}).get("feature_view") == view
        )
        return [self.build(name) for name in names]

    def _record(
        self, spec: VectorIndexSpec, owner: str, version: int, rows: int, mode: str
    ) -> IndexState:
        state = IndexState(
            table_version=version,
            rows=rows,
            mode=mode,
            backend=self._ctx.settings.vectors.backend,
            built_at=utcnow().isoformat(),
        )
        with self._ctx.mutation(
            "vectors.build", team=owner, asset=f"vector_index:{spec.name}"
        ) as m:
            self._ctx.catalog.upsert(
                m.conn,
                kind=KIND,
                name=spec.name,
                owner=owner,
                created_by=self.principal.name,
                new_version=False,
                properties={"state": state.model_dump()},
            )
            m.details = {"mode": mode, "table_version": version, "rows": rows}
        return state

    # -- query ---------------------------------------------------------------------------

    def query(
        self,
        name: str,
        vector: Sequence[float] | np.ndarray | None = None,
        *,
        id: Any = None,
        k: int = 10,
        filter: Filter | None = None,
        text: str | None = None,
    ) -> QueryResult:
        """The ``k`` nearest rows to ``vector`` (or to row ``id``, itself left out).

        Needs READ on the source table's team. Exactly ``k`` hits whenever at least ``k``
        indexed rows match ``filter``. With ``text``, the nearest ``max(2k, 50)`` rows
        and the best BM25 matches of ``text`` in the ``text_column`` (both under
        ``filter``) are fused by reciprocal rank (``keywords.py``; ``method="hybrid"``).

        Raises:
            InvalidArgument: k outside 1..10000, a vector of the wrong dimension or with
                NaNs, an unknown filter column, neither or both of ``vector`` and ``id``.
            NotFound: no such index, or no row ``id`` in it.
        """
        if text is not None:
            return self._hybrid(name, vector, id=id, k=k, filter=filter, text=text)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidArgument(f"k must be an integer in 1..{MAX_K}, got {k!r}")
        if (vector is None) == (id is None):
            raise InvalidArgument("give exactly one of a query vector or a row id")
        ready = self._ready(name)
        index = ready.index
        if id is None:
            found = index.query(vector, k, filter)  # type: ignore[arg-type]
        else:
            stored = index.get_vector(id)
            if stored is None:
                raise NotFound(f"no row with id {id!r} in vector index '{name}'", id=str(id))
            found = index.query(stored, min(k + 1, MAX_K), filter)
            if id in found.ids:
                found.matched -= 1
            keep = [n for n, i in enumerate(found.ids) if i != id][:k]
            found.ids = [found.ids[n] for n in keep]
            found.distances = [found.distances[n] for n in keep]
        return QueryResult(
            index=name,
            table_version=ready.version,
            ids=found.ids,
            distances=found.distances,
            matched=found.matched,
            method=found.method,
        )

    async def aquery(
        self,
        name: str,
        vector: Sequence[float] | np.ndarray | None = None,
        *,
        id: Any = None,
        k: int = 10,
        filter: Filter | None = None,
        text: str | None = None,
    ) -> QueryResult:
        """``query`` for a server's event loop (the HTTP route): the same answers and errors.

        Answered on the loop when that is microseconds of work: the index is in this
        process's memory, what was cached of it is still trusted (``recheck_seconds``),
        the caller may read it, and the query has no filter, no text and ``k <= 100``.
        Anything else (a load or download, a catalog read, an audited denial, a filtered
        or keyword search, a server-side backend) runs in a worker thread: handing a
        query to a thread and back costs two thread wake-ups, which on a busy machine
        were most of the request's time.
        """
        if text is None and not filter and type(k) is int and k <= INLINE_K and self._hot(name):
            return self.query(name, vector, id=id, k=k)
        return await asyncio.to_thread(
            self.query, name, vector, id=id, k=k, filter=filter, text=text
        )

    def _hot(self, name: str) -> bool:
        """Whether ``query(name)`` would take its hot path and pass the permission check."""
        hot = self._state.ready.get(name)
        held = self._state.indexes.get(name)
        return (
            hot is not None
            and held is not None
            and held[0] is hot.index
            and hot.index.capabilities.files  # searched in memory, not on a server
            and time.monotonic() < hot.until
            and self.principal.can(Permission.READ, hot.owner)
        )

    def _hybrid(
        self, name: str, vector: Any, *, id: Any, k: int, filter: Filter | None, text: str
    ) -> QueryResult:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InvalidArgument(f"k must be an integer in 1..{MAX_K}, got {k!r}")
        pool = min(MAX_K, max(2 * k, 50))
        near = self.query(name, vector, id=id, k=pool, filter=filter)  # checks READ
        keyword = self._keywords(name, near.table_version)
        found = keyword.search(text, pool, filter)
        if id is not None:
            found = [i for i in found if i != id]
        ids, scores = fuse([near.ids, found], k)
        return QueryResult(
            index=name,
            table_version=near.table_version,
            ids=ids,
            distances=[-s for s in scores],
            matched=near.matched,
            method="hybrid",
        )

    def _keywords(self, name: str, version: int | None) -> KeywordIndex:
        """The keyword index of ``name`` at table ``version`` (built from the lake once)."""
        _, spec, _ = self._asset(name)
        held = self._state.keywords.get(name)
        if held is not None and held[0] == spec and held[1] == version:
            return held[2]
        if spec.text_column is None:
            raise InvalidArgument(
                f"vector index '{name}' has no text_column: it cannot search by keyword"
            )
        cols = [str(spec.id_column), spec.text_column, *spec.filterable]
        if version is None:
            rows = pa.table({c: pa.array([], pa.string()) for c in cols})
        else:
            rows = self._read(spec, version, cols[1:])
        attrs = {c: rows.column(c).to_pylist() for c in spec.filterable}
        built = KeywordIndex(
            rows.column(spec.id_column).to_pylist(),
            rows.column(spec.text_column).to_pylist(),
            attrs,
        )
        with _LOCK:  # the one replaced is left to the collector: a query may still hold it
            self._state.keywords[name] = (spec, version, built)
        return built

    def _ready(self, name: str) -> _Ready:
        """The loaded index of ``name`` once the caller may READ its source table.

        The hot path is two dictionary reads, a clock read and the permission check:
        what was cached is trusted for ``vectors.recheck_seconds``, then the catalog's
        change fingerprint says whether it still holds (ADR 0022). Otherwise the asset
        is read, the permission checked and the index opened (reloaded if another
        process built a newer version).
        """
        hot = self._state.ready.get(name)
        held = self._state.indexes.get(name)
        if hot is not None and held is not None and held[0] is hot.index:
            now = time.monotonic()
            if now >= hot.until:
                seen = self._changes.get().fingerprint(_WATCHED)
                if seen is not None and seen == hot.seen:
                    hot.until = now + self._ctx.settings.vectors.recheck_seconds
                else:
                    hot = None
            if hot is not None:
                self._require_read(name, hot.owner)
                return hot
        seen = self._changes.get().fingerprint(_WATCHED)
        asset, spec, owner = self._asset(name)
        self._require_read(name, owner)
        index, version = self._open(spec)
        built = asset.properties.get("state", {}).get("table_version")
        if built is not None and (version is None or built > version):  # updated elsewhere
            self._forget(name)
            index, version = self._open(spec)
            if version is None:  # built, but its files are lost: the lake has the rows
                index, version = self._restore(spec, built)
        until = time.monotonic() + self._ctx.settings.vectors.recheck_seconds
        hot = _Ready(seen, owner, index, version, until)
        if seen is not None:
            self._state.ready[name] = hot
        return hot

    def _require_read(self, name: str, owner: str) -> None:
        if self.principal.can(Permission.READ, owner):  # the hot path: no audit record to build
            return
        self._ctx.require(
            Permission.READ, owner, action="vectors.query", asset=f"vector_index:{name}"
        )

    def get(self, name: str) -> VectorIndexInfo:
        """The definition, owner and last build's state of an index (needs READ on its team)."""
        asset, spec, owner = self._asset(name)
        self._ctx.require(
            Permission.READ, owner, action="vectors.get", asset=f"vector_index:{name}"
        )
        return _info(asset, spec)

    def list(self) -> list[VectorIndexInfo]:
        """The indexes the caller may read, by name."""
        with self._ctx.db.connect() as conn:
            found = self._ctx.catalog.search(conn, kind=KIND, limit=10_000)
        infos = [
            _info(a, VectorIndexSpec.model_validate(a.properties["spec"]))
            for a in found
            if self.principal.can(Permission.READ, a.owner)
        ]
        return sorted(infos, key=lambda i: i.name)


def _info(asset: Asset, spec: VectorIndexSpec) -> VectorIndexInfo:
    state = IndexState.model_validate(asset.properties.get("state", {}))
    return VectorIndexInfo(name=asset.name, owner=asset.owner, spec=spec, state=state)
