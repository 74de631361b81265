"""Every UI page renders for a user who may read it, with the service's data in it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.features import Entity, Feature, FeatureView
from shipyard.lake.models import Expectation, TableDefinition
from shipyard.platform import Platform


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, str]]:
    project = tmp_path_factory.mktemp("ui-pages")
    (project / "shipyard.yaml").write_text("")
    p = Platform.open(Path(project))
    rows = pd.DataFrame({"customer_id": list(range(120)), "amount": [float(i) for i in range(120)]})
    rows["event_ts"] = pd.Timestamp("2026-01-01")
    p.lake.write("bronze.orders", rows, owner="ml")
    p.lake.define(
        TableDefinition(
            name="silver.orders",
            sql="SELECT * FROM bronze.orders",
            owner="ml",
            expectations=[Expectation.range("amount", min=5, action="quarantine")],
        )
    )
    p.lake.refresh("silver.orders")
    p.features.apply(
        [
            Entity(name="customer", join_keys=["customer_id"], owner="ml"),
            FeatureView(
                name="spend",
                entities=["customer"],
                source="silver.orders",
                timestamp_field="event_ts",
                features=[Feature("amount", "float64")],
                owner="ml",
            ),
        ]
    )
    p.features.materialize(["spend"])
    p.catalog.register_asset("model:churn", owner="ml", sources=["table:silver.orders"])
    p.security.create_principal("mia", team="ml", role="editor")
    token = p.security.create_token(principal="mia").token
    yield p, token
    p.close()


@pytest.fixture(scope="module")
def ui(seeded: tuple[Platform, str]) -> Iterator[TestClient]:
    p, token = seeded
    with TestClient(create_app(p), base_url="http://testserver") as client:
        client.get("/ui/login")
        csrf = client.cookies["shipyard_login_csrf"]
        client.post("/ui/login", data={"token": token, "csrf": csrf})
        yield client


def text(ui: TestClient, path: str, **headers: str) -> str:
    r = ui.get(path, headers=headers)
    assert r.status_code == 200, (path, r.status_code, r.text[:400])
    return r.text


def test_home_scorecard_and_activity(ui: TestClient, seeded: tuple[Platform, str]) -> None:
    page = text(ui, "/ui/")
    tables = seeded[0].catalog.counts()["ml"]["table"]  # with silver.orders' quarantine table
    assert f'href="/ui/catalog?team=ml&amp;kind=table">{tables}<' in page
    assert "Recent activity (yours)" in page


def test_catalog_search_filters_and_fragment(ui: TestClient) -> None:
    assert "bronze.orders" in text(ui, "/ui/catalog?kind=table&team=ml")
    fragment = text(ui, "/ui/catalog?q=churn", **{"HX-Request": "true"})
    assert "<html" not in fragment and "churn" in fragment and "bronze.orders" not in fragment


def test_catalog_team_filter_for_an_admin(seeded: tuple[Platform, str]) -> None:
    """An all-teams role is offered the teams that own assets (CatalogService.teams)."""
    p, _ = seeded
    p.catalog.register_asset("table:bronze.risk_ledger", owner="risk")
    with TestClient(create_app(p), base_url="http://testserver") as admin:
        admin.get("/ui/login")
        token = p.security.create_token(name="ui-admin").token
        admin.post("/ui/login", data={"token": token, "csrf": admin.cookies["shipyard_login_csrf"]})
        page = text(admin, "/ui/catalog?team=risk")
    options = re.findall(r'<option value="([^"]*)"( selected)?>', page.split('id="team"')[1])
    assert [o for o in options if o[0]][:2] == [("ml", ""), ("risk", " selected")]
    assert "bronze.risk_ledger" in page and "bronze.orders" not in page


def test_asset_page_schema_and_lineage_data(ui: TestClient) -> None:
    page = text(ui, "/ui/catalog/table/silver.orders")
    assert "<code>amount</code>" in page and 'name="description"' in page  # editor: editable
    graph = ui.get("/ui/catalog/model/churn/lineage.json").json()
    ids = {e["data"]["id"] for e in graph["elements"] if "source" not in e["data"]}
    assert ids == {"model:churn", "table:silver.orders", "table:bronze.orders"}


def test_lake_pages(ui: TestClient) -> None:
    assert "silver.orders" in text(ui, "/ui/lake?layer=silver")
    table = text(ui, "/ui/lake/silver.orders")
    assert "Expectations" in table and "History" in table
    preview = text(ui, "/ui/lake/bronze.orders/preview?where=amount%20%3E%20100")
    assert "rows 1 to 19" in preview
    second = text(ui, "/ui/lake/bronze.orders/preview?offset=50", **{"HX-Request": "true"})
    assert "rows 51 to 100" in second and "<html" not in second
    quarantine = text(ui, "/ui/lake/silver.orders/quarantine")
    assert "_reason" in quarantine and "rows 1 to 5" in quarantine
    sql = text(
        ui, "/ui/lake/sql?q=SELECT%20customer_id%20FROM%20bronze.orders%20ORDER%20BY%201&offset=100"
    )
    assert "rows 101 to 120" in sql


def test_column_lineage(ui: TestClient) -> None:
    assert "upstream</a>" in text(ui, "/ui/lake/silver.orders")
    assert "Column lineage" in text(ui, "/ui/lake/silver.orders/columns/amount/lineage")
    graph = ui.get("/ui/lake/silver.orders/columns/amount/lineage.json").json()
    ids = {e["data"]["id"] for e in graph["elements"] if "source" not in e["data"]}
    assert ids == {"silver.orders.amount", "bronze.orders.amount"}


def test_feature_pages_and_lookup(ui: TestClient) -> None:
    assert "spend" in text(ui, "/ui/features?kind=feature_view")
    view = text(ui, "/ui/features/feature_view/spend")
    assert "Materialize now" in view and "Online lookup" in view
    found = text(
        ui, "/ui/features/feature_view/spend/lookup?customer_id=7", **{"HX-Request": "true"}
    )
    assert "<td>7.0</td>" in found


def test_audit_filters_and_live_stream_route(ui: TestClient) -> None:
    page = text(ui, "/ui/audit?action=catalog.*")
    assert "Audit log" in page and "sse-connect" not in page  # a filtered page is not live
    assert 'sse-connect="/ui/audit/stream"' in text(ui, "/ui/audit")


def test_admin_pages_are_refused_to_an_editor(ui: TestClient) -> None:
    assert ui.get("/ui/admin").status_code == 403
    assert 'href="/ui/admin"' not in text(ui, "/ui/")  # not offered either
