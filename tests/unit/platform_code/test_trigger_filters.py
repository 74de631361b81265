"""A pipeline's filtered topic trigger in ``pipelines.py``: planned, applied, refused (ADR 0057)."""

from __future__ import annotations

import pytest

from shipyard import platform_code as pc
from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from tests.unit.platform_code.conftest import Write

#: ``plat`` wrote bronze.orders for team ml, so the ml team's table events exist.
TOPIC = "shipyard.ml.table.committed"


def _pipelines(where: str) -> str:
    return (
        "import shipyard\n\n\n"
        "@shipyard.pipeline(\n"
        "    owner='ml',\n"
        f"    on_topics=['{TOPIC}', {{'topic': '{TOPIC}', 'where': {where}}}],\n"
        ")\n"
        "def retrain(p):\n"
        "    p.action('lake.refresh', table='silver.orders')\n"
    )


def test_a_filtered_trigger_is_planned_applied_and_unchanged_on_a_second_plan(
    plat: Platform, write: Write
) -> None:
    where = "{'table': 'bronze.orders', 'operation': ['write', 'refresh']}"
    files = write(pipelines=_pipelines(where))
    plan = pc.plan(plat, files)
    assert {(c.kind, c.name): c.action for c in plan.changes}[("pipeline", "retrain")] == "create"
    pc.apply(plat, plan)
    stored = plat.pipelines.get("retrain").spec["triggers"]["topics"]
    assert stored == [
        TOPIC,
        {"topic": TOPIC, "where": {"table": "bronze.orders", "operation": ["write", "refresh"]}},
    ]
    assert pc.plan(plat, files).pending == []


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("{'tabel': 'bronze.orders'}", "where: unknown field 'tabel' of table.committed events"),
        ("{'table': {'like': 'bronze.%'}}", "where.table: {'like': 'bronze.%'} is not a string"),
        ("{}", "where is empty"),
    ],
)
def test_a_bad_filter_is_refused_at_plan_naming_its_file_line_and_trigger(
    plat: Platform, write: Write, where: str, says: str
) -> None:
    """Even though the step's table (silver.orders, declared in platform.yaml beside it)
    defers the pipeline's other checks to apply, its triggers are checked at plan."""
    files = write(pipelines=_pipelines(where))
    with pytest.raises(InvalidArgument) as info:
        pc.plan(plat, files)
    message = info.value.message
    assert message.startswith(f"{files[-1]}:4: pipeline 'retrain', trigger {TOPIC}: "), message
    assert says in message and "\n" not in message
