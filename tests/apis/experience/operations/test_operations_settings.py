"""The settings and breaker facts the dashboard shows: SLA targets per workflow, when a circuit changed."""

from __future__ import annotations

import pytest

from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig
from core.errors import UpstreamUnavailable
from gateway.settings import SettingsError, load_settings


def test_sla_targets_per_workflow_with_a_default() -> None:
    settings = load_settings(environ={"STRATA_WORKFLOW_SLA_SECONDS": '{"quote-to-cash": 120}'})
    assert settings.sla_seconds("quote-to-cash") == 120
    assert settings.sla_seconds("customer-sync") == 300  # default_sla_seconds
    assert load_settings({"default_sla_seconds": 60}, environ={}).sla_seconds("quote-to-cash") == 60


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("[300]", "not a JSON object"),
        ("{quote-to-cash: 300}", "not a JSON object"),
        ('{"quote-to-cash": 0}', "quote-to-cash: 0"),
        ('{"quote-to-cash": "300"}', "quote-to-cash: '300'"),
        ('{"quote-to-cash": true}', "quote-to-cash: True"),
    ],
)
def test_a_wrong_sla_mapping_is_refused_naming_the_setting(raw: str, named: str) -> None:
    with pytest.raises(SettingsError, match="workflow_sla_seconds") as refused:
        load_settings({"workflow_sla_seconds": raw}, environ={})
    assert named in str(refused.value)


def test_a_circuit_says_since_when_it_is_in_its_state(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = [1_000.0]
    monotonic = [50.0]
    monkeypatch.setattr("apis.system.kit.circuit_breaker.time.time", lambda: wall[0])
    breaker = CircuitBreaker("crm", CircuitBreakerConfig(failure_threshold=2, open_seconds=30), lambda: monotonic[0])
    assert (breaker.state, breaker.since, breaker.failures) == ("closed", 1_000.0, 0)
    wall[0] = 1_010.0
    breaker.record(UpstreamUnavailable("down"))
    assert (breaker.state, breaker.since, breaker.failures) == ("closed", 1_000.0, 1)  # still closed
    wall[0] = 1_020.0
    breaker.record(UpstreamUnavailable("down"))
    assert (breaker.state, breaker.since) == ("open", 1_020.0)
    wall[0], monotonic[0] = 1_060.0, 90.0  # the 30 s pause ended at 1 050
    assert (breaker.state, breaker.since) == ("half_open", 1_050.0)
    breaker.before_call()  # the trial call: half-open still counts from when the pause ended
    assert (breaker.state, breaker.since) == ("half_open", 1_050.0)
    wall[0] = 1_061.0
    breaker.record(None)
    assert (breaker.state, breaker.since, breaker.failures) == ("closed", 1_061.0, 0)
