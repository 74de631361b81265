"""OpenLineage events from outside tools, added to Shipyard's lineage graph.

A dataset in Shipyard's own namespace named ``kind:name`` is that catalog asset
(``table:silver.orders``); any other dataset is an external asset of kind
``dataset`` named ``<namespace>/<name>``. A COMPLETE event (or one without a
type) links every input to every output; external outputs get a new catalog
version carrying the event's schema and version facets. Shipyard's own assets are
never re-versioned by an outside event: it adds edges to their current version.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shipyard.catalog.context import Service
from shipyard.catalog.models import Asset, AssetRef
from shipyard.errors import InvalidArgument, NotFound
from shipyard.lineage.models import LineageIngest, OLDataset, OLRunEvent
from shipyard.security.models import Permission

EXTERNAL_KIND = "dataset"
#: Events whose inputs and outputs become lineage edges (others are accepted, audited).
LINKING = {None, "COMPLETE"}


def parse_event(event: Any) -> OLRunEvent:
    """The event, or ``InvalidArgument`` naming the first bad field (a 422)."""
    if not isinstance(event, dict):
        raise InvalidArgument("an OpenLineage event is a JSON object")
    try:
        return OLRunEvent.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        raise InvalidArgument(f"not an OpenLineage run event: {where}: {first['msg']}") from None


class LineageService(Service):
    """Accepts OpenLineage run events into the catalog's lineage graph."""

    @property
    def namespace(self) -> str:
        s = self._ctx.settings
        return s.lineage.namespace or f"shipyard://{s.project}"

    def ingest_event(self, event: dict[str, Any], *, owner: str | None = None) -> LineageIngest:
        """Add one OpenLineage run event to the lineage graph.

        Args:
            event: the event as JSON (the OpenLineage ``RunEvent``).
            owner: the team that owns the external datasets the event creates
                (default: the default team); needs write on it.

        Raises:
            InvalidArgument: not a run event. NotFound: a Shipyard asset the caller
            cannot see. PermissionDenied: no write on an output's team.
        """
        ev = parse_event(event)
        team = owner or self._ctx.default_team
        linking = ev.eventType in LINKING
        with self._ctx.mutation("lineage.ingest", team=team, asset=f"run:{ev.run.runId}") as m:
            outputs = [self._output(m.conn, d, ev, team, linking) for d in ev.outputs]
            inputs = [self._input(m.conn, d, team) for d in ev.inputs]
            operation = f"openlineage:{ev.job.namespace}/{ev.job.name}"[:128]
            edges = 0
            if linking:
                for target in outputs:
                    for source in inputs:
                        self._ctx.catalog.add_edge(
                            m.conn,
                            source,
                            target,
                            operation=operation,
                            created_by=self.principal.name,
                        )
                        edges += 1
            m.details = {
                "event_type": ev.eventType,
                "job": f"{ev.job.namespace}/{ev.job.name}"[:300],
                "edges": edges,
            }
        return LineageIngest(
            run_id=str(ev.run.runId),
            event_type=ev.eventType,
            inputs=[str(AssetRef(kind=a.kind, name=a.name, version=a.version)) for a in inputs],
            outputs=[str(AssetRef(kind=a.kind, name=a.name, version=a.version)) for a in outputs],
            edges=edges,
        )

    def _ref(self, d: OLDataset) -> AssetRef:
        if d.namespace == self.namespace and ":" in d.name:
            return AssetRef.parse(d.name.partition("@")[0])
        name = f"{d.namespace}/{d.name}".replace("@", "%40")
        if len(name) > 512:
            raise InvalidArgument("a dataset's namespace and name are at most 512 characters")
        return AssetRef(kind=EXTERNAL_KIND, name=name)

    def _visible(self, conn: Any, ref: AssetRef) -> Asset | None:
        """The asset, if the caller may read it; another team's is reported as absent."""
        asset = self._ctx.catalog.find(conn, ref.kind, ref.name)
        if asset is not None and not self.principal.can(Permission.READ, asset.owner):
            raise NotFound(f"no asset '{ref.kind}:{ref.name}'", ref=f"{ref.kind}:{ref.name}")
        return asset

    def _input(self, conn: Any, d: OLDataset, team: str) -> Asset:
        ref = self._ref(d)
        asset = self._visible(conn, ref)
        if asset is not None:
            return asset
        if ref.kind != EXTERNAL_KIND:
            raise NotFound(f"no asset '{ref.kind}:{ref.name}'", ref=f"{ref.kind}:{ref.name}")
        self._ctx.require(Permission.WRITE, team, action="lineage.ingest")
        return self._upsert(conn, ref, d, team, run=None)

    def _output(self, conn: Any, d: OLDataset, ev: OLRunEvent, team: str, linking: bool) -> Asset:
        ref = self._ref(d)
        asset = self._visible(conn, ref)
        if asset is None and ref.kind != EXTERNAL_KIND:
            raise NotFound(f"no asset '{ref.kind}:{ref.name}'", ref=f"{ref.kind}:{ref.name}")
        owner = asset.owner if asset is not None else team
        self._ctx.require(Permission.WRITE, owner, action="lineage.ingest")
        if asset is not None and (ref.kind != EXTERNAL_KIND or not linking):
            return asset  # Shipyard's own assets keep their versions: edges only
        return self._upsert(conn, ref, d, owner, run=str(ev.run.runId))

    def _upsert(
        self, conn: Any, ref: AssetRef, d: OLDataset, owner: str, *, run: str | None
    ) -> Asset:
        """Create the external dataset, or record its new version (a completed run wrote it)."""
        props: dict[str, Any] = {"namespace": d.namespace, "name": d.name}
        schema = d.facets.get("schema")
        fields = schema.get("fields") if isinstance(schema, dict) else None
        if isinstance(fields, list):
            props["columns"] = [
                {"name": str(f["name"])[:200], "type": str(f.get("type") or "")[:200]}
                for f in fields[:1000]
                if isinstance(f, dict) and f.get("name")
            ]
        version = d.facets.get("version")
        if isinstance(version, dict) and "datasetVersion" in version:
            props["dataset_version"] = str(version["datasetVersion"])[:200]
        if run is not None:
            props["openlineage_run"] = run
        return self._ctx.catalog.upsert(
            conn,
            kind=ref.kind,
            name=ref.name,
            owner=owner,
            created_by=self.principal.name,
            properties=props,
        )
