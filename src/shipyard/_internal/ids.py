"""Identifiers and secrets."""

from __future__ import annotations

import secrets
import uuid


def new_id() -> str:
    """A sortable-enough random id (32 hex chars)."""
    return uuid.uuid4().hex


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
