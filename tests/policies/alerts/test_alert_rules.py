"""The ``alerts`` section of the governance file, from an operator's side: what it accepts, what it refuses."""

from __future__ import annotations

import pytest

from policies.alert_rules import CircuitOpenRule, ExceptionAgeRule, WorkflowSlaRule
from policies.governance import GovernanceError, parse_governance

OWN = "https://gateway.example"
BASE = "tiers: {bronze: {limits: ['5/second']}}\n"


def test_the_shipped_governance_file_declares_one_rule_of_each_kind() -> None:
    from pathlib import Path

    shipped = parse_governance((Path(__file__).parents[3] / "contracts/governance.yaml").read_text(), own_issuer=OWN)
    kinds = {type(rule).__name__ for rule in shipped.alerts.rules}
    assert len(kinds) == 5


def test_rules_of_every_kind_are_read_with_their_defaults() -> None:
    governance = parse_governance(
        BASE
        + """
alerts:
  repeat_every_minutes: 15
  rules:
    - {name: order-sla, kind: workflow_sla, workflow: quote-to-cash, for_minutes: 10}
    - {name: stale, kind: exception_age, older_than_hours: 24, repeat_every_minutes: 240}
    - {name: vendor-down, kind: circuit_open, vendor: netsuite, for_minutes: 5, severity: critical}
""",
        own_issuer=OWN,
    )
    sla, stale, down = governance.alerts.rules
    assert isinstance(sla, WorkflowSlaRule) and (sla.window_minutes, sla.min_completed) == (60.0, 1)
    assert isinstance(stale, ExceptionAgeRule) and governance.alerts.repeat_seconds(stale) == 240 * 60
    assert isinstance(down, CircuitOpenRule) and governance.alerts.repeat_seconds(down) == 15 * 60
    assert down.severity == "critical"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("rules: [{name: x, kind: disk_full}]", "disk_full"),
        ("rules: [{name: x, kind: exception_age}]", "older_than_hours"),
        ("rules: [{name: x, kind: exception_age, older_than_hours: 0}]", "older_than_hours: must be positive"),
        ("rules: [{name: Bad Name, kind: reconciliation_mismatch}]", "name 'Bad Name'"),
        ("rules: [{name: x, kind: circuit_open, for_minutes: -1}]", "for_minutes"),
        ("rules: [{name: x, kind: circuit_open, limit: 3}]", "limit"),
        (
            "rules: [{name: twice, kind: circuit_open}, {name: twice, kind: webhook_dead_letter}]",
            "twice declared twice",
        ),
        ("evaluate_every_seconds: 1", "evaluate_every_seconds"),
        ("evaluate_every_seconds: 45", "evaluate_every_seconds"),  # no cron fires on its periods' boundaries
        ("webhook_url: https://hooks.example.com/x", "webhook_url"),  # a secret setting, not governance
    ],
)
def test_a_wrong_rule_is_refused_at_start_naming_it(section: str, message: str) -> None:
    with pytest.raises(GovernanceError, match=message):
        parse_governance(BASE + "alerts: {" + section + "}\n", own_issuer=OWN)
