"""The interface of platform as code: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it;
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from typing import Protocol

from shipyard.platform_code.models import Desired, Plan


class PlatformCodeAPI(Protocol):
    """What ``PlatformCodeService`` offers both in-process and over HTTP."""

    def plan(self, desired: Desired, *, prune: bool = False) -> Plan:
        """The saved plan of what ``apply`` would change to reach ``desired``."""
        ...

    def apply(self, plan: Plan) -> Plan:
        """Carry out a saved plan (refused once the platform has changed since)."""
        ...
