"""The interface of usage: what ``Platform`` and ``shipyard.connect`` both offer.

``record_jobs`` is the workers' (service only): it is not on the wire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shipyard.usage.models import MeterResult, UsageReport


class UsageAPI(Protocol):
    """What ``UsageService`` offers both in-process and over HTTP."""

    def meter(self, hour: datetime | None = None) -> MeterResult:
        """Write the usage rows of one hour (default: the last complete one; admins)."""
        ...

    def report(
        self, *, by: str = "team", month: str | None = None, team: str | None = None
    ) -> UsageReport:
        """A month of usage summed per ``by`` and priced with ``usage.prices``."""
        ...
