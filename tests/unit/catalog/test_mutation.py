"""ServiceContext.mutation: authorize, one transaction, audit in it; failures roll back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shipyard.errors import NotFound, PermissionDenied
from shipyard.platform import Platform
from shipyard.security.models import Permission


def test_a_crash_mid_change_rolls_everything_back_and_is_audited(platform: Platform) -> None:
    ctx = platform.context
    with (
        pytest.raises(RuntimeError),
        ctx.mutation("test.crash", team="default", asset="table:t.x") as m,
    ):
        ctx.catalog.upsert(m.conn, kind="table", name="t.x", owner="default", created_by="me")
        ctx.catalog.upsert(m.conn, kind="table", name="t.y", owner="default", created_by="me")
        raise RuntimeError("disk on fire")
    with ctx.db.connect() as conn:
        assert ctx.catalog.find(conn, "table", "t.x") is None
        assert ctx.catalog.find(conn, "table", "t.y") is None
    records = platform.audit.list_records(action="test.*").items
    assert [(r.outcome, r.details) for r in records] == [("error", {"error_code": "RuntimeError"})]


def test_the_audit_record_commits_with_the_change(platform: Platform) -> None:
    ctx = platform.context
    with ctx.mutation("test.ok", team="default", asset="table:t.x") as m:
        asset = ctx.catalog.upsert(
            m.conn, kind="table", name="t.x", owner="default", created_by="me"
        )
        m.asset, m.details = str(asset.ref), {"rows": 3}
    rec = platform.audit.list_records(action="test.ok").items[0]
    assert (rec.asset, rec.outcome, rec.details, rec.team) == (
        "table:t.x@1",
        "ok",
        {"rows": 3},
        "default",
    )


def test_lineage_to_a_missing_source_leaves_no_asset(platform: Platform) -> None:
    platform.catalog.register_asset("table:bronze.a")
    with pytest.raises(NotFound):
        platform.catalog.register_asset(
            "table:silver.b", sources=["table:bronze.a", "table:bronze.missing"]
        )
    assert platform.catalog.search("silver").items == []
    assert platform.catalog.lineage("table:bronze.a", direction="downstream").edges == []


def test_denied_before_any_write(platform: Platform) -> None:
    viewer = platform.security.create_principal("vera", role="viewer")
    ctx = platform.as_principal(viewer).context
    ran = False
    with (
        pytest.raises(PermissionDenied, match=r"vera may not test\.write"),
        ctx.mutation("test.write", team="default", permission=Permission.WRITE),
    ):
        ran = True
    assert not ran
    rec = platform.audit.list_records(principal="vera").items[0]
    assert (rec.action, rec.outcome, rec.details) == (
        "test.write",
        "denied",
        {"permission": "write"},
    )


def test_a_refusal_inside_a_mutation_is_immediate_and_audited(project_dir: Path) -> None:
    """A permission check inside an open write transaction must not wait for its own lock."""
    with Platform.open(project_dir, catalog={"busy_timeout": 1}) as p:
        p.catalog.register_asset("model:risky", owner="risk", description="theirs")
        ed = p.security.create_principal("ed", team="ml", role="editor")
        started = time.perf_counter()
        with pytest.raises(PermissionDenied, match="needs 'write' on team 'risk'"):
            p.as_principal(ed).catalog.register_asset("model:risky", owner="ml")
        assert time.perf_counter() - started < 0.9
        assert p.catalog.get_asset("model:risky").owner == "risk"
        records = p.audit.list_records(principal="ed").items
        assert [(r.action, r.outcome, r.team, r.details) for r in records] == [
            ("catalog.register", "denied", "risk", {"permission": "write"})
        ]
