"""The web UI in a real browser: sign in, search, lineage, a viewer's 403 page (screenshots saved)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.ui.conftest import UIWorld


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


def sign_in(page: Any, world: UIWorld, who: str) -> None:
    page.goto(f"{world.url}/ui/")
    assert "/ui/login" in page.url  # no session: the sign-in page
    page.fill("#token", world.tokens[who])
    page.click("button[type=submit]")
    page.wait_for_url(f"{world.url}/ui/")


def test_sign_in_search_and_lineage(ui_world: UIWorld, context: Any, shot: Any) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{ui_world.url}/ui/login")
    shot(page, "login")
    sign_in(page, ui_world, "ml_editor")
    assert page.locator("#scorecard").inner_text().count("ml") >= 1
    assert "risk" not in page.locator("#scorecard").inner_text()  # no role there: not shown
    shot(page, "home")

    page.click("text=Catalog")
    page.fill("#q", "churn")  # htmx swaps the results in as the user types
    page.wait_for_selector("#assets a:has-text('churn')")
    assert "risk_secret_ledger" not in page.content()
    shot(page, "catalog")
    page.click("#assets a:has-text('gold.ml_churn_features')")
    page.wait_for_selector("h1:has-text('gold.ml_churn_features')")
    shot(page, "asset")

    page.goto(f"{ui_world.url}/ui/catalog/model/churn/lineage?depth=5")
    page.wait_for_selector("#lineage[data-ready=true]")
    # model <- gold <- silver <- bronze, and the two training runs of its versions
    assert page.evaluate("window.shipyardLineage.nodes") == 6
    shot(page, "lineage")
    # past the dagre limit (lowered here) assets are placed in columns by distance from the root
    big = context.new_page()
    big.add_init_script("window.SHIPYARD_DAGRE_MAX = 1")
    big.goto(f"{ui_world.url}/ui/catalog/model/churn/lineage?depth=5")
    big.wait_for_selector("#lineage[data-ready=true]")
    xs = big.evaluate(
        "['model:churn', 'table:gold.ml_churn_features', 'table:silver.ml_orders', 'table:bronze.ml_orders']"
        ".map(id => window.shipyardLineage.cy.getElementById(id).position('x'))"
    )
    assert xs == sorted(xs, reverse=True) and len(set(xs)) == 4  # upstream runs leftwards
    assert errors == []

    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["shipyard_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"


def _drawn(page: Any) -> int:
    """Pixels of the graph's node colour (#1d4e89) in a screenshot of the graph."""
    from io import BytesIO

    import numpy as np
    from PIL import Image  # Pillow: a dependency of the dev extra's mlflow (matplotlib)

    shot = Image.open(BytesIO(page.locator("#lineage").screenshot())).convert("RGB")
    rgb = np.asarray(shot, dtype=np.int16).reshape(-1, 3)
    return int((np.abs(rgb - (0x1D, 0x4E, 0x89)).sum(axis=1) < 60).sum())


def test_large_lineage_draws_with_webgl_or_falls_back_to_canvas(
    ui_world: UIWorld, context: Any
) -> None:
    """Past the dagre limit (lowered here) the graph is drawn by cytoscape's WebGL
    renderer on a hardware WebGL 2, by the 2D canvas on a software one (this headless
    chromium's SwiftShader) unless WebGL is asked for, and by the canvas without WebGL."""
    errors: list[str] = []
    url = f"{ui_world.url}/ui/catalog/model/churn/lineage?depth=5"
    no_webgl = (  # as with a GPU blocklist or a policy
        "const get = HTMLCanvasElement.prototype.getContext;"
        "HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {"
        "  return kind.startsWith('webgl') ? null : get.call(this, kind, ...rest); };"
    )
    pages = {}
    for name, script in (
        ("default", ""),
        ("asked", "window.SHIPYARD_WEBGL = true;"),
        ("none", "window.SHIPYARD_WEBGL = true;" + no_webgl),
    ):
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script("window.SHIPYARD_DAGRE_MAX = 1;" + script)
        if not pages:
            sign_in(page, ui_world, "ml_viewer")
        page.goto(url)
        page.wait_for_selector("#lineage[data-ready=true]")
        pages[name] = page
    gl = pages["default"].evaluate(
        """() => { const gl = document.createElement('canvas').getContext('webgl2');
            if (!gl) { return null; }
            const info = gl.getExtension('WEBGL_debug_renderer_info');
            return String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)); }"""
    )
    software = gl is None or re.search("swiftshader|llvmpipe|software", gl, re.I) is not None
    renderer = {n: p.evaluate("window.shipyardLineage.renderer") for n, p in pages.items()}
    assert renderer == {
        "default": "canvas" if software else "webgl",
        "asked": "canvas" if gl is None else "webgl",
        "none": "canvas",
    }
    for page in pages.values():
        assert page.evaluate("window.shipyardLineage.nodes") == 6
        assert _drawn(page) > 50  # the nodes are on screen, whichever renderer drew them
        # still a graph to use: a zoom answers
        page.evaluate("() => { window.shipyardLineage.cy.zoom(0.8); }")
        assert abs(page.evaluate("window.shipyardLineage.cy.zoom()") - 0.8) < 1e-9
    assert errors == []


