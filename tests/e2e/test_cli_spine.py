"""The `shipyard` command as a user drives it: init, catalog, tokens, principals, audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipyard.cli import _common
from shipyard.cli.main import run
from shipyard.platform import Platform


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


class Cli:
    def __init__(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.project = project
        self._capsys = capsys

    def __call__(self, *args: str) -> Result:
        self._capsys.readouterr()
        code = run(["-C", str(self.project), *args])
        out, err = self._capsys.readouterr()
        return Result(code, out, err)

    def ok(self, *args: str) -> Result:
        r = self(*args)
        assert r.code == 0, (args, r.err)
        return r


@pytest.fixture
def cli(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    width = _common.console.width
    _common.console.width = 200  # tables unwrapped, so rows can be read back
    (project_dir / "shipyard.yaml").write_text("")  # a project: commands refuse other folders
    yield Cli(project_dir, capsys)
    _common.console.width = width


@pytest.fixture
def seeded(project_dir: Path) -> Path:
    with Platform.open(project_dir) as p:
        c = p.catalog
        c.register_asset("table:bronze.orders", description="raw orders", tags=["raw"])
        c.register_asset(
            "table:silver.orders", sources=["table:bronze.orders"], operation="refresh"
        )
        c.register_asset(
            "model:churn", sources=["table:silver.orders"], operation="train", owner="ml"
        )
    return project_dir


def test_init_creates_a_project_and_is_idempotent(cli: Cli, project_dir: Path) -> None:
    r = cli.ok("init", str(project_dir))
    assert "initialised project" in r.out
    cfg = project_dir / "shipyard.yaml"
    assert cfg.exists() and (project_dir / ".shipyard" / "catalog.db").exists()
    cfg.write_text(cfg.read_text() + "server:\n  port: 9999\n")
    cli.ok("init", str(project_dir))
    assert "port: 9999" in cfg.read_text()  # an existing file is kept


def test_catalog_search_show_lineage(cli: Cli, seeded: Path) -> None:
    page = cli.ok("catalog", "search", "orders", "--json").json()
    assert isinstance(page, dict)
    assert [a["name"] for a in page["items"]] == ["bronze.orders", "silver.orders"]
    assert [
        a["name"] for a in cli.ok("catalog", "search", "--tag", "raw", "--json").json()["items"]
    ] == ["bronze.orders"]  # type: ignore[index]
    assert [
        a["name"] for a in cli.ok("catalog", "search", "--owner", "ml", "--json").json()["items"]
    ] == ["churn"]  # type: ignore[index]
    table = cli.ok("catalog", "search", "--kind", "table").out
    assert "table:bronze.orders" in table and "model:churn" not in table

    shown = cli.ok("catalog", "show", "table:bronze.orders", "--json").json()
    assert isinstance(shown, dict)
    assert shown["asset"]["description"] == "raw orders"
    assert [v["version"] for v in shown["versions"]] == [1]
    assert "raw orders" in cli.ok("catalog", "show", "table:bronze.orders").out

    graph = cli.ok("catalog", "lineage", "model:churn", "--json").json()
    assert isinstance(graph, dict)
    assert {n["name"] for n in graph["nodes"]} == {"churn", "silver.orders", "bronze.orders"}
    assert {e["operation"] for e in graph["edges"]} == {"train", "refresh"}
    tree = cli.ok("catalog", "lineage", "model:churn").out
    assert "table:bronze.orders@1" in tree and "(refresh)" in tree
    down = cli.ok(
        "catalog", "lineage", "table:bronze.orders", "--downstream", "--depth", "1", "--json"
    ).json()
    assert isinstance(down, dict) and {n["name"] for n in down["nodes"]} == {
        "bronze.orders",
        "silver.orders",
    }


def test_catalog_mistakes_are_one_line(cli: Cli, seeded: Path) -> None:
    r = cli("catalog", "show", "table:no.such")
    assert r.code == 1 and r.err == "error: no table named 'no.such' in the catalog\n"
    r = cli("catalog", "lineage", "model:churn", "--depth", "0")
    assert r.code == 1 and r.err.startswith("error: depth must be between 1 and")


def test_tokens_create_list_revoke(cli: Cli, project_dir: Path) -> None:
    cli.ok("principals", "create", "svc-ci", "--kind", "service", "--role", "editor")
    new = cli.ok("tokens", "create", "--principal", "svc-ci", "--name", "ci", "--json").json()
    assert isinstance(new, dict)
    secret, token_id = new["token"], new["info"]["id"]
    plain = cli.ok("tokens", "create", "--name", "mine", "--expires-in-days", "0")
    assert "shown only once" in plain.out and plain.out.strip().splitlines()[-1].startswith("shp_")

    listed = cli.ok("tokens", "list", "--json")
    assert secret not in listed.out
    rows = listed.json()
    assert isinstance(rows, list)
    assert {(t["principal"], t["name"]) for t in rows} == {
        ("svc-ci", "ci"),
        ("local-admin", "mine"),
    }
    assert next(t for t in rows if t["name"] == "mine")["expires_at"] is None
    assert "svc-ci" in cli.ok("tokens", "list").out

    assert "revoked token" in cli.ok("tokens", "revoke", token_id).out
    after = cli.ok("tokens", "list", "--principal", "svc-ci", "--json").json()
    assert isinstance(after, list) and after[0]["revoked_at"] is not None
    with Platform.open(project_dir) as p:
        from shipyard.errors import Unauthenticated

        with pytest.raises(Unauthenticated, match="revoked"):
            p.security.authenticate(secret)
    r = cli("tokens", "revoke", "nope")
    assert r.code == 1 and r.err == "error: no token 'nope'\n"


def test_principals_create_grant_list(cli: Cli) -> None:
    created = cli.ok(
        "principals", "create", "ana", "--team", "ml", "--role", "editor", "--json"
    ).json()
    assert isinstance(created, dict) and created["roles"] == {"ml": "editor"}
    out = cli.ok("principals", "grant", "ana", "--team", "risk", "--role", "viewer").out
    assert "editor on ml" in out and "viewer on risk" in out
    rows = cli.ok("principals", "list", "--json").json()
    assert isinstance(rows, list)
    by_name = {p["name"]: p for p in rows}
    assert by_name["ana"]["roles"] == {"ml": "editor", "risk": "viewer"}
    assert by_name["local-admin"]["roles"] == {"*": "admin"}
    assert "ana" in cli.ok("principals", "list").out
    shown = cli.ok("principals", "show", "ana", "--json").json()
    assert isinstance(shown, dict) and shown["roles"] == {"ml": "editor", "risk": "viewer"}
    assert "risk" in cli.ok("principals", "show", "ana").out
    assert cli.ok("principals", "revoke-role", "ana", "--team", "risk").out.strip() == (
        "ana: editor on ml"
    )
    r = cli("principals", "show", "ghost")
    assert r.code == 1 and r.err == "error: no principal named 'ghost'\n"
    r = cli("principals", "create", "bad", "--role", "overlord")
    assert r.code == 1 and "unknown role 'overlord'" in r.err
    r = cli("principals", "create", "ana")
    assert r.code == 1 and r.err == "error: principal 'ana' already exists\n"


def test_audit_list_filters(
    cli: Cli, seeded: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.ok("principals", "create", "vera", "--role", "viewer")
    monkeypatch.setenv("SHIPYARD_SECURITY_SDK_PRINCIPAL", "vera")
    r = cli("principals", "create", "mallory")
    assert r.code == 1 and r.err.startswith("error: vera may not security.create_principal")
    monkeypatch.delenv("SHIPYARD_SECURITY_SDK_PRINCIPAL")

    everything = cli.ok("audit", "list", "--json").json()
    assert isinstance(everything, dict) and len(everything["items"]) == 5
    denied = cli.ok("audit", "list", "--outcome", "denied", "--json").json()
    assert isinstance(denied, dict)
    assert [(d["principal"], d["action"]) for d in denied["items"]] == [
        ("vera", "security.create_principal")
    ]
    catalog = cli.ok("audit", "list", "--action", "catalog.*", "--json").json()
    assert isinstance(catalog, dict)
    assert [i["asset"] for i in catalog["items"]] == [
        "model:churn@1",
        "table:silver.orders@1",
        "table:bronze.orders@1",
    ]
    mine = cli.ok("audit", "list", "--principal", "vera", "--json").json()
    assert isinstance(mine, dict) and {i["principal"] for i in mine["items"]} == {"vera"}
    assets = cli.ok("audit", "list", "--asset", "table:*", "--limit", "1", "--json").json()
    assert isinstance(assets, dict) and len(assets["items"]) == 1 and assets["next_page_token"]
    future = cli.ok("audit", "list", "--since", "2999-01-01", "--json").json()
    assert isinstance(future, dict) and future["items"] == []
    table = cli.ok("audit", "list", "--outcome", "denied").out
    assert "security.create_principal" in table and "denied" in table
    r = cli("audit", "list", "--outcome", "maybe")
    assert r.code == 1 and "outcome is one of ok, denied, error" in r.err


def test_version_and_usage_errors(cli: Cli) -> None:
    import shipyard

    assert cli.ok("--version").out.strip() == f"shipyard {shipyard.__version__}"
    r = cli("catalog", "no-such-command")
    assert r.code == 2 and "No such command" in r.err and "Traceback" not in r.err
