"""The UI's session edge without a browser: cookie flags, CSRF, sign-in, redirects, bad input."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.platform import Platform


@pytest.fixture
def tokens(platform: Platform) -> dict[str, str]:
    platform.catalog.register_asset("table:bronze.ml_t", owner="ml", description="ml's")
    platform.catalog.register_asset("table:bronze.risk_t", owner="risk", description="risk's")
    out = {}
    for name, team, role in (
        ("ml_editor", "ml", "editor"),
        ("ml_viewer", "ml", "viewer"),
        ("risk_editor", "risk", "editor"),
        ("nobody", "ml", "viewer"),
    ):
        platform.security.create_principal(name, team=team, role=role)
        out[name] = platform.security.create_token(principal=name).token
    platform.security.revoke_role("nobody", team="ml")
    return out


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), base_url="http://testserver") as c:
        yield c


def sign_in(client: TestClient, token: str) -> str:
    """Sign in through the form; returns the session's CSRF value."""
    client.get("/ui/login")
    csrf = client.cookies["shipyard_login_csrf"]
    r = client.post("/ui/login", data={"token": token, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/ui/").text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_root_and_ui_redirect_to_sign_in(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    r = client.get("/ui/catalog?kind=table", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/login?next=%2Fui%2Fcatalog%3Fkind%3Dtable"
    r = client.get("/ui/catalog", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["hx-redirect"].startswith("/ui/login")


def test_session_cookie_flags(client: TestClient, tokens: dict[str, str]) -> None:
    client.get("/ui/login")
    csrf = client.cookies["shipyard_login_csrf"]
    r = client.post(
        "/ui/login", data={"token": tokens["ml_editor"], "csrf": csrf}, follow_redirects=False
    )
    cookie = next(
        v for k, v in r.headers.multi_items() if k == "set-cookie" and "shipyard_session=" in v
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags
    assert tokens["ml_editor"] not in cookie or "." in cookie  # signed (itsdangerous) value


def test_sign_in_refuses_without_the_form_csrf(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/ui/login", data={"token": tokens["ml_editor"], "csrf": "forged"})
    assert r.status_code == 403
    assert "shipyard_session" not in client.cookies


def test_bad_token_is_a_401_page(client: TestClient) -> None:
    client.get("/ui/login")
    csrf = client.cookies["shipyard_login_csrf"]
    r = client.post("/ui/login", data={"token": "shp_nope", "csrf": csrf})
    assert r.status_code == 401 and "not valid" in r.text


def test_forms_refuse_a_missing_or_wrong_csrf(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    csrf = sign_in(client, tokens["ml_editor"])
    url = "/ui/catalog/table/bronze.ml_t/description"
    assert client.post(url, data={"description": "x"}).status_code == 403
    assert client.post(url, data={"description": "x", "csrf": "nope"}).status_code == 403
    assert platform.catalog.get_asset("table:bronze.ml_t").description == "ml's"
    r = client.post(url, data={"description": "new", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert platform.catalog.get_asset("table:bronze.ml_t").description == "new"
    # htmx sends the value as a header
    r = client.post(url, data={"description": "hx"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200


def test_sign_out_ends_the_session(client: TestClient, tokens: dict[str, str]) -> None:
    csrf = sign_in(client, tokens["ml_viewer"])
    assert client.post("/ui/logout", data={}).status_code == 403  # CSRF here too
    r = client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_a_forged_or_revoked_session_goes_to_sign_in(
    client: TestClient, platform: Platform, tokens: dict[str, str]
) -> None:
    sign_in(client, tokens["ml_viewer"])
    good = client.cookies["shipyard_session"]
    client.cookies.clear()

    def status(value: str) -> int:
        cookie = {"Cookie": f"shipyard_session={value}"}
        return client.get("/ui/", headers=cookie, follow_redirects=False).status_code

    assert status(good[:-3] + "xyz") == 303
    assert status("garbage") == 303
    assert status(good) == 200
    for info in platform.security.list_tokens(principal="ml_viewer").items:
        platform.security.revoke_token(info.id)
    assert status(good) == 303


def test_open_redirect_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    client.get("/ui/login")
    csrf = client.cookies["shipyard_login_csrf"]
    for target in ("https://evil.example/", "//evil.example/ui", "/api/v1/whoami"):
        r = client.post(
            "/ui/login",
            data={"token": tokens["ml_viewer"], "csrf": csrf, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/ui/"
        client.cookies.clear()
        client.get("/ui/login")
        csrf = client.cookies["shipyard_login_csrf"]


def test_api_docs_page_uses_vendored_assets(client: TestClient) -> None:
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    assert "/ui/static/vendor/swagger-ui-bundle.js" in r.text and "cdn" not in r.text.lower()
    assert client.get("/ui/static/vendor/swagger-ui-bundle.js").status_code == 200


def test_pages_forbid_framing_and_foreign_scripts(client: TestClient) -> None:
    r = client.get("/ui/login")
    assert r.headers["x-frame-options"] == "DENY"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