def _at(page: Any, node: str) -> tuple[float, float]:
    """Where ``node`` is on the page, in CSS pixels (for a real mouse)."""
    box = page.locator("#lineage").bounding_box()
    p = page.evaluate(f"window.shipyardLineage.cy.getElementById({node!r}).renderedPosition()")
    return box["x"] + p["x"], box["y"] + p["y"]


def test_large_lineage_draws_bundled_edges_then_real_ones_on_demand(
    ui_world: UIWorld, context: Any
) -> None:
    """Past the level-of-detail threshold (lowered here, as the dagre one) the first
    frame has bundled edges between groups of assets and none of the real ones; an
    asset pointed at gets its upstream and downstream edges, a zoom past the detail
    zoom those of the viewport, and a click still opens the asset."""
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(
        "window.SHIPYARD_DAGRE_MAX = 1; window.SHIPYARD_LOD_MIN = 1;"
        "window.SHIPYARD_DETAIL_ZOOM = 2;"
    )
    sign_in(page, ui_world, "ml_viewer")
    graph = page.request.get(f"{ui_world.url}/ui/catalog/model/churn/lineage.json?depth=5").json()
    real = {e["data"]["id"] for e in graph["elements"] if "source" in e["data"]}
    page.goto(f"{ui_world.url}/ui/catalog/model/churn/lineage?depth=5")
    page.wait_for_selector("#lineage[data-ready=true]")
    page.wait_for_timeout(300)  # past the viewport's debounce: the overview as it stays
    edges = "window.shipyardLineage.cy.edges()"
    overview = page.evaluate(
        f"{edges}.map(e => [e.id(), e.hasClass('bundle'), e.data('count') || 0])"
    )
    bundles = [(i, c) for i, b, c in overview if b]
    assert len(bundles) == len(overview) and 0 < len(bundles) < len(real)
    assert sum(c for _, c in bundles) <= len(real)  # no real edge drawn, each counted once
    assert page.evaluate("window.shipyardLineage.lod.real") == 0

    page.mouse.move(*_at(page, "table:silver.ml_orders"))  # upstream and downstream lit
    page.wait_for_function("() => window.shipyardLineage.lod.real > 0")
    lit = set(page.evaluate(f"{edges}.filter('.focus').map(e => e.id())"))
    chain = {
        e["data"]["id"]
        for e in graph["elements"]
        if (e["data"].get("source"), e["data"].get("target"))
        in {
            ("table:bronze.ml_orders", "table:silver.ml_orders"),
            ("table:silver.ml_orders", "table:gold.ml_churn_features"),
            ("table:gold.ml_churn_features", "model:churn"),
        }
    }
    assert len(chain) == 3 and chain <= lit <= real
    box = page.locator("#lineage").bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)  # pointed away: back to the bundles alone
    page.wait_for_function("() => window.shipyardLineage.lod.real === 0")

    page.evaluate("() => { window.shipyardLineage.cy.zoom(2.5); }")  # past the detail zoom
    page.wait_for_function("() => window.shipyardLineage.lod.detail")
    shown = page.evaluate(f"{edges}.filter(':visible').map(e => e.id())")
    assert shown and set(shown) <= real  # the real edges in view, the bundles hidden

    page.evaluate(
        "() => { window.shipyardLineage.cy.zoom(1); window.shipyardLineage.cy.center(); }"
    )
    page.mouse.click(*_at(page, "model:churn"))
    page.wait_for_url(f"{ui_world.url}/ui/catalog/model/churn")
    assert errors == []


