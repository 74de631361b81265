"""The web UI in the isolation suite: another team's user sees and changes nothing of ``ml``'s.

UI routes are signed in with the session cookie (not a bearer token), so they get their
own tables here: every GET aimed at an ml asset is refused (403/404) without naming one,
listings leave ml's assets out, every UI form is refused to callers without write on
ml (and to anyone without the session's CSRF value), and nothing answers 5xx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipyard.api.app import create_app
from tests.security.conftest import World
from tests.security.routes import ML_NAMES

READERS = ("risk_viewer", "risk_editor", "nobody")
ATTACKERS = ("risk_editor", "risk_admin", "nobody", "risk_viewer", "ml_viewer")

#: GET pages and fragments aimed at ml's assets.
DIRECT = (
    "/ui/catalog/table/silver.ml_clean",
    "/ui/catalog/model/ml_model/lineage",
    "/ui/catalog/model/ml_model/lineage.json",
    "/ui/catalog/table/silver.ml_clean/lineage.json?direction=downstream",
    "/ui/lake/silver.ml_clean",
    "/ui/lake/silver.ml_clean/preview",
    "/ui/lake/silver.ml_clean/preview?where=x%20%3E%200",
    "/ui/lake/silver.ml_clean/quarantine",
    "/ui/lake/gold.ml_daily",
    "/ui/lake/gold.ml_daily/columns/x/lineage",
    "/ui/lake/gold.ml_daily/columns/x/lineage.json",
    "/ui/lake/sql?q=select%20*%20from%20silver.ml_clean",
    "/ui/features/feature_view/ml_view",
    "/ui/features/entity/ml_customer",
    "/ui/features/feature_view/ml_view/lookup?customer_id=1",
    "/ui/experiments/{exp}",
    "/ui/experiments/{exp}?filter=params.a%20%3D%20%271%27&order=metrics.m%20DESC&cols=params.a",
    "/ui/runs/{run}",
    "/ui/runs/{run}/artifact?path=notes.txt",
    "/ui/compare?runs={run}",
    "/ui/compare/metric.json?key=loss&runs={run}",
    "/ui/registry/ml_model",
    "/ui/registry/ml_model/versions/1",
    "/ui/deployments/ml_dep",
    "/ui/deployments/ml_dep/stats",
    "/ui/deployments/ml_dep/report",
    "/ui/pipelines/ml_pipe",
    "/ui/pipelines/ml_pipe/dag.json",
    "/ui/pipelines/ml_pipe/dag.json?run={pipe_run}",
    "/ui/pipelines/runs/{pipe_run}",
    "/ui/pipelines/runs/{pipe_run}/stream",
    "/ui/jobs/{pipe_job}",
    "/ui/jobs/{pipe_job}/stream",
)

#: Listings: shown (200) or refused (403), never with ml's assets in them.
LISTINGS = (
    "/ui/",
    "/ui/catalog",
    "/ui/catalog?q=ml",
    "/ui/catalog?kind=table",
    "/ui/catalog/table/gold.risk_from_ml",
    "/ui/catalog/table/gold.risk_from_ml/lineage.json",
    "/ui/lake",
    "/ui/lake?layer=silver",
    "/ui/features",
    "/ui/audit",
    "/ui/experiments",
    "/ui/registry",
    "/ui/deployments",
    "/ui/pipelines",
    "/ui/jobs",
)

#: Every UI form, aimed at ml's assets: ``"METHOD /path/template"`` -> (path, form fields).
UI_MUTATING: dict[str, tuple[str, dict[str, str]]] = {
    "POST /ui/logout": ("/ui/logout", {}),
    "POST /ui/login": ("/ui/login", {"token": "shp_x"}),
    "POST /ui/catalog/{kind}/{name}/description": (
        "/ui/catalog/table/silver.ml_clean/description",
        {"description": "pwned"},
    ),
    "POST /ui/features/{kind}/{name}/materialize": (
        "/ui/features/feature_view/ml_view/materialize",
        {},
    ),
    "POST /ui/admin/principals": (
        "/ui/admin/principals",
        {"name": "evil", "team": "ml", "role": "admin"},
    ),
    "POST /ui/admin/principals/{name}/roles": (
        "/ui/admin/principals/ml_viewer/roles",
        {"team": "ml", "role": "admin"},
    ),
    "POST /ui/admin/principals/{name}/roles/revoke": (
        "/ui/admin/principals/ml_admin/roles/revoke",
        {"team": "ml"},
    ),
    "POST /ui/admin/principals/{name}/tokens": (
        "/ui/admin/principals/ml_admin/tokens",
        {"token_name": "stolen"},
    ),
    "POST /ui/admin/tokens/{token_id}/revoke": ("/ui/admin/tokens/{ml_token}/revoke", {}),
    "POST /ui/registry/{name}/aliases": (
        "/ui/registry/ml_model/aliases",
        {"alias": "champion", "version": "1"},
    ),
    "POST /ui/registry/promotions/{request_id}/approve": (
        "/ui/registry/promotions/{promotion}/approve",
        {"comment": "pwned"},
    ),
    "POST /ui/registry/promotions/{request_id}/reject": (
        "/ui/registry/promotions/{promotion}/reject",
        {},
    ),
    "POST /ui/deployments/{name}/rollback": ("/ui/deployments/ml_dep/rollback", {}),
    "POST /ui/pipelines/{name}/run": ("/ui/pipelines/ml_pipe/run", {}),
    "POST /ui/pipelines/{name}/pause": ("/ui/pipelines/ml_pipe/pause", {}),
    "POST /ui/pipelines/{name}/resume": ("/ui/pipelines/ml_pipe/resume", {}),
    "POST /ui/pipelines/runs/{run_id}/cancel": ("/ui/pipelines/runs/{pipe_run}/cancel", {}),
}
#: Forms every signed-in user may post (their own session).
OWN = {"POST /ui/logout", "POST /ui/login"}


def ui_routes(app: Any, methods: set[str]) -> set[str]:
    """``"METHOD /path"`` of the app's UI routes (included routers walked as in routes.py)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[str]:
        for route in routes:
            ctx = getattr(route, "include_context", None)
            if ctx is not None:
                yield from walk(ctx.included_router.routes, prefix + ctx.prefix)
                continue
            path = prefix + getattr(route, "path", "")
            for method in sorted(set(getattr(route, "methods", None) or ()) & methods):
                if path.startswith("/ui/"):
                    yield f"{method} {path.replace(':path', '')}"

    return set(walk(list(app.routes), ""))


