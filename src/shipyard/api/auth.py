"""The one token check of every HTTP edge: the API and the inference server.

A request's bearer token becomes the platform acting for its principal
(``SecurityService.authenticate``, 401 when it cannot). A verified token's
principal is reused for at most ``security.auth_cache`` seconds, and only while
the security change stamp has not moved since the token was read: a revoked
token, a granted or revoked role, ends the reuse at the next request on every
worker and host (docs/adr/0003, amended 2026-12-05):

- SQLite: the stamp is ``PRAGMA data_version``, which any commit of any other
  connection moves (about 3 µs to read);
- PostgreSQL: security writes send ``NOTIFY`` at commit; the stamp counts the
  notices a private ``LISTEN`` connection received (under 1 µs to drain).

When the stamp cannot be read, every request reads the token again. Keys are
SHA-256 digests of tokens, never the tokens themselves.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Hashable
from typing import Any

from shipyard.platform import Platform
from shipyard.security.service import CHANGES_KIND

_KINDS = (CHANGES_KIND,)  # the change-feed kind security writes announce
#: Entries kept at most; past it the cache starts over (a flood of tokens cannot grow it).
MAX_ENTRIES = 10_000


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class TokenCheck:
    """Token -> the platform acting for its principal, for one root platform."""

    def __init__(self, root: Platform, max_age: float | None = None) -> None:
        self.root = root
        self.max_age = root.settings.security.auth_cache if max_age is None else max_age
        self._seen: dict[bytes, tuple[float, Hashable, Platform]] = {}
        self._lock = threading.Lock()

    def _stamp(self) -> Hashable | None:
        return self.root.backends.changes.get().stamp(_KINDS)

    def cached(self, authorization: str | None) -> Platform | None:
        """The caller if the token was verified recently and nothing changed since (no query)."""
        token = bearer(authorization)
        if self.max_age <= 0 or token is None:
            return None
        hit = self._seen.get(hashlib.sha256(token.encode()).digest())
        if hit is None or hit[0] <= time.monotonic():
            return None
        stamp = self._stamp()
        return hit[2] if stamp is not None and stamp == hit[1] else None

    def caller(self, authorization: str | None) -> Platform:
        """The platform acting for the token's principal.

        Raises:
            Unauthenticated: missing, unknown, expired or revoked token.
        """
        view = self.cached(authorization)
        if view is not None:
            return view
        token = bearer(authorization)
        if self.max_age <= 0 or token is None:
            return self.root.as_principal(self.root.security.authenticate(token))
        stamp = self._stamp()  # read before the token: a change in between is seen next time
        view = self.root.as_principal(self.root.security.authenticate(token))
        if stamp is not None:
            key = hashlib.sha256(token.encode()).digest()
            with self._lock:
                if len(self._seen) >= MAX_ENTRIES:
                    self._seen.clear()
                self._seen[key] = (time.monotonic() + self.max_age, stamp, view)
        return view


def app_check(state: Any) -> TokenCheck:
    """The check of an app whose ``state.platform`` is the root (made on first use, and
    again when the app is pointed at another platform: tests do that)."""
    check: TokenCheck | None = getattr(state, "token_check", None)
    if check is None or check.root is not state.platform:
        max_age = None if check is None else check.max_age
        check = state.token_check = TokenCheck(state.platform, max_age)
    return check
