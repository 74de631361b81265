"""Curated tables: define them, refresh them, read their refresh history."""

from __future__ import annotations

from typing import Any, Literal, overload

import sqlalchemy as sa
from deltalake import DeltaTable

from shipyard._internal.clock import utcnow
from shipyard._internal.job import Job
from shipyard._internal.paging import (
    Key,
    Keyset,
    Page,
    keyset_page,
    listing_teams,
    resolve_limit,
    team_filter,
)
from shipyard._internal.progress import OnProgress
from shipyard.errors import NotFound
from shipyard.lake import records, refresh
from shipyard.lake._base import LakeBase
from shipyard.lake.models import (
    ExpectationResult,
    RefreshResult,
    TableDefinition,
    TableInfo,
    parse_table_name,
    quarantine_name,
)
from shipyard.lake.tables import lake_definitions, lake_refreshes
from shipyard.security.models import Permission


class TransformsMixin(LakeBase):
    """Methods of ``LakeService`` for tables computed from other tables."""

    def define(self, definition: TableDefinition) -> TableInfo:
        """Declare (or change) how a curated table is computed; creates the empty table.

        The SQL is validated against the sources' schemas (which must exist), and so
        are the expectation, dedupe and key columns.

        Returns:
            TableInfo of the (possibly empty) table.

        Raises:
            InvalidArgument: syntax error, unknown columns, no SQL or function.
            NotFound: a source table does not exist yet.
        """
        from shipyard.lake import definitions

        d = definition
        team = self._team(d.name, d.owner)
        with self._audited("lake.define", team, f"table:{d.name}"):
            created, lineage = definitions.prepare(self.storage, d, self.principal.name)
        if d.function is not None:
            self._functions()[d.name] = d.function
        now = utcnow()
        body = d.model_dump(mode="json")
        if d.function is not None:
            body["function"] = f"{d.function.__module__}:{d.function.__qualname__}"
        with self._recording("lake.define", team=team, asset=f"table:{d.name}") as m:
            stored = m.conn.execute(
                sa.select(lake_definitions.c.definition).where(lake_definitions.c.name == d.name)
            ).first()
            m.noop = stored is not None and stored.definition == body
            m.conn.execute(sa.delete(lake_definitions).where(lake_definitions.c.name == d.name))
            m.conn.execute(
                lake_definitions.insert().values(
                    name=d.name,
                    owner=team,
                    definition=body,
                    created_by=self.principal.name,
                    created_at=now,
                    updated_at=now,
                )
            )
            docs = {k: v.model_dump() for k, v in d.columns.items()}
            self._record(
                m.conn,
                d.name,
                team,
                description=d.description or None,
                tags=d.tags or None,
                properties={
                    "definition": {
                        "sql": d.sql,
                        "incremental": d.incremental,
                        "sources": refresh.sources_of(d),
                    },
                    "column_lineage": lineage,
                    "column_docs": docs,
                },
            )
            m.details = {"created": created, "incremental": d.incremental}
        return self.get_table(d.name)

    def get_definition(self, name: str) -> TableDefinition:
        """The stored definition of a curated table (``NotFound`` if it has none)."""
        parse_table_name(name)
        with self._ctx.db.connect() as conn:
            row = conn.execute(
                sa.select(lake_definitions).where(lake_definitions.c.name == name)
            ).first()
            table = self._ctx.catalog.find(conn, records.KIND, name) if row is None else None
        # The permission check comes first: another team's table is a 403, whatever it holds.
        owner = row.owner if row is not None else table.owner if table is not None else None
        if owner is not None:
            self._ctx.require(Permission.READ, owner, action="lake.get_definition")
        if row is None:
            raise NotFound(f"table '{name}' has no definition; define it first", table=name)
        return self._definition(row)

    def _definition(self, row: Any) -> TableDefinition:
        body = dict(row.definition)
        body.pop("function", None)
        d = TableDefinition.model_validate(body)
        fn = self._functions().get(row.name)
        return d.model_copy(update={"function": fn}) if fn else d

    def list_definitions(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[TableDefinition]:
        """Definitions of the tables the caller may read, by name."""
        teams = listing_teams(self._ctx, action="lake.list_definitions")
        size = resolve_limit(self._ctx.settings, limit)
        q = sa.select(lake_definitions).where(team_filter(lake_definitions.c.owner, teams))
        keyset = Keyset("lake.definitions", Key(lake_definitions.c.name))
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(conn, q, keyset, limit=size, page_token=page_token)
        return Page(items=[self._definition(r) for r in rows], next_page_token=token)

    @overload
    def refresh(
        self, name: str, *, full: bool = False, submit: Literal[False] = False
    ) -> RefreshResult: ...
    @overload
    def refresh(self, name: str, *, full: bool = False, submit: Literal[True]) -> Job: ...
    def refresh(
        self, name: str, *, full: bool = False, submit: bool = False
    ) -> RefreshResult | Job:
        """Recompute a defined table from its sources.

        Incremental tables process only rows appended upstream since their last
        refresh (by Delta version) unless ``full``; others are recomputed whole.
        Expectations run on every row written; see ``Expectation``.

        Returns:
            RefreshResult with the new version, rows written/quarantined and the
            per-expectation counts (``mode`` is ``noop`` when nothing changed upstream).
            With ``submit=True``: the queued job (``p.jobs.wait(job.id)``), whose result
            is that, once a worker has run it; the caller is authorized before it is queued.

        Raises:
            NotFound: the table has no definition, or a source is missing.
            InvalidArgument: a ``fail`` expectation failed, or the result does not fit
                the table's schema (nothing is written in either case).
        """
        if submit:
            return self._queue_action("lake.refresh", table=name, full=full)
        d = self.get_definition(name)
        team = self._team(name, d.owner)
        with self._audited("lake.refresh", team, f"table:{name}"):
            computed = refresh.compute(
                self.storage, d, full=full, function=self._functions().get(name)
            )
            if computed is None:
                self._discard_pending()
                version = self.storage.open(name).version()
                return RefreshResult(
                    table=name, version=version, rows_written=0, rows_quarantined=0, mode="noop"
                )
            table_dt, quarantine_dt = refresh.commit(
                self.storage, d, computed, principal=self.principal.name
            )
            version = table_dt.version()
        result = RefreshResult(
            table=name,
            version=version,
            rows_written=computed.data.num_rows,
            rows_quarantined=computed.quarantined.num_rows,
            expectations=computed.results,
            mode=computed.mode,  # type: ignore[arg-type]
            source_versions=computed.versions,
        )
        self._record_refresh(name, team, result, table_dt, quarantine_dt)
        return result

    def _record_refresh(
        self,
        name: str,
        team: str,
        r: RefreshResult,
        table_dt: DeltaTable,
        quarantine_dt: DeltaTable | None,
    ) -> None:
        with self._recording("lake.refresh", team=team, asset=f"table:{name}") as m:
            exp = [e.model_dump() for e in r.expectations]
            target = self._record(
                m.conn,
                name,
                team,
                dt=table_dt,
                properties={
                    "last_refresh": {
                        "version": r.version,
                        "mode": r.mode,
                        "expectations": exp,
                        "rows_written": r.rows_written,
                        "rows_quarantined": r.rows_quarantined,
                    },
                },
            )
            for src, v in r.source_versions.items():
                upstream = self._ctx.catalog.get(m.conn, records.KIND, src)
                self._ctx.catalog.add_edge(
                    m.conn,
                    upstream,
                    target,
                    operation="refresh",
                    created_by=self.principal.name,
                    source_version=v,
                    target_version=r.version,
                )
            if quarantine_dt is not None:
                q = self._record(m.conn, quarantine_name(name), team, dt=quarantine_dt)
                self._ctx.catalog.add_edge(
                    m.conn,
                    target,
                    q,
                    operation="quarantine",
                    created_by=self.principal.name,
                    source_version=r.version,
                    target_version=quarantine_dt.version(),
                )
            m.conn.execute(
                lake_refreshes.insert().values(
                    table_name=name,
                    version=r.version,
                    mode=r.mode,
                    rows_written=r.rows_written,
                    rows_quarantined=r.rows_quarantined,
                    expectations=exp,
                    source_versions=r.source_versions,
                    principal=self.principal.name,
                    created_at=utcnow(),
                )
            )
            m.asset = f"table:{name}@{r.version}"
            m.details = {
                "mode": r.mode,
                "rows": r.rows_written,
                "quarantined": r.rows_quarantined,
                "failed_expectations": {e.name: e.failed for e in r.expectations if e.failed},
            }

    @overload
    def refresh_all(
        self,
        *,
        full: bool = False,
        submit: Literal[False] = False,
        on_progress: OnProgress | None = None,
    ) -> list[RefreshResult]: ...
    @overload
    def refresh_all(
        self, *, full: bool = False, submit: Literal[True], on_progress: None = None
    ) -> Job: ...
    def refresh_all(
        self, *, full: bool = False, submit: bool = False, on_progress: OnProgress | None = None
    ) -> list[RefreshResult] | Job:
        """Refresh every defined table, upstream before downstream.

        ``on_progress`` is called with (tables refreshed, tables in all) after each one.
        ``submit=True`` queues it as a job for the caller and returns the job.
        """
        if submit:
            return self._queue_action("lake.refresh_all", full=full)
        from shipyard.lake.definitions import dependency_order

        with self._ctx.db.connect() as conn:
            rows = conn.execute(sa.select(lake_definitions).order_by(lake_definitions.c.name))
            every = [self._definition(r) for r in rows]
        ordered = dependency_order(every)
        results = []
        for d in ordered:
            results.append(self.refresh(d.name, full=full))
            if on_progress is not None:
                on_progress(len(results), len(ordered))
        return results

    def list_refreshes(
        self, name: str, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[dict[str, Any]]:
        """Past refreshes of a table with their expectation counts, newest first."""
        self.get_table(name)
        size = resolve_limit(self._ctx.settings, limit)
        q = sa.select(lake_refreshes).where(lake_refreshes.c.table_name == name)
        keyset = Keyset("lake.refreshes", Key(lake_refreshes.c.id, descending=True))
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(
                conn, q, keyset, limit=size, page_token=page_token, filters={"table": name}
            )
        items = [
            {
                "version": r.version,
                "mode": r.mode,
                "rows_written": r.rows_written,
                "rows_quarantined": r.rows_quarantined,
                "expectations": [ExpectationResult.model_validate(e) for e in r.expectations],
                "principal": r.principal,
                "created_at": r.created_at,
            }
            for r in rows
        ]
        return Page(items=items, next_page_token=token)
