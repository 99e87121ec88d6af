"""Rate limit per client: tier (or per-client override) limits, per-route cost.

The limits of a principal come from :meth:`Governance.limits_for` (its override, else its
tier's), each request costs ``ctx.route.rate_cost``, and every limit must pass: admission
is exact and a rejected request consumes nothing (see :mod:`policies.rate_limit_backends`).

Headers follow the IETF httpapi ratelimit-headers draft (-11, §3 and §4):

* ``RateLimit-Policy: "5-per-second";q=5;w=1, "2000-per-day";q=2000;w=86400``
* ``RateLimit: "5-per-second";r=3;t=1`` (the limit with the least remaining quota)

A rejection is ``429`` with ``Retry-After`` (RFC 9110 §10.2.3) and the problem type
``quota-exceeded`` registered by the draft, naming the ``violated-policies``.

When the backend fails (Redis down or slow), ``on_backend_error`` decides: ``allow``
(fail open, the default: a Redis outage must not take the API down) or ``deny`` (503).
Either way the failure is logged and counted in ``strata_rate_limit_backend_errors_total``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

from prometheus_client import Counter

from policies.base import Policy
from policies.context import Denial, RequestContext
from policies.governance import Governance, RateLimitConfig
from policies.rate_limit_backends import Admission, Limit, RateLimitBackend, parse_limits

QUOTA_EXCEEDED = "https://iana.org/assignments/http-problem-types#quota-exceeded"
"""Problem type for 429 answers, from the ratelimit-headers draft's IANA registration."""

logger = logging.getLogger(__name__)

BACKEND_ERRORS = Counter(
    "strata_rate_limit_backend_errors",
    "Rate-limit backend failures, by policy and by what on_backend_error decided.",
    ["policy", "outcome"],
)


def policy_header(limits: Sequence[Limit]) -> str:
    """``RateLimit-Policy`` value: one ``"<name>";q=<quota>;w=<window>`` item per limit."""
    return ", ".join(f'"{limit.name}";q={limit.amount};w={limit.window}' for limit in limits)


def quota_headers(limits: Sequence[Limit], admission: Admission) -> list[tuple[str, str]]:
    """``RateLimit-Policy`` for all limits and ``RateLimit`` for the most restrictive one."""
    tightest = min(admission.states, key=lambda state: (state.remaining, -state.reset_after))
    return [
        ("RateLimit-Policy", policy_header(limits)),
        ("RateLimit", f'"{tightest.limit.name}";r={tightest.remaining};t={tightest.reset_after}'),
    ]


def quota_exceeded(admission: Admission, who: str) -> Denial:
    """The 429 problem for a rejected admission."""
    violated = [state for state in admission.states if state.exceeded]
    retry_after = max((state.reset_after for state in violated), default=1)
    names = [state.limit.name for state in violated]
    return Denial(
        status=429,
        problem=QUOTA_EXCEEDED,
        title="Quota exceeded",
        detail=f"The {who} exceeded {', '.join(names)}; retry after {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
        extensions={"violated-policies": names},
    )


def backend_unavailable() -> Denial:
    """The 503 problem when the backend failed and ``on_backend_error`` is ``deny``."""
    return Denial(
        status=503,
        problem="rate-limit-unavailable",
        title="Rate limit unavailable",
        detail="The rate-limit store cannot be reached; retry shortly.",
        headers={"Retry-After": "1"},
    )


class RateLimitPolicy(Policy):
    """Per-client quota over one backend (memory or Redis), shared by every route."""

    name: ClassVar[str] = "rate_limit"

    def __init__(self, governance: Governance, backend: RateLimitBackend) -> None:
        self.governance = governance
        self.config: RateLimitConfig = governance.rate_limit
        self.mode = self.config.mode
        self.backend = backend
        self._parsed: dict[tuple[str, ...], tuple[Limit, ...]] = {}

    def limits(self, texts: tuple[str, ...]) -> tuple[Limit, ...]:
        """Parsed limits, cached per distinct tuple (tiers and overrides are few)."""
        parsed = self._parsed.get(texts)
        if parsed is None:
            parsed = self._parsed[texts] = parse_limits(texts)
        return parsed

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """Admit the request against the principal's limits, or deny it with 429."""
        principal = ctx.principal
        if self.mode == "off" or principal is None:
            return None
        limits = self.limits(self.governance.limits_for(principal.client_id, principal.tier))
        if not limits:
            return None
        try:
            admission = await self.backend.admit(principal.client_id, limits, ctx.route.rate_cost)
        except Exception as exc:  # any backend failure is an on_backend_error decision
            return self._backend_failed(ctx, exc)
        ctx.response_headers.extend(quota_headers(limits, admission))
        if admission.allowed:
            return None
        denial = quota_exceeded(admission, f"client {principal.client_id!r}")
        if self.mode == "shadow":
            ctx.shadow_denials.append(self.name)
            return None
        return denial

    def _backend_failed(self, ctx: RequestContext, exc: Exception) -> Denial | None:
        outcome = self.config.on_backend_error
        BACKEND_ERRORS.labels(self.name, outcome).inc()
        logger.warning(
            "rate-limit backend failed (%s: %s); on_backend_error=%s",
            type(exc).__name__,
            exc,
            outcome,
            extra={"request_id": ctx.request_id, "route": ctx.route.label},
        )
        if outcome == "allow" or self.mode == "shadow":
            return None
        return backend_unavailable()
