"""The security contract: one suite, run unchanged on every metadata database.

Subclasses provide ``catalog_url``. It covers what ``security/store.py`` keeps:
principals and their per-team roles, tokens stored as hashes, the one-query
authentication join, revocation by id or prefix, expiry and last use.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.errors import AlreadyExists, NotFound, Unauthenticated
from shipyard.platform import Platform
from shipyard.security.models import Role
from shipyard.security.tables import tokens
from tests.contract.remote import Skin, Skins


class SecurityContract(Skins):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": catalog_url})
        yield skin(p)
        p.close()

    def test_principals_hold_one_role_per_team(self, plat: Platform) -> None:
        sec = plat.security
        made = sec.create_principal("vera", team="ml", role="viewer")
        assert made.roles == {"ml": Role.VIEWER} and made.kind == "user"
        with pytest.raises(AlreadyExists):
            sec.create_principal("vera")
        sec.grant("vera", team="ml", role="editor")  # replaces the role on that team
        sec.grant("vera", team="bi", role="viewer")
        assert sec.get_principal("vera").roles == {"ml": Role.EDITOR, "bi": Role.VIEWER}
        assert sec.revoke_role("vera", team="ml").roles == {"bi": Role.VIEWER}
        with pytest.raises(NotFound):
            sec.grant("ghost", team="ml", role="viewer")
        with pytest.raises(NotFound):
            sec.get_principal("ghost")
        assert {"local-admin", "vera"} <= {p.name for p in sec.list_principals().items}

    def test_token_is_stored_as_a_hash_and_authenticates_with_all_roles(
        self, plat: Platform
    ) -> None:
        plat.security.create_principal("svc", kind="service", team="ml", role="editor")
        plat.security.grant("svc", team="bi", role="viewer")
        new = plat.security.create_token(principal="svc", name="ci")
        assert new.token.startswith("shp_") and new.info.prefix == new.token[:10]
        assert new.info.created_at.tzinfo is not None and new.info.expires_at is not None
        with plat.context.db.connect() as conn:
            stored = conn.execute(sa.select(tokens).where(tokens.c.id == new.info.id)).one()
        assert new.token not in {str(v) for v in stored}
        who = plat.security.authenticate(new.token)
        assert (who.name, who.kind) == ("svc", "service")
        assert who.roles == {"ml": Role.EDITOR, "bi": Role.VIEWER}

    def test_a_principal_without_roles_still_authenticates(self, plat: Platform) -> None:
        plat.security.create_principal("nobody", team="ml", role="viewer")
        plat.security.revoke_role("nobody", team="ml")
        token = plat.security.create_token(principal="nobody").token
        assert plat.security.authenticate(token).roles == {}

    def test_unknown_expired_and_revoked_tokens_are_refused(self, plat: Platform) -> None:
        with pytest.raises(Unauthenticated, match="invalid"):
            plat.security.authenticate("shp_not-a-token")
        short = plat.security.create_token(name="short", expires_in=timedelta(milliseconds=50))
        time.sleep(0.1)
        with pytest.raises(Unauthenticated, match="expired"):
            plat.security.authenticate(short.token)
        new = plat.security.create_token(name="nb", expires_in=None)
        first = plat.security.revoke_token(new.info.prefix)  # by prefix
        again = plat.security.revoke_token(new.info.id)  # by id: the first time is kept
        assert first.revoked_at is not None and again.revoked_at == first.revoked_at
        with pytest.raises(Unauthenticated, match="revoked"):
            plat.security.authenticate(new.token)
        with pytest.raises(NotFound):
            plat.security.revoke_token("tok_missing")
        denied = plat.audit.list_records(action="security.authenticate").items
        assert {r.details["reason"] for r in denied} == {"token expired", "token revoked"}

    def test_last_use_is_recorded(self, plat: Platform) -> None:
        new = plat.security.create_token(name="use")
        (fresh,) = [t for t in plat.security.list_tokens().items if t.id == new.info.id]
        assert fresh.last_used_at is None
        plat.security.authenticate(new.token)
        (info,) = [t for t in plat.security.list_tokens().items if t.id == new.info.id]
        assert info.last_used_at is not None and info.last_used_at >= info.created_at
