"""SecurityService in process: principals, roles, tokens, and who may manage them."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from shipyard.platform import Platform
from shipyard.security.models import ROLE_PERMISSIONS, Permission, Role


def test_role_table_is_what_the_docs_say() -> None:
    assert ROLE_PERMISSIONS[Role.VIEWER] == {Permission.READ}
    assert Permission.WRITE not in ROLE_PERMISSIONS[Role.PREDICTOR]
    assert Permission.APPROVE not in ROLE_PERMISSIONS[Role.EDITOR]
    assert ROLE_PERMISSIONS[Role.APPROVER] == {Permission.READ, Permission.APPROVE}
    assert ROLE_PERMISSIONS[Role.ADMIN] == set(Permission)


def test_roles_are_per_team_and_star_means_every_team(platform: Platform) -> None:
    ana = platform.security.create_principal("ana", team="ml", role="editor")
    assert ana.can(Permission.WRITE, "ml") and not ana.can(Permission.WRITE, "risk")
    ana = platform.security.grant("ana", team="*", role="viewer")
    assert ana.can(Permission.READ, "risk") and not ana.can(Permission.WRITE, "risk")
    ana = platform.security.revoke_role("ana", team="ml")
    assert ana.roles == {"*": Role.VIEWER}


def test_bad_principal_input_is_invalid(platform: Platform) -> None:
    with pytest.raises(InvalidArgument, match="unknown role 'boss'"):
        platform.security.create_principal("x", role="boss")
    with pytest.raises(InvalidArgument, match="kind"):
        platform.security.create_principal("x", kind="robot")
    with pytest.raises(InvalidArgument):
        platform.security.create_principal("")
    with pytest.raises(NotFound):
        platform.security.grant("ghost", team="ml", role="viewer")


def test_token_lifecycle_and_prefix_revocation(platform: Platform) -> None:
    new = platform.security.create_token(name="nb", expires_in=None)
    assert new.info.expires_at is None and new.info.active
    assert platform.security.authenticate(new.token).name == "local-admin"
    revoked = platform.security.revoke_token(new.info.prefix)
    assert revoked.revoked_at is not None and not revoked.active
    with pytest.raises(Unauthenticated, match="revoked"):
        platform.security.authenticate(new.token)
    with pytest.raises(InvalidArgument, match="positive"):
        platform.security.create_token(expires_in=timedelta(0))
    with pytest.raises(Unauthenticated, match="missing"):
        platform.security.authenticate("")


def test_non_admins_manage_only_their_own_tokens(platform: Platform) -> None:
    vera = platform.security.create_principal("vera", role="viewer")
    bob = platform.security.create_principal("bob", role="editor")
    as_vera = platform.as_principal(vera).security
    own = as_vera.create_token(name="mine")
    bobs = platform.security.create_token(principal="bob")
    assert [t.principal for t in as_vera.list_tokens().items] == ["vera"]
    with pytest.raises(PermissionDenied):
        as_vera.list_tokens(principal="bob")
    with pytest.raises(PermissionDenied):
        as_vera.create_token(principal="bob")
    with pytest.raises(PermissionDenied):
        as_vera.revoke_token(bobs.info.id)
    assert platform.security.authenticate(bobs.token).name == bob.name
    as_vera.revoke_token(own.info.id)
    with pytest.raises(PermissionDenied):
        as_vera.get_principal("bob")
    assert as_vera.get_principal("vera").name == "vera"


def test_a_principal_without_roles_can_still_authenticate_but_do_nothing(
    platform: Platform,
) -> None:
    platform.security.create_principal("nobody", team="ml", role="viewer")
    platform.security.revoke_role("nobody", team="ml")
    token = platform.security.create_token(principal="nobody").token
    nobody = platform.security.authenticate(token)
    assert nobody.roles == {}
    with pytest.raises(PermissionDenied):
        platform.as_principal(nobody).catalog.search()


def test_auth_does_not_wait_for_a_busy_writer(platform: Platform) -> None:
    """Recording last use is skipped, not queued, while another writer holds the lock."""
    token = platform.security.create_token().token
    path = platform.settings.home_dir / "catalog.db"
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        assert platform.security.authenticate(token).name == "local-admin"
        assert time.perf_counter() - started < 1.0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert platform.security.list_tokens().items[0].last_used_at is None
    platform.security.authenticate(token)
    assert platform.security.list_tokens().items[0].last_used_at is not None


def test_reopening_a_project_writes_nothing(platform: Platform) -> None:
    import sqlalchemy as sa

    from shipyard.security.store import ensure_principal

    writes: list[str] = []

    def spy(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if statement.split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    db = platform.context.db
    sa.event.listen(db.engine, "before_cursor_execute", spy)
    try:
        with db.begin() as conn:
            admin = ensure_principal(conn, "local-admin", team="*", role=Role.ADMIN)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", spy)
    assert admin.is_admin and writes == []
