"""Updates are authorized against the STORED owner of an asset, never the owner a caller names."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from shipyard.errors import PermissionDenied
from shipyard.features import Entity, Feature, FeatureView
from shipyard.platform import Platform


def _as(platform: Platform, name: str, team: str, role: str = "editor") -> Platform:
    return platform.as_principal(platform.security.create_principal(name, team=team, role=role))


def test_naming_ones_own_team_does_not_update_another_teams_topic(platform: Platform) -> None:
    platform.events.create_topic("ml_topic", owner="ml", description="ml's")
    mallory = _as(platform, "mallory", "risk")
    with pytest.raises(PermissionDenied):
        mallory.events.create_topic("ml_topic", owner="risk", description="mine now")
    topic = platform.catalog.get_asset("topic:ml_topic")
    assert (topic.owner, topic.description) == ("ml", "ml's")
    denied = platform.audit.list_records(principal="mallory", outcome="denied").items
    assert [(d.action, d.team) for d in denied] == [("events.create_topic", "ml")]


def test_a_topic_transfer_needs_write_on_both_teams(platform: Platform) -> None:
    platform.events.create_topic("t", owner="ml")
    rita = _as(platform, "rita", "ml")
    with pytest.raises(PermissionDenied):
        rita.events.create_topic("t", owner="risk")
    rita = platform.as_principal(platform.security.grant("rita", team="risk", role="editor"))
    assert rita.events.create_topic("t", owner="risk").owner == "risk"


def test_naming_ones_own_team_does_not_overwrite_another_teams_training_set(
    platform: Platform,
) -> None:
    rows = pd.DataFrame(
        {"customer_id": [1, 2], "x": [0.1, 0.2], "event_ts": [datetime(2026, 1, 1)] * 2}
    )
    platform.lake.write("silver.shared", rows, mode="overwrite", owner="risk")
    view = FeatureView(
        name="v",
        entities=["c"],
        source="silver.shared",
        timestamp_field="event_ts",
        features=[Feature("x", "float64")],
        owner="risk",
    )
    platform.features.apply([Entity(name="c", join_keys=["customer_id"], owner="risk"), view])
    entities = pd.DataFrame({"customer_id": [1], "event_timestamp": [datetime(2026, 1, 5)]})
    platform.features.create_training_set("ml_ts", entities, ["v:x"], owner="ml")
    mallory = _as(platform, "mallory", "risk")  # may read the view, not write ml's set
    with pytest.raises(PermissionDenied):
        mallory.features.create_training_set("ml_ts", entities, ["v:x"], owner="risk")
    asset = platform.catalog.get_asset("training_set:ml_ts")
    assert (asset.owner, asset.version) == ("ml", 1)


def test_recording_a_model_on_another_teams_run_is_refused_before_reading_it(
    platform: Platform,
) -> None:
    exp = platform.tracking.create_experiment("e", owner="ml")
    run = platform.tracking.create_run(experiment_id=exp.id)
    mallory = _as(platform, "mallory", "risk")
    with pytest.raises(PermissionDenied):  # not "no readable MLmodel under ..." of ml's run
        mallory.tracking.record_model(run.id, "model")
