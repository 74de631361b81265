"""Security and audit over HTTP: ``SecurityAPI`` and ``AuditAPI`` from their operation tables."""

from __future__ import annotations

from datetime import timedelta

from shipyard.client.ops import Op, RemoteService
from shipyard.governance.protocol import AuditAPI
from shipyard.security.protocol import SecurityAPI


def _days(expires_in: timedelta | None) -> float | None:
    return expires_in.total_seconds() / 86400 if expires_in else None


PRINCIPAL = "/principals/{name}"

SECURITY_OPS = {
    "whoami": Op("GET", "/whoami"),
    "create_principal": Op("POST", "/principals"),
    "grant": Op("POST", PRINCIPAL + "/roles"),
    "revoke_role": Op("DELETE", PRINCIPAL + "/roles/{team}"),
    "get_principal": Op("GET", PRINCIPAL),
    "list_principals": Op("GET", "/principals"),
    "create_token": Op(
        "POST", "/tokens", wire={"expires_in": "expires_in_days"}, encode={"expires_in": _days}
    ),
    "list_tokens": Op("GET", "/tokens"),
    "revoke_token": Op("DELETE", "/tokens/{token_id}"),
}

AUDIT_OPS = {
    "list_records": Op("GET", "/audit"),
    "verify": Op("POST", "/audit/verify"),
}


class RemoteSecurityService(RemoteService, SecurityAPI, ops=SECURITY_OPS):
    """``SecurityService`` over HTTP (minus ``authenticate``, which is the server's job)."""


class RemoteAuditService(RemoteService, AuditAPI, ops=AUDIT_OPS):
    """``AuditService`` over HTTP."""
