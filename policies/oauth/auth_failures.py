"""Limits on failed client authentication, per client id and per source address.

A brute-force attempt on one client's secret, or one address trying many clients, is
stopped after :data:`DEFAULT_FAILURE_LIMIT` failures in a moving window; further requests
get 429 with ``Retry-After`` before any credential check. Only failures count, so a
well-behaved client is never throttled here. In memory, per process (the governance
pipeline's shared limits do not cover these routes).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

DEFAULT_FAILURE_LIMIT = "10/minute"


class AuthFailureLimiter:
    """Counts authentication failures; says when a client id or source must wait."""

    def __init__(self, limit: str = DEFAULT_FAILURE_LIMIT) -> None:
        self._item: RateLimitItem = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, client_id: str | None, source: str) -> int | None:
        """Seconds to wait if the client id or the source has used up its failures, else None."""
        waits = []
        for key in self._keys(client_id, source):
            if not self._limiter.test(self._item, *key):
                reset = self._limiter.get_window_stats(self._item, *key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def record_failure(self, client_id: str | None, source: str) -> None:
        """Count one failed authentication against the client id and the source."""
        for key in self._keys(client_id, source):
            self._limiter.hit(self._item, *key)

    @staticmethod
    def _keys(client_id: str | None, source: str) -> list[tuple[str, str]]:
        keys = [("source", source)]
        if client_id:
            keys.append(("client", client_id[:64]))
        return keys
