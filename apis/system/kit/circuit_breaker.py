"""A circuit breaker per vendor: stop calling a vendor that is down, try again after a pause.

States, per vendor and per gateway process::

    closed ──(failure_threshold consecutive outages)──▶ open ──(open_seconds)──▶ half_open
      ▲                                                  ▲                          │
      └──────────────(the trial call succeeds)───────────┼──────────────────────────┤
                                                         └──(the trial call fails)──┘

What counts as an outage is the error tree's "the vendor is not answering" part:
:class:`~core.errors.UpstreamTimeout` and :class:`~core.errors.UpstreamUnavailable`
(5xx, refused or dropped connections). A 429 is the vendor answering "slow down", and any
4xx means it is up: neither opens the circuit (and a 4xx resets the count). While open, a
call fails at once with :class:`CircuitOpen` — a 503 problem with ``Retry-After`` set to
the rest of the pause — instead of waiting for a timeout on every request. In half-open,
one trial call goes through and the others are refused until it returns.

The state is per process on purpose (like Envoy's outlier detection): each process learns
about a vendor from its own calls, and there is no shared store on the request path. The
state of every breaker is in ``/health/ready`` (informational: a vendor outage does not take
a gateway instance out of its load balancer, since every other API still works) and in
``strata_circuit_state{vendor}`` (0 closed, 1 half-open, 2 open).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import msgspec
from prometheus_client import Counter, Gauge

from core.errors import UpstreamTimeout, UpstreamUnavailable

CircuitState = Literal["closed", "open", "half_open"]
_STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}

CIRCUIT_STATE = Gauge("strata_circuit_state", "Vendor circuit: 0 closed, 1 half-open, 2 open", ["vendor"])
CIRCUIT_TRANSITIONS = Counter("strata_circuit_transitions", "Vendor circuit state changes", ["vendor", "state"])


class CircuitBreakerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When a vendor's circuit opens and for how long."""

    failure_threshold: int = 5
    """Consecutive outages (timeouts, 5xx, connection failures) that open the circuit."""
    open_seconds: float = 30.0
    """How long the circuit stays open before one trial call is let through."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.open_seconds <= 0:
            raise ValueError("failure_threshold must be at least 1 and open_seconds positive")


DEFAULT_CIRCUIT_BREAKER_CONFIG = CircuitBreakerConfig()


class CircuitOpen(UpstreamUnavailable):
    """The vendor's circuit is open: the call was not made."""

    problem = "upstream-circuit-open"
    title = "Upstream unavailable (circuit open)"


class CircuitBreaker:
    """The breaker of one vendor in this process."""

    def __init__(
        self,
        vendor: str,
        config: CircuitBreakerConfig = DEFAULT_CIRCUIT_BREAKER_CONFIG,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vendor = vendor
        self.config = config
        self._clock = clock
        self._state: CircuitState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._changed_at = time.time()  # wall clock: shown to operators, never used for timing
        CIRCUIT_STATE.labels(vendor).set(0)

    @property
    def state(self) -> CircuitState:
        """The state now (an open circuit whose pause is over reads as half-open)."""
        if self._state == "open" and self._clock() - self._opened_at >= self.config.open_seconds:
            return "half_open"
        return self._state

    @property
    def since(self) -> float:
        """Wall-clock time (epoch seconds) the current state began (the breaker's creation at first)."""
        if self._state == "open" and self.state == "half_open":
            return self._changed_at + self.config.open_seconds  # the pause ended: half-open from then
        return self._changed_at

    @property
    def failures(self) -> int:
        """Consecutive outages counted since the last success."""
        return self._failures

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a trial call through (0 when not open)."""
        if self.state != "open":
            return 0.0
        return max(0.0, self.config.open_seconds - (self._clock() - self._opened_at))

    def before_call(self) -> None:
        """Let the call through, or raise :class:`CircuitOpen`."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and not self._trial_in_flight:
            self._set("half_open")
            self._trial_in_flight = True
            return
        retry_after = max(1.0, self.retry_in()) if state == "open" else 1.0
        error = CircuitOpen(f"{self.vendor} is unavailable; its circuit is open, retry in {retry_after:.0f} s")
        error.retry_after = retry_after
        raise error

    def record(self, error: BaseException | None) -> None:
        """What the call that :meth:`before_call` let through ended with (None: a success)."""
        self._trial_in_flight = False
        if not isinstance(error, UpstreamTimeout | UpstreamUnavailable):
            # A success, or an answer (4xx, 429): the vendor is up.
            self._failures = 0
            if self._state != "closed":
                self._set("closed")
            return
        self._failures += 1
        if self._state == "half_open" or self._failures >= self.config.failure_threshold:
            self._opened_at = self._clock()
            self._set("open")

    def abandon(self) -> None:
        """The call ended without an answer either way (cancelled, or a bug): change nothing,
        but free the half-open trial slot, or the circuit would refuse every call for good."""
        self._trial_in_flight = False

    def _set(self, state: CircuitState) -> None:
        if state != self._state:
            CIRCUIT_TRANSITIONS.labels(self.vendor, state).inc()
            # An open circuit turned half-open when its pause ended, not at the trial call.
            self._changed_at = self.since if self._state == "open" and state == "half_open" else time.time()
        self._state = state
        CIRCUIT_STATE.labels(self.vendor).set(_STATE_VALUE[state])

    def describe(self) -> dict[str, object]:
        """For ``/health/ready``."""
        return {"circuit": self.state, "retry_in_seconds": round(self.retry_in(), 1)}
