"""Token auth and audit on PostgreSQL: the same one-query lookup, the same refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import BackendUnavailable, PermissionDenied, Unauthenticated
from shipyard.platform import Platform

pytestmark = pytest.mark.integration


def test_tokens_roles_and_audit_on_postgres(tmp_path: Path, pg_catalog_url: str) -> None:
    with Platform.open(tmp_path, catalog={"url": pg_catalog_url}) as p:
        p.security.create_principal("vera", role="viewer")
        new = p.security.create_token(principal="vera")
        vera = p.security.authenticate(new.token)
        assert vera.name == "vera" and vera.roles == {"default": "viewer"}
        with pytest.raises(PermissionDenied):
            p.as_principal(vera).catalog.register_asset("table:x.y")
        p.security.revoke_token(new.info.id)
        with pytest.raises(Unauthenticated, match="revoked"):
            p.security.authenticate(new.token)
        outcomes = {(r.action, r.outcome) for r in p.audit.list_records(principal="vera").items}
        assert outcomes == {("catalog.register", "denied"), ("security.authenticate", "denied")}


def test_wrong_password_is_backend_unavailable_and_masked(tmp_path: Path, pg_url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(pg_url)
    bad = f"postgresql://nobody:s3cr3t@{parts.hostname}:{parts.port or 5432}/does_not_exist"
    with pytest.raises(BackendUnavailable) as info:
        Platform.open(tmp_path, catalog={"url": bad})
    assert "nobody:***@" in info.value.message and "s3cr3t" not in info.value.message
