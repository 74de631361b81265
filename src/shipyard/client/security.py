"""Security and audit over HTTP: ``SecurityAPI`` and ``AuditAPI`` from their operation tables."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.governance import ops as audit
from shipyard.governance.protocol import AuditAPI
from shipyard.security import ops as security
from shipyard.security.protocol import SecurityAPI


class RemoteSecurityService(RemoteService, SecurityAPI, ops=security.OPS):
    """``SecurityService`` over HTTP (minus ``authenticate``, which is the server's job)."""


class RemoteAuditService(RemoteService, AuditAPI, ops=audit.OPS):
    """``AuditService`` over HTTP."""
