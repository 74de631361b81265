"""A step function's platform calls become its run's lineage (``pipelines.run_lineage``)."""

from __future__ import annotations

import pyarrow as pa

from shipyard.platform import Platform
from tests.unit.pipelines.conftest import STEPS, drain


def _edges(p: Platform, ref: str) -> tuple[set[str], set[str]]:
    """The assets one hop upstream and downstream of ``ref`` (the catalog's lineage API)."""
    up = p.catalog.lineage(ref, direction="upstream", depth=1)
    down = p.catalog.lineage(ref, direction="downstream", depth=1)
    return (
        {f"{e.source.kind}:{e.source.name}" for e in up.edges},
        {f"{e.target.kind}:{e.target.name}" for e in down.edges},
    )


def test_a_custom_steps_reads_and_writes_are_the_runs_lineage(pp: Platform) -> None:
    pp.lake.write("bronze.src", pa.table({"x": [1, 2, 3]}))
    copy = f"{STEPS}:copy_table"
    silver = {
        "name": "silver",
        "function": copy,
        "args": {"source": "bronze.src", "target": "silver.dst"},
    }
    gold = {
        "name": "gold",
        "function": copy,
        "args": {"source": "silver.dst", "target": "gold.dst"},
        "after": ["silver"],
    }
    pp.pipelines.apply([{"name": "copy", "steps": [silver, gold]}])
    run = pp.pipelines.run("copy")
    drain(pp)
    assert pp.pipelines.get_run(run.id).state == "succeeded"
    ups, downs = _edges(pp, run.asset)
    # read bronze.src; wrote silver.dst and gold.dst; silver.dst, read by the second
    # step after the first wrote it, is not also an input (no cycle)
    assert ups == {"pipeline:copy", "table:bronze.src"}
    assert downs == {"table:silver.dst", "table:gold.dst"}
    # a second run reads what the first wrote: now silver.dst is an input of neither,
    # it is rewritten by this run too
    again = pp.pipelines.run("copy")
    drain(pp)
    ups2, downs2 = _edges(pp, again.asset)
    assert ups2 == ups and downs2 == downs
