"""Search and compare: the read side of ``TrackingService`` over many runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.paging import (
    Page,
    decode_offset_token,
    encode_offset_token,
    listing_teams,
    resolve_limit,
    scope_digest,
    team_filter,
)
from shipyard.errors import InvalidArgument
from shipyard.tracking import store
from shipyard.tracking.models import Experiment, Run, RunComparison
from shipyard.tracking.search import fetch_page, parse_filter, parse_order_by, to_sql
from shipyard.tracking.tables import experiments as experiments_table
from shipyard.tracking.tables import runs

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext


class SearchMixin:
    _ctx: ServiceContext

    if TYPE_CHECKING:

        def resolve_experiment(
            self, experiment: str | None, *, create: bool = ...
        ) -> Experiment: ...
        def flush(self) -> None: ...
        def get_run(self, run_id: str) -> Run: ...
        def _present(self, run: Run) -> Run: ...

    # -- search ------------------------------------------------------------------------------

    def search_runs(
        self,
        experiments: Iterable[str] | str | None = None,
        *,
        filter: str | None = None,
        order_by: list[str] | None = None,
        view: str = "active",
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Run]:
        """Runs matching ``filter`` (MLflow's grammar plus ``or``/``not``/parentheses).

        ``experiments`` are names or ids (all readable experiments when None). Runs of
        experiments the caller may not read are excluded in the query, so pages are full.

        Raises:
            InvalidArgument: a syntax error in the filter (the message shows where),
                an unknown attribute, a bad limit or page token.
        """
        size = resolve_limit(self._ctx.settings, limit)
        where = parse_filter(filter)
        order = parse_order_by(order_by)
        # Any order (a metric, a param) may be asked for, so pages are cut by offset; the
        # token is still bound to this search and its filters.
        wanted = (
            None
            if experiments is None
            else [experiments]
            if isinstance(experiments, str)
            else list(experiments)
        )
        digest = scope_digest(
            "tracking.runs",
            {"experiments": wanted, "filter": filter, "order": order_by, "view": view},
        )
        offset = decode_offset_token(page_token, digest)
        q = sa.select(runs).where(runs.c.experiment_id.in_(self._readable_experiments(wanted)))
        self.flush()
        if view != "all":
            q = q.where(runs.c.lifecycle_stage == ("deleted" if view == "deleted" else "active"))
        if where is not None:
            q = q.where(to_sql(where))
        with self._ctx.db.connect() as conn:
            rows = fetch_page(conn, q, order, offset, size + 1)
            found = store.load_runs(conn, rows[:size])
        more = len(rows) > size
        return Page(
            items=[self._present(r) for r in found],
            next_page_token=encode_offset_token(offset + size, digest) if more else None,
        )

    def _readable_experiments(self, wanted: list[str] | None) -> list[str] | sa.Select[Any]:
        """Ids of the experiments asked for (each checked), or a query of every readable one."""
        if wanted is None:
            teams = listing_teams(self._ctx, action="tracking.list_experiments")
            exp = experiments_table
            return sa.select(exp.c.id).where(team_filter(exp.c.owner, teams))
        return [self.resolve_experiment(e, create=False).id for e in wanted]

    def compare_runs(self, run_ids: list[str]) -> RunComparison:
        """Params and metrics of ``run_ids`` side by side."""
        if len(run_ids) < 1:
            raise InvalidArgument("compare needs at least one run id")
        found = [self.get_run(r) for r in run_ids]
        pkeys = sorted({k for r in found for k in r.params})
        mkeys = sorted({k for r in found for k in r.metrics})
        params = {k: [r.params.get(k) for r in found] for k in pkeys}
        return RunComparison(
            run_ids=[r.id for r in found],
            run_names=[r.name for r in found],
            params=params,
            metrics={k: [r.metrics.get(k) for r in found] for k in mkeys},
            differing_params=[k for k, v in params.items() if len(set(v)) > 1],
        )
