"""Pre-authentication limit per source address, before any signature check.

Its job is to make a flood of bad or forged tokens cost little: it runs before the JWT
verification (~50-100 µs each) and answers 429 from a dict lookup (~1-2 µs). That is why
in-process memory is the right default even when Redis is configured: a Redis round trip
(~200 µs) would cost more than the check it protects, and a Redis outage would then hit
every request. Each process counts on its own, so with N workers an address gets up to N
times the limit: a coarse flood guard, not a quota (quotas are :mod:`policies.rate_limit`).
"""

from __future__ import annotations

from typing import ClassVar

from policies.base import Policy, RequestHookNow
from policies.context import Denial, RequestContext
from policies.governance import Governance, PreAuthLimitConfig
from policies.rate_limit import quota_exceeded
from policies.rate_limit_backends import MemoryRateLimitBackend, parse_limits

PRE_AUTH_COST = 1


class PreAuthLimitPolicy(Policy):
    """Counts every request per ``ctx.source`` in process memory; 429 above the limit."""

    name: ClassVar[str] = "pre_auth_limit"

    def __init__(self, config: PreAuthLimitConfig, backend: MemoryRateLimitBackend | None = None) -> None:
        self.config = config
        self.mode = config.mode
        self.limits = parse_limits(config.limits)
        self.backend = backend or MemoryRateLimitBackend()

    def reconfigure(self, governance: Governance) -> None:
        """New limits per source address (counters carry over)."""
        config = governance.pre_auth_limit
        self.config, self.mode, self.limits = config, config.mode, parse_limits(config.limits)

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """See :meth:`on_request_now` (no I/O: the pipeline calls that one)."""
        return self.on_request_now(ctx)

    def request_hook_now(self) -> RequestHookNow:
        """:meth:`on_request_now`: this hook does no I/O."""
        return self.on_request_now

    def on_request_now(self, ctx: RequestContext) -> Denial | None:
        """Admit the request for its source address or deny it with 429."""
        if self.mode == "off" or not self.limits:
            return None
        # Synchronous on purpose: no await, no I/O, nothing to fail open or closed.
        if self.backend.consume(ctx.source, self.limits, PRE_AUTH_COST):
            return None
        # Refused: the full admission (which consumes nothing, as it fails again) gives
        # the per-limit report for Retry-After and the problem body.
        admission = self.backend.admit_now(ctx.source, self.limits, PRE_AUTH_COST)
        if self.mode == "shadow":
            ctx.shadow_denials.append(self.name)
            return None
        return quota_exceeded(admission, "source address")