def signed_in(world: World, who: str) -> tuple[httpx.Client, str]:
    """A client holding ``who``'s session cookie, and the session's CSRF value."""
    http = httpx.Client(base_url=world.url, timeout=30)
    http.get("/ui/login")
    csrf = http.cookies["shipyard_login_csrf"]
    r = http.post(
        "/ui/login", data={"token": world.tokens[who], "csrf": csrf}, follow_redirects=True
    )
    assert r.status_code in (200, 403), r.text  # nobody's home page is a 403 page
    match = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert match, r.text[:500]
    return http, match.group(1)


@pytest.fixture(scope="module")
def sessions(world: World) -> Iterator[dict[str, tuple[httpx.Client, str]]]:
    made = {who: signed_in(world, who) for who in {*READERS, *ATTACKERS, "ml_editor"}}
    yield made
    for http, _ in made.values():
        http.close()


def _leaks(text: str, sent: str) -> list[str]:
    return [n for n in ML_NAMES if n in text and n not in sent]


@pytest.mark.parametrize("who", READERS)
@pytest.mark.parametrize("path", DIRECT)
def test_ui_reads_of_ml_assets_are_refused(
    world: World, sessions: dict[str, tuple[httpx.Client, str]], path: str, who: str
) -> None:
    http, _ = sessions[who]
    path = _fill(world, path)
    r = http.get(path)
    assert r.status_code in (403, 404), f"{path} as {who}: {r.status_code} {r.text[:300]}"
    assert not _leaks(r.text, path), f"{path} as {who} names {_leaks(r.text, path)}"


