"""Search and compare: the read side of ``TrackingService`` over many runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shipyard._internal.paging import Page, decode_offset, encode_offset
from shipyard.errors import InvalidArgument
from shipyard.tracking import store
from shipyard.tracking.models import Experiment, Run, RunComparison
from shipyard.tracking.search import fetch_page, parse_filter, parse_order_by, to_sql
from shipyard.tracking.tables import runs

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext

MAX_PAGE = 50_000


class SearchMixin:
    _ctx: ServiceContext

    if TYPE_CHECKING:

        def list_experiments(
            self,
            *,
            name_like: str | None = ...,
            view: str = ...,
            page_size: int = ...,
            page_token: str | None = ...,
        ) -> Page[Experiment]: ...
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
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[Run]:
        """Runs matching ``filter`` (MLflow's grammar plus ``or``/``not``/parentheses).

        ``experiments`` are names or ids (all readable experiments when None).

        Raises:
            InvalidArgument: a syntax error in the filter (the message shows where),
                an unknown attribute, a bad page size or token.
        """
        if not 1 <= page_size <= MAX_PAGE:
            raise InvalidArgument(f"page_size must be between 1 and {MAX_PAGE}")
        where = parse_filter(filter)
        order = parse_order_by(order_by)
        offset = decode_offset(page_token)
        exp_ids = self._readable_experiment_ids(experiments)
        self.flush()
        q = sa.select(runs).where(runs.c.experiment_id.in_(exp_ids))
        if view != "all":
            q = q.where(runs.c.lifecycle_stage == ("deleted" if view == "deleted" else "active"))
        if where is not None:
            q = q.where(to_sql(where))
        with self._ctx.db.connect() as conn:
            rows = fetch_page(conn, q, order, offset, page_size + 1)
            found = store.load_runs(conn, rows[:page_size])
        more = len(rows) > page_size
        return Page(
            items=[self._present(r) for r in found],
            next_page_token=encode_offset(offset + page_size) if more else None,
        )

    def _readable_experiment_ids(self, experiments_: Iterable[str] | str | None) -> list[str]:
        if experiments_ is None:
            page = self.list_experiments(page_size=MAX_PAGE, view="all")
            return [e.id for e in page.items]
        wanted = [experiments_] if isinstance(experiments_, str) else list(experiments_)
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