def test_lake_sql_paging_and_offline_api_docs(ui_world: UIWorld, context: Any, shot: Any) -> None:
    local = ui_world.url
    # offline: any request that leaves the test server fails
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(local) else route.abort(),
    )
    page = context.new_page()
    sign_in(page, ui_world, "ml_editor")
    page.goto(f"{local}/ui/lake/bronze.ml_clicks")
    page.wait_for_selector("#rows-chart[data-ready=true] canvas")  # uPlot, from the package
    shot(page, "lake-table")
    page.goto(f"{local}/ui/lake/sql")
    page.fill("#q", "SELECT n FROM bronze.ml_clicks ORDER BY n")
    page.click("#main button[type=submit]")
    page.wait_for_selector("text=rows 1 to 50")
    page.click("#sql-result >> text=Next")
    page.wait_for_selector("text=rows 51 to 100")
    shot(page, "sql")
    # the audit log's first page is live: a record made elsewhere streams in (SSE)
    page.goto(f"{local}/ui/audit")
    before = page.locator("#audit-body tr").count()
    page.evaluate(
        "fetch('/ui/lake/sql?q=SELECT%201%20AS%20one%20FROM%20bronze.ml_clicks%20LIMIT%201')"
    )
    page.locator("#audit-body tr").nth(before).wait_for()  # one more row than before
    assert "lake.sql" in page.locator("#audit-body tr").first.inner_text()
    shot(page, "audit-live")
    page.goto(f"{local}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)  # drawn from vendored files
    shot(page, "api-docs", axe=False)  # Swagger UI's own markup


def test_viewer_sees_a_403_page(ui_world: UIWorld, context: Any, shot: Any) -> None:
    page = context.new_page()
    sign_in(page, ui_world, "ml_viewer")
    page.goto(f"{ui_world.url}/ui/catalog/table/bronze.risk_secret_ledger")
    assert page.locator("h1").inner_text().startswith("403")
    shot(page, "forbidden")
    page.goto(f"{ui_world.url}/ui/catalog/table/silver.ml_orders")
    assert page.locator("textarea#description").count() == 0  # cannot edit: not offered
    page.click("text=Sign out")
    page.wait_for_url("**/ui/login")


def test_compare_runs_approve_a_promotion_and_see_the_deployment(
    ui_world: UIWorld, context: Any, shot: Any
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, ui_world, "ml_editor")
    page.click("text=Catalog")
    page.fill("#q", "churn")
    page.wait_for_selector("#assets a:has-text('churn')")

    page.click("nav >> text=Experiments")
    page.click("#experiments a:has-text('churn')")
    page.wait_for_selector("#run-table")
    shot(page, "runs")
    page.check("#run-table input[name=runs] >> nth=0")
    page.check("#run-table input[name=runs] >> nth=1")
    page.click("text=Compare selected runs")
    page.wait_for_selector("figure[data-chart][data-ready=true]")
    assert "differs" in page.locator("#params-diff").inner_text()  # C differs
    shot(page, "compare")

    page.goto(f"{ui_world.url}/ui/registry/churn")
    page.fill("#alias-version", "2")
    page.click("text=Set alias or request promotion")
    page.wait_for_selector("text=awaiting another approver")
    assert page.locator("#aliases").inner_text().count("version 1") == 2  # champion not moved yet
    shot(page, "registry")

    second = context.browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        approver = second.new_page()
        sign_in(approver, ui_world, "ml_approver")
        approver.click("nav >> text=Registry")
        approver.click(".promotions button:has-text('Approve')")
        approver.wait_for_selector("#alias-history td:has-text('ml_approver')")
        assert "champion" in approver.locator("#aliases").inner_text()
        assert "version 2" in approver.locator("#aliases").inner_text()
        shot(approver, "approved")
    finally:
        second.close()

    page.click("nav >> text=Deployments")
    page.click("#deployments a:has-text('churn')")
    page.wait_for_selector("#live-stats")
    assert "churn@champion" in page.locator("#variants").inner_text()
    assert "version 2" in page.locator("#variants").inner_text()  # the alias moved: v2 serves
    assert "100.0%" in page.locator("#split").inner_text()
    shot(page, "deployment")
    assert errors == []