@pytest.mark.parametrize("path", LISTINGS)
def test_ui_listings_leave_ml_assets_out(world: World, path: str) -> None:
    # a fresh reader of risk: its own audit records (shown on home and audit) name nothing of ml's
    name = "risk_ui_lister"
    try:
        world.platform.security.get_principal(name)
    except Exception:
        world.platform.security.create_principal(name, team="risk", role="viewer")
        world.tokens[name] = world.platform.security.create_token(principal=name).token
    http, _ = signed_in(world, name)
    try:
        r = http.get(path)
    finally:
        http.close()
    assert r.status_code in (200, 403), f"{path}: {r.status_code} {r.text[:300]}"
    assert not _leaks(r.text, ""), f"{path} shows {_leaks(r.text, '')}"


def test_every_ui_form_is_in_the_table(world: World) -> None:
    served = ui_routes(create_app(world.platform), {"POST", "PUT", "PATCH", "DELETE"})
    assert served == set(UI_MUTATING), served ^ set(UI_MUTATING)


_PROMOTION: list[str] = []


def _promotion(world: World) -> str:
    """A pending promotion of ml's model (made once: a version from ml_run and a champion request)."""
    if not _PROMOTION:
        registry = world.platform.registry
        mine = registry.list_promotions(name="ml_model", status="pending").items
        if not mine:
            version = registry.register_model("ml_model", f"runs:/{world.run_id}/notes.txt")
            mine = [registry.set_alias("ml_model", "champion", version.version)]
        _PROMOTION.append(mine[0].id)
    return _PROMOTION[0]


def _fill(world: World, path: str) -> str:
    if "{ml_token}" in path:
        token = world.platform.security.list_tokens(principal="ml_admin").items[0].id
        path = path.replace("{ml_token}", token)
    if "{pipe_" in path:
        (pipe_run, *_) = world.platform.pipelines.list_runs("ml_pipe").items
        path = path.replace("{pipe_run}", pipe_run.id)
        path = path.replace("{pipe_job}", pipe_run.steps["refresh"].get("job", "x"))
    if "{promotion}" in path:
        path = path.replace("{promotion}", _promotion(world))
    return path.replace("{run}", world.run_id).replace("{exp}", world.experiment_id)


@pytest.mark.parametrize("who", ATTACKERS)
@pytest.mark.parametrize("route", sorted(set(UI_MUTATING) - OWN))
def test_ui_forms_refuse_callers_without_write_on_ml(
    world: World, sessions: dict[str, tuple[httpx.Client, str]], route: str, who: str
) -> None:
    http, csrf = sessions[who]
    path, fields = UI_MUTATING[route]
    path = _fill(world, path)
    before = world.ml_snapshot()
    r = http.post(path, data={**fields, "csrf": csrf})
    assert r.status_code in (403, 404), f"{route} as {who}: {r.status_code} {r.text[:300]}"
    assert world.ml_snapshot() == before
    assert "ml" not in world.platform.security.get_principal("ml_viewer").roles or (
        world.platform.security.get_principal("ml_viewer").roles["ml"].value == "viewer"
    )


@pytest.mark.parametrize("route", sorted(UI_MUTATING))
def test_ui_forms_refuse_a_missing_csrf(
    world: World, sessions: dict[str, tuple[httpx.Client, str]], route: str
) -> None:
    http, _ = sessions["ml_editor"]
    path, fields = UI_MUTATING[route]
    r = http.post(_fill(world, path), data=fields)
    assert r.status_code == 403, f"{route}: {r.status_code} {r.text[:300]}"


