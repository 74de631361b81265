"""``--limit N`` and ``--all`` over a paged service call: kept in ``_common`` (this name stays)."""

from shipyard.cli._common import AllOption, LimitOption, fetch, list_command, say_if_more

__all__ = ["AllOption", "LimitOption", "fetch", "list_command", "say_if_more"]
