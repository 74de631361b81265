"""Bulk seeding for ``bench/ui.py``: the issue's catalog (10k assets, 100k runs) in seconds.

Rows go straight into the services' tables (``shipyard.catalog.tables``,
``shipyard.tracking.tables``) in batched ``executemany`` inserts, shaped as
``register_asset`` and ``create_run`` write them (an asset row, its version 1, its
tags; a run row, its ``mlflow.*`` tags and its ``run:<id>`` catalog asset). Going
through the services costs 10 to 30 ms a run, which is 30 to 50 minutes for 100k.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.ids import new_id
from shipyard.catalog.tables import asset_tags, asset_versions, assets, lineage_edges
from shipyard.platform import Platform
from shipyard.tracking.tables import runs as runs_table
from shipyard.tracking.tables import tags as run_tags

WIDTH = 200  # lineage nodes per level (levels = lineage / WIDTH, at most the walk's 25)
BATCH = 5_000


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for lo in range(0, len(rows), BATCH):
        yield rows[lo : lo + BATCH]


class _Assets:
    """Asset, version and tag rows collected before one bulk insert."""

    def __init__(self) -> None:
        self.now = utcnow()
        self.rows: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.tags: list[dict[str, Any]] = []
        self.ids: dict[str, str] = {}

    def add(
        self,
        ref: str,
        owner: str,
        *,
        description: str = "",
        tags: tuple[str, ...] = (),
        properties: dict[str, Any] | None = None,
    ) -> str:
        kind, name = ref.split(":", 1)
        asset_id = new_id()
        self.ids[ref] = asset_id
        props = properties or {}
        common = {"created_by": "bench", "created_at": self.now}
        self.rows.append(
            {
                "id": asset_id,
                "kind": kind,
                "name": name,
                "version": 1,
                "owner": owner,
                "description": description,
                "properties": props,
                "updated_at": self.now,
                **common,
            }
        )
        self.versions.append({"asset_id": asset_id, "version": 1, "properties": props, **common})
        self.tags.extend({"asset_id": asset_id, "tag": t} for t in tags)
        return asset_id

    def write(self, conn: sa.Connection) -> None:
        for table, rows in ((assets, self.rows), (asset_versions, self.versions)):
            for batch in _batches(rows):
                conn.execute(table.insert(), batch)
        for batch in _batches(self.tags):
            conn.execute(asset_tags.insert(), batch)


def _lineage(cat: _Assets, lineage: int) -> list[dict[str, Any]]:
    """``lineage`` tables in levels of WIDTH upstream of ``model:big``; the edge rows."""
    levels = max(1, lineage // WIDTH)
    edges: list[tuple[str, str]] = []
    for level in range(levels, 0, -1):
        for j in range(WIDTH):
            ref = f"table:gold.l{level}_{j}"
            cat.add(ref, "ml")
            if level < levels:
                edges += [(f"table:gold.l{level + 1}_{j}", ref)]
                edges += [(f"table:gold.l{level + 1}_{(j + 1) % WIDTH}", ref)]
    cat.add("model:big", "ml")
    edges += [(f"table:gold.l1_{j}", "model:big") for j in range(WIDTH)]
    return [
        {
            "source_id": cat.ids[s],
            "source_version": 1,
            "target_id": cat.ids[t],
            "target_version": 1,
            "operation": "derive",
            "created_by": "bench",
            "created_at": cat.now,
        }
        for s, t in edges
    ]


def seed_bulk(p: Platform, *, assets_n: int, runs_n: int, lineage: int) -> None:
    """``assets_n`` catalog assets (a ``lineage``-node graph upstream of ``model:big``, the
    rest ``table:silver.t<i>`` of three teams with 50 tags) and ``runs_n`` runs of the
    experiment ``bench`` (each also a ``run:<id>`` asset, as ``create_run`` makes them)."""
    started = time.perf_counter()
    cat = _Assets()
    edges = _lineage(cat, lineage)
    for i in range(max(0, assets_n - len(cat.rows))):
        team = ("ml", "risk", "ops")[i % 3]
        cat.add(f"table:silver.t{i}", team, description=f"table {i}", tags=(f"tag{i % 50}",))
    exp = p.tracking.create_experiment("bench", owner="ml")
    run_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    start_ms = int(time.time() * 1000) - runs_n
    for i in range(runs_n):
        run_id, name = new_id(), f"r{i}"
        run_rows.append(
            {
                "id": run_id,
                "experiment_id": exp.id,
                "name": name,
                "owner": "ml",
                "user_name": "bench",
                "status": "RUNNING",
                "lifecycle_stage": "active",
                "parent_run_id": None,
                "start_time": start_ms + i,
                "end_time": None,
                "artifact_uri": f"{exp.id}/{run_id}/artifacts",
            }
        )
        tag_rows += [
            {"run_id": run_id, "key": "mlflow.runName", "value": name},
            {"run_id": run_id, "key": "mlflow.user", "value": "bench"},
        ]
        props = {"experiment": "bench", "experiment_id": exp.id, "run_name": name}
        cat.add(f"run:{run_id}", "ml", description=name, properties={**props, "status": "RUNNING"})
    with p._ctx.db.begin() as conn:
        cat.write(conn)
        for batch in _batches(edges):
            conn.execute(lineage_edges.insert(), batch)
        for table, rows in ((runs_table, run_rows), (run_tags, tag_rows)):
            for batch in _batches(rows):
                conn.execute(table.insert(), batch)
    took = time.perf_counter() - started
    print(f"seeded {len(cat.rows)} assets ({runs_n} of them runs) in {took:.1f} s", flush=True)


METRICS = ("loss", "val_loss", "auc", "lr", "grad_norm")


def seed_compare_bulk(p: Platform, *, runs_n: int, steps: int) -> None:
    """Experiment ``compare``: ``runs_n`` runs (through the service, with two params) of
    ``steps`` steps x 5 metrics, the history rows inserted in bulk (5 million rows for
    100 x 10,000: minutes through ``log_batch``, seconds this way)."""
    from shipyard.tracking.store import rollup_rows
    from shipyard.tracking.tables import latest_metrics, metric_rollups, metrics

    started = time.perf_counter()
    p.tracking.create_experiment("compare", owner="ml")
    for i in range(runs_n):
        run = p.tracking.create_run("compare", run_name=f"c{i}")
        p.tracking.log_batch(run.id, params={"lr": str(0.001 * (i + 1)), "depth": str(i % 7)})
        with p._ctx.db.begin() as conn:
            for lo in range(0, steps, 2000):
                rows = [
                    {
                        "run_id": run.id,
                        "key": k,
                        "value": (j + 1) / (s + 1) + 0.01 * i,
                        "is_nan": False,
                        "step": s,
                        "timestamp": s,
                    }
                    for s in range(lo, min(steps, lo + 2000))
                    for j, k in enumerate(METRICS)
                ]
                conn.execute(metrics.insert(), rows)
                # the rollup the write path keeps (2,000 steps are whole 16-step blocks)
                conn.execute(metric_rollups.insert(), rollup_rows(run.id, rows))
            conn.execute(latest_metrics.insert(), rows[-len(METRICS) :])
        if i % 10 == 9:
            print(f"  {i + 1} runs ({time.perf_counter() - started:.0f} s)", flush=True)
