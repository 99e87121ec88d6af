"""Circuit breakers: what opens them, what they refuse, how they close again, and where they show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig, CircuitOpen
from core.errors import NotFound, UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable
from tests.support.harness import Gateway, problem, running_gateway


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker("vendor-x", CircuitBreakerConfig(failure_threshold=threshold, open_seconds=10), clock)


def _outage(breaker: CircuitBreaker, error: Exception) -> None:
    breaker.before_call()
    breaker.record(error)


def test_consecutive_outages_open_it_and_answers_do_not() -> None:
    clock = Clock()
    breaker = _breaker(clock)
    for error in (UpstreamUnavailable("5xx"), UpstreamTimeout("slow")):
        _outage(breaker, error)
    _outage(breaker, UpstreamRateLimited("429"))  # throttling is an answer: the count starts again
    _outage(breaker, NotFound("404"))
    _outage(breaker, UpstreamUnavailable("5xx"))
    _outage(breaker, UpstreamUnavailable("5xx"))
    assert breaker.state == "closed"
    _outage(breaker, UpstreamUnavailable("5xx"))
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    assert refused.value.status == 503 and refused.value.retry_after == 10


def test_after_the_pause_one_trial_call_decides() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1)
    _outage(breaker, UpstreamUnavailable("5xx"))
    clock.now += 10
    assert breaker.state == "half_open"
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # others wait for it
    breaker.record(UpstreamTimeout("still down"))
    assert breaker.state == "open" and breaker.retry_in() == 10
    clock.now += 10
    breaker.before_call()
    breaker.record(None)
    assert breaker.state == "closed"
    breaker.before_call()  # closed: every call goes through again
    breaker.before_call()


def test_a_cancelled_trial_frees_the_slot() -> None:
    clock = Clock()
    breaker = _breaker(clock, threshold=1)
    _outage(breaker, UpstreamUnavailable("5xx"))
    clock.now += 10
    breaker.before_call()  # the trial, then cancelled before it could record an answer
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # while it runs, the slot is taken
    breaker.abandon()
    assert breaker.state == "half_open"
    breaker.before_call()  # the freed slot admits the next trial...
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # ...and only one
    breaker.record(None)
    assert breaker.state == "closed"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state") as gateway:
        yield gateway


async def test_an_open_circuit_is_a_503_with_retry_after_and_shows_in_readiness(gw: Gateway) -> None:
    reader = await gw.bearer("system:crm:read")
    breaker = gw.app.state.components.circuit_breaker("salesforce")
    ready = (await gw.client.get("/health/ready")).json()
    assert ready["vendors"]["salesforce"]["circuit"] == "closed"
    for _ in range(breaker.config.failure_threshold):
        breaker.before_call()
        breaker.record(UpstreamUnavailable("down"))
    response = await gw.client.get("/system/crm/v1/accounts", headers=reader)
    assert response.status_code == 503
    assert problem(response)["type"].endswith("upstream-circuit-open")
    assert int(response.headers["retry-after"]) >= 1
    ready = await gw.client.get("/health/ready")
    assert ready.status_code == 200  # a vendor outage does not take the gateway out of rotation
    assert ready.json()["vendors"]["salesforce"]["circuit"] == "open"
    metrics = (await gw.client.get("/metrics")).text
    assert 'strata_circuit_state{vendor="salesforce"} 2.0' in metrics