def test_ui_without_a_session_goes_to_sign_in(world: World) -> None:
    app = create_app(world.platform)
    with httpx.Client(base_url=world.url, timeout=30) as http:
        for route in sorted(ui_routes(app, {"GET"})):
            path = route.split(" ", 1)[1]
            if path.startswith(("/ui/login", "/ui/static")):
                continue
            url = re.sub(r"\{[a-z_]+\}", "x", path)
            r = http.get(url, follow_redirects=False)
            assert r.status_code == 303 and "/ui/login" in r.headers["location"], route


@pytest.mark.parametrize(
    "path",
    [
        "/ui/catalog?kind=" + "k" * 500,
        "/ui/catalog?page_token=garbage",
        "/ui/catalog/x/y",
        "/ui/catalog/table/silver.ml_clean/lineage.json?depth=-1",
        "/ui/lake/not-a-table",
        "/ui/lake/silver.ml_clean/preview?offset=-5",
        "/ui/lake/silver.ml_clean/preview?where=%27",
        "/ui/lake/sql?q=delete%20from%20silver.ml_clean",
        "/ui/audit?since=yesterday",
        "/ui/audit?outcome=maybe",
        "/ui/features?kind=nope",
        "/ui/features/feature_view/ml_view/lookup?customer_id=abc",
        "/ui/admin?page_token=%00",
        "/ui/experiments?page_token=garbage",
        "/ui/experiments/{exp}?filter=((",
        "/ui/experiments/{exp}?order=metrics.",
        "/ui/runs/{run}/artifact?path=../../etc/passwd",
        "/ui/runs/{run}?path=%00",
        "/ui/compare",
        "/ui/compare?runs=" + "r" * 300,
        "/ui/compare/metric.json?key=&runs={run}",
        "/ui/registry/ml_model/versions/abc",
        "/ui/registry?page_token=x",
        "/ui/pipelines/ml_pipe?state=bogus",
        "/ui/pipelines/ml_pipe/dag.json?run=nope",
        "/ui/jobs?state=bogus",
        "/ui/pipelines/runs/nope/stream",
        "/ui/jobs/%00/stream",
        "/ui/deployments/nope",
    ],
)
def test_malformed_ui_input_is_a_4xx_page(
    world: World, sessions: dict[str, tuple[httpx.Client, str]], path: str
) -> None:
    http, _ = sessions["ml_editor"]
    path = _fill(world, path)
    r = http.get(path)
    assert 400 <= r.status_code < 500, f"{path}: {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in DIRECT
        if p.startswith(("/ui/exp", "/ui/r", "/ui/c", "/ui/d", "/ui/p", "/ui/j"))
        and not p.endswith("/stream")  # ml_pipe's run stays queued here: its stream stays open
    ],
)
def test_ml_pages_render_for_ml(
    world: World, sessions: dict[str, tuple[httpx.Client, str]], path: str
) -> None:
    http, _ = sessions["ml_editor"]
    _promotion(world)  # ml_model has a version 1
    r = http.get(_fill(world, path))
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/ui/registry/ml_model/aliases", {"alias": "", "version": "x"}),
        ("/ui/registry/ml_model/aliases", {"alias": "champion", "version": "99"}),
        ("/ui/registry/ml_model/aliases", {"alias": "bad alias!", "version": "1"}),
        ("/ui/registry/promotions/nope/approve", {}),
        ("/ui/deployments/ml_dep/rollback", {"to_version": "abc"}),
        ("/ui/deployments/ml_dep/rollback", {"to_version": "999"}),
        ("/ui/deployments/ml_dep/rollback", {"canary": "1"}),
        ("/ui/pipelines/nope/run", {}),
        ("/ui/pipelines/runs/nope/cancel", {}),
    ],
)
def test_malformed_ui_forms_are_a_4xx_page(
    sessions: dict[str, tuple[httpx.Client, str]], path: str, fields: dict[str, str]
) -> None:
    http, csrf = sessions["ml_editor"]
    r = http.post(path, data={**fields, "csrf": csrf})
    assert 400 <= r.status_code < 500, f"{path}: {r.status_code} {r.text[:300]}"
