"""Alerts through a running gateway: the engine evaluates a period once however many processes
ask, the operations API lists the alerts to a reader, and refuses everyone else.
"""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from apis.process.alerts.schedule import AlertSchedule, period_of, workflow_id
from apis.process.runtime import runtime
from core.db import outbox_events, process_transactions
from policies.alert_rules import AlertsConfig
from tests.apis.process.conftest import OPERATIONS, Process

pytestmark = pytest.mark.asyncio(loop_scope="module")
ALERTS = f"{OPERATIONS}/alerts"
CONFIG = msgspec.convert(
    {"rules": [{"name": "stale-exceptions", "kind": "exception_age", "older_than_hours": 24}]}, AlertsConfig
)


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


async def test_the_engine_evaluates_a_period_once_and_the_operations_api_lists_it(process: Process) -> None:
    await seed_old_exception()
    now = time.time()
    one = AlertSchedule(lambda: CONFIG, clock=lambda: now)
    two = AlertSchedule(lambda: CONFIG, clock=lambda: now)  # another gateway process, same period
    assert await one.tick() is True
    assert await two.tick() is False
    outcome: dict[str, Any] = await runtime().engine.result(workflow_id(period_of(now, CONFIG.evaluate_every_seconds)))
    assert outcome["fired"] == ["stale-exceptions|"]
    async with runtime().database.connect() as connection:
        envelopes = (
            await connection.execute(
                select(outbox_events.c.envelope).where(outbox_events.c.type == "strata.alert.fired")
            )
        ).scalars()
        (fired,) = [json.loads(e) for e in envelopes]

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
