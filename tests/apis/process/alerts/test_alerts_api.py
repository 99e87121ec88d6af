"""Alerts through a running gateway: rules from the live governance document, the engine
evaluating a period once however many processes ask, the event reaching the configured webhook
through the outbox, the gateway's own circuit breakers, and the operations API listing alerts
to a reader and refusing everyone else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
import yaml
from sqlalchemy import select

from apis.process.alerts.schedule import NAME, alert_reports, alerts_tick, period_of, workflow_id
from apis.process.runtime import runtime
from apis.process.schedules import apply_schedules, schedule_names
from core.db import outbox_events, process_transactions
from core.errors import UpstreamUnavailable
from core.settings import PROJECT_ROOT
from tests.apis.experience.partner_webhooks.receiver import Receiver
from tests.apis.process.conftest import FAST_PROCESS_SETTINGS, OPERATIONS, Process, _process
from tests.support.harness import running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")
ALERTS = f"{OPERATIONS}/alerts"
GOVERNANCE = "/gateway/v1/governance"
STALE = {"name": "stale-exceptions", "kind": "exception_age", "older_than_hours": 24}
VENDOR_DOWN = {"name": "vendor-down", "kind": "circuit_open", "vendor": "netsuite", "severity": "critical"}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """The operator's alert webhook, on this machine."""
    server = Receiver().start()
    try:
        yield server
    finally:
        server.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def process(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> AsyncIterator[Process]:
    """One gateway with the engine, sending alerts to ``receiver`` (loopback allowed for the test)."""
    settings = {**FAST_PROCESS_SETTINGS, "allow_loopback_destinations": True, "alert_webhook_url": receiver.url}
    async with running_gateway(tmp_path_factory.mktemp("alerts"), **settings) as gw:
        await engine_ticks_off()
        yield await _process(gw)


async def engine_ticks_off() -> None:
    """Remove the engine's alert schedule once the gateway's loop has applied it: the tests fire
    each period's tick themselves (the engine's ticks at minute boundaries would evaluate the
    current period first, with whatever rules are live then)."""
    deadline = time.monotonic() + 10
    while NAME not in await schedule_names():
        assert time.monotonic() < deadline, "the alert loop did not apply the schedule"
        await asyncio.sleep(0.05)
    apply_schedules({NAME: None})


async def use_rules(process: Process, *rules: dict[str, Any]) -> None:
    """Replace the gateway's governance document (hot reload) with these alert rules."""
    document = yaml.safe_load((PROJECT_ROOT / "contracts" / "governance.yaml").read_text())
    document["alerts"] = {"rules": list(rules)}
    admin = await process.gw.bearer("gateway:governance:admin", tier="internal")
    answer = await process.gw.client.put(GOVERNANCE, json=document, headers=admin)
    assert answer.status_code == 200, answer.text


class Tick:
    """One period at ``now`` as a gateway process sees it: its loop reports its breakers (the loop
    the composition root builds: live rules, own breakers), then the engine fires the period's tick."""

    def __init__(self, process: Process, now: float) -> None:
        self.process = process
        self.now = now

    async def tick(self) -> bool:
        """Whether this tick started the period's evaluation."""
        state = self.process.gw.app.state
        reports = alert_reports(
            runtime(),
            lambda: state.governance.alerts,
            state.components.circuit_states,
            apply=lambda schedule: None,  # the engine's schedule stays off (engine_ticks_off)
            clock=lambda: self.now,
        )
        await reports.tick()
        # The tick's workflow, as the engine's scheduler runs it (here under an id of its own each time).
        return await alerts_tick(dt.datetime.fromtimestamp(self.now, dt.UTC), 60)


def schedule(process: Process, now: float) -> Tick:
    """This process's alert tick at ``now``."""
    return Tick(process, now)


async def fired_events() -> list[dict[str, Any]]:
    async with runtime().database.connect() as connection:
        query = select(outbox_events.c.envelope).where(outbox_events.c.type == "strata.alert.fired")
        return [json.loads(e) for e in (await connection.execute(query)).scalars()]


async def seed_old_exception() -> None:
    now = time.time()
    async with runtime().database.begin() as connection:
        await connection.execute(
            process_transactions.insert().values(
                id="txn_01JALERTS0000000000000000",
                workflow="quote-to-cash",
                business_key="opp-alerts-1",
                state="needs_attention",
                correlation_id="corr-alerts",
                input="{}",
                created_at=now - 30 * 3600,
                updated_at=now - 26 * 3600,
                attention_since=now - 26 * 3600,
            )
        )


async def test_a_period_is_evaluated_once_announced_to_the_webhook_and_listed(
    process: Process, receiver: Receiver
) -> None:
    await use_rules(process, STALE)
    await seed_old_exception()
    now = time.time()
    assert await schedule(process, now).tick() is True
    assert await schedule(process, now).tick() is False  # another gateway process, same period
    outcome = await runtime().engine.result(workflow_id(period_of(now, 60)))
    assert outcome["fired"] == ["stale-exceptions|"]
    (fired,) = await fired_events()

    deadline = time.monotonic() + 10
    while not [r for r in receiver.requests if r.headers.get("ce-id") == fired["id"]]:
        assert time.monotonic() < deadline, "the alert did not reach the webhook"
        await asyncio.sleep(0.05)
    (request,) = receiver.requests
    assert json.loads(request.body)["data"]["rule"] == "stale-exceptions"

    listed = await process.gw.client.get(ALERTS, params={"status": "firing"}, headers=process.reader)
    assert listed.status_code == 200, listed.text
    (alert,) = listed.json()["items"]
    assert alert["id"] == fired["data"]["alert_id"]
    assert (alert["rule"], alert["kind"], alert["status"], alert["notifications"]) == (
        "stale-exceptions",
        "exception_age",
        "firing",
        1,
    )
    assert alert["detail"]["exceptions"] == 1
    resolved = await process.gw.client.get(ALERTS, params={"status": "resolved"}, headers=process.reader)
    assert resolved.json()["items"] == []


async def test_an_open_circuit_of_this_gateway_fires_its_rule(process: Process) -> None:
    await use_rules(process, VENDOR_DOWN)
    breaker = process.gw.app.state.components.circuit_breaker("netsuite")
    for _ in range(breaker.config.failure_threshold):
        breaker.before_call()
        breaker.record(UpstreamUnavailable("netsuite answered 503"))
    try:
        now = time.time() + 3600  # a later period than the other tests'
        assert await schedule(process, now).tick() is True
        outcome = await runtime().engine.result(workflow_id(period_of(now, 60)))
        assert outcome["fired"] == ["vendor-down|netsuite"]
    finally:
        breaker.record(None)  # closed again
    listed = await process.gw.client.get(ALERTS, params={"rule": "vendor-down"}, headers=process.reader)
    (alert,) = listed.json()["items"]
    assert (alert["subject"], alert["severity"], alert["detail"]["processes"]) == ("netsuite", "critical", 1)


async def test_alerts_are_refused_without_the_operations_read_scope(process: Process) -> None:
    submitter = await process.gw.client.get(ALERTS, headers=process.submitter)  # process:quote-to-cash:write
    assert submitter.status_code == 403
    assert submitter.headers["content-type"].startswith("application/problem+json")
    assert "process:operations:read" in submitter.headers["www-authenticate"]
    crm_reader = await process.gw.bearer("system:crm:read system:crm:pii")
    assert (await process.gw.client.get(ALERTS, headers=crm_reader)).status_code == 403
    assert (await process.gw.client.get(ALERTS)).status_code == 401


async def test_an_unknown_status_filter_is_a_problem_naming_it(process: Process) -> None:
    answer = await process.gw.client.get(ALERTS, params={"status": "burning"}, headers=process.reader)
    assert answer.status_code == 422
    assert [e.get("name") for e in answer.json()["errors"]] == ["status"]
