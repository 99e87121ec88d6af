"""Rate limit per client: tier (or per-client override) limits, per-route cost.

The limits of a principal: for a client of the embedded server, its live record's
``rate_limits`` (set through the management API), else the governance file's override,
else its live tier's; for other principals the file's override, else the token's tier.
Each request costs ``ctx.route.rate_cost``, and every limit must pass: admission is exact
and a rejected request consumes nothing (see :mod:`policies.rate_limit_backends`).

Every admission also meters :data:`USAGE_TODAY`, a per-client counter of units admitted in
the current UTC day that never refuses (same script, same round trip on Redis): the
management API's usage report reads it with a cost-0 admission, which consumes nothing.

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

from collections.abc import Callable, Sequence
from typing import ClassVar

import structlog
from prometheus_client import Counter

from policies.base import Policy, RequestHookNow
from policies.context import Denial, Principal, RequestContext
from policies.governance import Governance, RateLimitConfig
from policies.rate_limit_backends import (
    Admission,
    Limit,
    LimitState,
    MemoryRateLimitBackend,
    RateLimitBackend,
    parse_limits,
)
from policies.routes import CompiledRoute

QUOTA_EXCEEDED = "https://iana.org/assignments/http-problem-types#quota-exceeded"
"""Problem type for 429 answers, from the ratelimit-headers draft's IANA registration."""

logger = structlog.get_logger(__name__)

USAGE_TODAY = Limit(name="usage-today", amount=10**15, window=86400)
"""Units admitted per client in the current UTC day; metered, never refusing, never in headers."""

LiveClientSettings = Callable[[Principal], "tuple[str, tuple[str, ...] | None] | None"]
"""``principal`` → ``(tier, rate_limits override)`` from the live client record, or None."""

BACKEND_ERRORS = Counter(
    "strata_rate_limit_backend_errors",
    "Rate-limit backend failures, by policy and by what on_backend_error decided.",
    ["policy", "outcome"],
)


def policy_header(limits: Sequence[Limit]) -> str:
    """``RateLimit-Policy`` value: one ``"<name>";q=<quota>;w=<window>`` item per limit."""
    return ", ".join(f'"{limit.name}";q={limit.amount};w={limit.window}' for limit in limits)


def _tightness(state: LimitState) -> tuple[int, int]:
    """Sort key of the most restrictive limit: least remaining, then the longest wait."""
    return state.remaining, -state.reset_after


def quota_headers(limits: Sequence[Limit], admission: Admission, policy: str | None = None) -> list[tuple[str, str]]:
    """``RateLimit-Policy`` for all limits and ``RateLimit`` for the most restrictive one.

    ``policy`` is ``policy_header(limits)`` when the caller has it already.
    """
    states = admission.states
    tightest = states[0] if len(states) == 1 else min(states, key=_tightness)
    return [
        ("RateLimit-Policy", policy if policy is not None else policy_header(limits)),
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

    def applies_to(self, route: CompiledRoute) -> bool:
        """Secured operations only: a public one has no client to count against."""
        return bool(route.security)

    def __init__(
        self, governance: Governance, backend: RateLimitBackend, live_client: LiveClientSettings | None = None
    ) -> None:
        self.governance = governance
        self.config: RateLimitConfig = governance.rate_limit
        self.mode = self.config.mode
        self.backend = backend
        self.live_client = live_client
        self._parsed: dict[tuple[str, ...], tuple[tuple[Limit, ...], tuple[Limit, ...], str]] = {}
        """limit texts → (limits, limits + today's meter, their ``RateLimit-Policy`` value)."""

    def reconfigure(self, governance: Governance) -> None:
        """New tiers, per-client overrides and mode; counters carry over (keys are limit names)."""
        self.governance, self.config, self.mode = governance, governance.rate_limit, governance.rate_limit.mode

    def limits(self, texts: tuple[str, ...]) -> tuple[Limit, ...]:
        """Parsed limits, cached per distinct tuple (tiers and overrides are few)."""
        return self._metered(texts)[0]

    def _metered(self, texts: tuple[str, ...]) -> tuple[tuple[Limit, ...], tuple[Limit, ...], str]:
        parsed = self._parsed.get(texts)
        if parsed is None:
            limits = parse_limits(texts)
            parsed = self._parsed[texts] = (limits, (*limits, USAGE_TODAY), policy_header(limits))
        return parsed

    def limit_texts(self, principal: Principal) -> tuple[str, ...]:
        """The limits that apply to ``principal`` now (see the module docstring)."""
        live = self.live_client(principal) if self.live_client is not None else None
        if live is None:
            return self.governance.limits_for(principal.client_id, principal.tier)
        tier, override = live
        return override or self.governance.limits_for(principal.client_id, tier)

    async def usage(self, principal: Principal) -> Admission:
        """The principal's limits and today's usage, last, without consuming anything."""
        return await self.backend.admit(principal.client_id, self._metered(self.limit_texts(principal))[1], 0)

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """Admit the request against the principal's limits, or deny it with 429."""
        principal = ctx.principal
        if self.mode == "off" or principal is None:
            return None
        limits, metered, policy = self._metered(self.limit_texts(principal))
        try:
            metered_admission = await self.backend.admit(principal.client_id, metered, ctx.route.rate_cost)
        except Exception as exc:  # any backend failure is an on_backend_error decision
            return self._backend_failed(ctx, exc)
        return self._decide(ctx, principal, limits, policy, metered_admission)

    def request_hook_now(self) -> RequestHookNow | None:
        """:meth:`on_request_now` with the in-memory backend (no I/O); Redis needs the coroutine."""
        return self.on_request_now if isinstance(self.backend, MemoryRateLimitBackend) else None

    def on_request_now(self, ctx: RequestContext) -> Denial | None:
        """:meth:`on_request` with the in-memory backend's synchronous admission."""
        principal = ctx.principal
        if self.mode == "off" or principal is None:
            return None
        backend = self.backend
        assert isinstance(backend, MemoryRateLimitBackend)  # see request_hook_now
        limits, metered, policy = self._metered(self.limit_texts(principal))
        try:
            metered_admission = backend.admit_now(principal.client_id, metered, ctx.route.rate_cost)
        except Exception as exc:  # as in on_request
            return self._backend_failed(ctx, exc)
        return self._decide(ctx, principal, limits, policy, metered_admission)

    def _decide(
        self,
        ctx: RequestContext,
        principal: Principal,
        limits: tuple[Limit, ...],
        policy: str,
        metered_admission: Admission,
    ) -> Denial | None:
        if not limits:
            return None
        admission = Admission(metered_admission.allowed, metered_admission.states[:-1])
        ctx.response_headers.extend(quota_headers(limits, admission, policy))
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
            request_id=ctx.request_id,
            route=ctx.route.label,
        )
        if outcome == "allow" or self.mode == "shadow":
            return None
        return backend_unavailable()
