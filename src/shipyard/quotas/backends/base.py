"""The rate limiter seam: count one request against a per-second limit."""

from __future__ import annotations

from abc import ABC, abstractmethod


class RateLimiter(ABC):
    """Admits at most ``per_second`` hits of one key in any one-second window.

    Implementations must be safe to call from many threads, and, when they say
    ``shared``, from many processes and hosts at once (the count is global).
    """

    #: True when every process that points at the same storage shares the count.
    shared: bool = False
    #: True when "at most N in any one second" holds exactly (a moving window); False
    #: when the admitted rate may pass N by a bounded amount (leased batches, ADR 0043).
    exact: bool = True

    @abstractmethod
    def hit(self, key: str, per_second: int) -> float | None:
        """Count one request of ``key``.

        Returns:
            ``None`` when admitted; else the seconds until a request would be (> 0),
            and the refused request is not counted.

        Raises:
            BackendUnavailable: the storage cannot be reached.
        """

    @abstractmethod
    def reset(self, key: str, per_second: int) -> None:
        """Forget the hits of ``key`` (an admin lifted or changed its quota)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
