"""The remote SDK: the same service interfaces as ``Platform``, over HTTP.

Errors come back as the same typed exceptions, mapped through an allow-list of
wire codes (``shipyard.errors.ERRORS_BY_CODE``), never by importing names from
the wire.
"""

from __future__ import annotations

from shipyard.client.platform import RemotePlatform

__all__ = ["RemotePlatform"]
