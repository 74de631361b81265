"""The experiments half of ``TrackingService``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.ids import new_id
from shipyard._internal.paging import (
    Key,
    Keyset,
    Page,
    keyset_page,
    listing_teams,
    resolve_limit,
    team_filter,
)
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.security.models import Permission
from shipyard.tracking import store
from shipyard.tracking.models import Experiment
from shipyard.tracking.tables import experiments
from shipyard.tracking.validation import check_tag

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.security.models import Principal
    from shipyard.storage import ArtifactStore

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT = "Default"


class ExperimentsMixin:
    _ctx: ServiceContext

    if TYPE_CHECKING:

        @property
        def principal(self) -> Principal: ...

        @property
        def artifacts(self) -> ArtifactStore: ...

    # -- experiments --------------------------------------------------------------------

    def _shown(self, exp: Experiment) -> Experiment:
        """The experiment as this caller sees it: only admins see a server's filesystem path.

        Others get the MLflow proxied-artifact URI (``mlflow-artifacts:/<id>``), which is
        what the MLflow wire gives and what its clients upload through.
        """
        if self.principal.is_admin or "://" in exp.artifact_location:
            return exp
        return exp.model_copy(update={"artifact_location": f"mlflow-artifacts:/{exp.id}"})

    def create_experiment(
        self,
        name: str,
        *,
        owner: str | None = None,
        tags: Mapping[str, str] | None = None,
        artifact_location: str | None = None,
    ) -> Experiment:
        """Create an experiment.

        Raises:
            AlreadyExists: an experiment with this name exists.
            InvalidArgument: an empty or over-long name.
        """
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise InvalidArgument("an experiment name is 1 to 256 characters", name=str(name))
        team = owner or self._ctx.default_team
        with self._ctx.mutation(
            "tracking.create_experiment", team=team, asset=f"experiment:{name}"
        ) as m:
            exp = self._insert_experiment(m.conn, new_id(), name, team, tags, artifact_location)
        return self._shown(exp)

    def _insert_experiment(
        self,
        conn: Any,
        exp_id: str,
        name: str,
        team: str,
        tags: Mapping[str, str] | None,
        artifact_location: str | None,
    ) -> Experiment:
        if store.find_experiment(conn, name=name) is not None:
            raise AlreadyExists(f"experiment '{name}' already exists", name=name)
        now = utcnow()
        conn.execute(
            experiments.insert().values(
                id=exp_id,
                name=name,
                owner=team,
                artifact_location=artifact_location or self.artifacts.uri(exp_id),
                lifecycle_stage="active",
                tags=dict(tags or {}),
                created_by=self.principal.name,
                created_at=now,
                updated_at=now,
            )
        )
        self._ctx.catalog.upsert(
            conn,
            kind="experiment",
            name=name,
            owner=team,
            created_by=self.principal.name,
            properties={"experiment_id": exp_id},
            new_version=False,
        )
        found = store.find_experiment(conn, id=exp_id)
        assert found is not None
        return found

    def _ensure_default(self) -> Experiment:
        with self._ctx.db.connect() as conn:
            found = store.find_experiment(conn, id=DEFAULT_EXPERIMENT_ID)
        if found is not None:
            return found
        team = self._ctx.default_team
        try:
            with self._ctx.mutation(
                "tracking.create_experiment", team=team, asset=f"experiment:{DEFAULT_EXPERIMENT}"
            ) as m:
                return self._insert_experiment(
                    m.conn, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT, team, None, None
                )
        except AlreadyExists:
            with self._ctx.db.connect() as conn:
                again = store.find_experiment(conn, id=DEFAULT_EXPERIMENT_ID)
            if again is None:
                raise
            return again

    def find_experiment(self, name: str) -> Experiment | None:
        """The experiment named ``name``, or None."""
        if name == DEFAULT_EXPERIMENT:
            return self._ensure_default()
        with self._ctx.db.connect() as conn:
            exp = store.find_experiment(conn, name=name)
        if exp is not None:
            self._ctx.require(Permission.READ, exp.owner, action="tracking.get_experiment")
            return self._shown(exp)
        return None

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id.

        Raises:
            NotFound: no such experiment.
        """
        if experiment_id == DEFAULT_EXPERIMENT_ID:
            exp: Experiment | None = self._ensure_default()
        else:
            with self._ctx.db.connect() as conn:
                exp = store.find_experiment(conn, id=experiment_id)
        if exp is None:
            raise NotFound(f"no experiment with id '{experiment_id}'", experiment_id=experiment_id)
        self._ctx.require(Permission.READ, exp.owner, action="tracking.get_experiment")
        return self._shown(exp)

    def get_experiment_by_name(self, name: str) -> Experiment:
        """Raises NotFound when no experiment has this name."""
        exp = self.find_experiment(name)
        if exp is None:
            raise NotFound(f"no experiment named '{name}'", name=name)
        return exp

    def resolve_experiment(self, experiment: str | None, *, create: bool = True) -> Experiment:
        """An experiment by name or id; created (by name) when missing and ``create``."""
        if experiment is None:
            return self._ensure_default()
        exp = self.find_experiment(experiment)
        if exp is not None:
            return exp
        with self._ctx.db.connect() as conn:
            by_id = store.find_experiment(conn, id=experiment)
        if by_id is not None:
            self._ctx.require(Permission.READ, by_id.owner, action="tracking.get_experiment")
            return by_id
        if not create:
            raise NotFound(f"no experiment named '{experiment}'", name=experiment)
        try:
            return self.create_experiment(experiment)
        except AlreadyExists:  # created concurrently
            return self.get_experiment_by_name(experiment)

    def list_experiments(
        self,
        *,
        name_like: str | None = None,
        view: str = "active",
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        """Experiments the caller may read, oldest first."""
        teams = listing_teams(self._ctx, action="tracking.list_experiments")
        size = resolve_limit(self._ctx.settings, limit)
        q = sa.select(experiments).where(team_filter(experiments.c.owner, teams))
        if view != "all":
            q = q.where(
                experiments.c.lifecycle_stage == ("deleted" if view == "deleted" else "active")
            )
        if name_like:
            q = q.where(sa.func.lower(experiments.c.name).like(name_like.lower()))
        keyset = Keyset(
            "tracking.experiments", Key(experiments.c.created_at), Key(experiments.c.id)
        )
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(
                conn,
                q,
                keyset,
                limit=size,
                page_token=page_token,
                filters={"like": name_like, "view": view},
            )
        items = [self._shown(store.experiment_from_row(r)) for r in rows]
        return Page(items=items, next_page_token=token)

    def update_experiment(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        lifecycle_stage: str | None = None,
    ) -> Experiment:
        """Rename, tag, delete (``lifecycle_stage="deleted"``) or restore an experiment."""
        exp = self.get_experiment(experiment_id)
        if lifecycle_stage not in (None, "active", "deleted"):
            raise InvalidArgument("lifecycle_stage is 'active' or 'deleted'")
        with self._ctx.mutation(
            "tracking.update_experiment", team=exp.owner, asset=f"experiment:{exp.name}"
        ) as m:
            values: dict[str, Any] = {"updated_at": utcnow()}
            if name is not None and name != exp.name:
                if store.find_experiment(m.conn, name=name) is not None:
                    raise AlreadyExists(f"experiment '{name}' already exists", name=name)
                values["name"] = name
            if tags:
                values["tags"] = {
                    **exp.tags,
                    **{k: v for k, v in (check_tag(*i) for i in tags.items())},
                }
            if lifecycle_stage is not None:
                values["lifecycle_stage"] = lifecycle_stage
            m.conn.execute(experiments.update().where(experiments.c.id == exp.id).values(**values))
            m.details = {k: v for k, v in values.items() if k != "updated_at"}
            found = store.find_experiment(m.conn, id=exp.id)
            assert found is not None
        return self._shown(found)
