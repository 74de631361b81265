"""OpenLineage events in and out on a PostgreSQL catalog."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd

from shipyard.platform import Platform


def test_events_round_trip_on_postgres(tmp_path: Path, pg_url: str) -> None:
    events = tmp_path / "ol.jsonl"
    lineage = {"transport": "file", "path": str(events)}
    with Platform.open(tmp_path, catalog={"url": pg_url}, lineage=lineage) as p:
        p.lake.write("bronze.t", pd.DataFrame({"a": [1]}))
        sent = [json.loads(line) for line in events.read_text().splitlines()]
        assert [e["eventType"] for e in sent] == ["START", "COMPLETE"]
        ns = f"shipyard://{p.settings.project}"
        got = p.lineage.ingest_event(
            {
                "eventType": "COMPLETE",
                "eventTime": "2026-12-05T10:00:00Z",
                "producer": "https://example.com/etl",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {"runId": str(uuid.uuid4())},
                "job": {"namespace": "etl", "name": "load"},
                "inputs": [{"namespace": "pg://crm", "name": "orders"}],
                "outputs": [{"namespace": ns, "name": "table:bronze.t"}],
            }
        )
        assert got.edges == 1
        graph = p.catalog.lineage("table:bronze.t")
        assert [n.name for n in graph.nodes] == ["bronze.t", "pg://crm/orders"]
