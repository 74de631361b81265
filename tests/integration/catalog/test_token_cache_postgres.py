"""The HTTP edges' token cache on PostgreSQL: a revocation on one host ends it on another."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shipyard.api.auth import TokenCheck
from shipyard.errors import Unauthenticated
from shipyard.platform import Platform

pytestmark = pytest.mark.integration


def test_revocation_and_role_change_reach_another_hosts_cache(
    tmp_path: Path, pg_catalog_url: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        Platform.open(tmp_path / "a", catalog={"url": pg_catalog_url}) as host_a,
        Platform.open(tmp_path / "b", catalog={"url": pg_catalog_url}) as host_b,
    ):
        host_b.security.create_principal("pat", role="editor")
        new = host_b.security.create_token(principal="pat")
        header = f"Bearer {new.token}"
        check = TokenCheck(host_a, max_age=60.0)
        check.caller(header)  # first use writes last_used_at
        view = check.caller(header)
        assert check.cached(header) is view  # reused: no query
        host_b.security.grant("pat", team="default", role="viewer")
        time.sleep(0.05)  # the notice reaches the listener some 20 µs after the commit
        assert check.cached(header) is None
        assert check.caller(header).principal.roles == {"default": "viewer"}
        host_b.security.revoke_token(new.info.id)
        time.sleep(0.05)
        with pytest.raises(Unauthenticated, match="revoked"):
            check.caller(header)
