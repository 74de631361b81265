"""The interface of security: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from shipyard._internal.paging import Page
from shipyard.security.models import NewToken, Principal, Role, TokenInfo


class SecurityAPI(Protocol):
    """What ``SecurityService`` offers both in-process and over HTTP."""

    def whoami(self) -> Principal: ...
    def create_principal(
        self,
        name: str,
        *,
        kind: str = "user",
        team: str | None = None,
        role: str | Role = Role.VIEWER,
    ) -> Principal: ...
    def grant(self, name: str, *, team: str, role: str | Role) -> Principal: ...
    def revoke_role(self, name: str, *, team: str) -> Principal: ...
    def get_principal(self, name: str) -> Principal: ...
    def list_principals(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[Principal]: ...
    def create_token(
        self,
        *,
        principal: str | None = None,
        name: str = "default",
        expires_in: timedelta | None = timedelta(days=90),
    ) -> NewToken:
        """Mint a token. The secret is returned once and stored only as a hash."""
        ...

    def list_tokens(
        self,
        *,
        principal: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[TokenInfo]: ...
    def revoke_token(self, token_id: str) -> TokenInfo: ...
