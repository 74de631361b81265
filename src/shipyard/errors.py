"""The whole Shipyard error hierarchy.

Every error a user can cause is a ``ShipyardError`` with a stable ``code``, an
``http_status``, a safe ``message`` and structured ``details``. Edges map them
once: the HTTP API to ``{error_code, message, details}``, the CLI to one line.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ShipyardError(Exception):
    """Base class of every error Shipyard raises on purpose."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def headline(self) -> str:
        """One line for the CLI."""
        return f"error: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"error_code": self.code, "message": self.message, "details": self.details}


class NotFound(ShipyardError):
    code = "NOT_FOUND"
    http_status = 404


class AlreadyExists(ShipyardError):
    code = "ALREADY_EXISTS"
    http_status = 409


class InvalidArgument(ShipyardError):
    code = "INVALID_ARGUMENT"
    http_status = 422


class Conflict(ShipyardError):
    code = "CONFLICT"
    http_status = 409


class Unauthenticated(ShipyardError):
    code = "UNAUTHENTICATED"
    http_status = 401


class PermissionDenied(ShipyardError):
    code = "PERMISSION_DENIED"
    http_status = 403


class QuotaExceeded(ShipyardError):
    code = "QUOTA_EXCEEDED"
    http_status = 429


class BackendUnavailable(ShipyardError):
    code = "BACKEND_UNAVAILABLE"
    http_status = 503


class ConfigError(InvalidArgument):
    code = "INVALID_CONFIG"


#: The allow-list the remote client uses to turn wire codes back into errors.
ERRORS_BY_CODE: dict[str, type[ShipyardError]] = {
    cls.code: cls
    for cls in (
        ShipyardError,
        NotFound,
        AlreadyExists,
        InvalidArgument,
        Conflict,
        Unauthenticated,
        PermissionDenied,
        QuotaExceeded,
        BackendUnavailable,
        ConfigError,
    )
}


def mask_url(url: str) -> str:
    """Hide the password of a database URL (``postgresql://u:***@host/db``)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
