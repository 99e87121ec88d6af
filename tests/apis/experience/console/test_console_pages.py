"""The console as finance people meet it, over HTTP against an in-process gateway with the engine.

An alert the evaluation raised (an exception older than the rule allows) is listed on the
alerts page with its rule, severity, status, since and summary, and on the overview while it
fires; the resolved list does not show it. The header names the operator's client by its name.
A quote-to-cash exception's row names the customer, the deal and the amount beside its id.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import msgspec
import pytest
import pytest_asyncio
from ulid import ULID

from apis.process.alerts.evaluate import evaluate
from core.db import process_transactions
from policies.alert_rules import AlertsConfig
from tests.apis.process.conftest import FAST_PROCESS_SETTINGS, _process, deal
from tests.support.harness import Gateway, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")
OPS_SCOPES = ["process:operations:read", "process:operations:write"]
STALE = {"name": "stale-exceptions", "kind": "exception_age", "older_than_hours": 24, "severity": "critical"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path_factory.mktemp("console-alerts"), **FAST_PROCESS_SETTINGS) as gateway:
        yield gateway


async def _signed_in(gw: Gateway, name: str) -> str:
    """Sign the test client in as a new operations client called ``name``; its client id."""
    record, secret = await gw.oauth.clients.create(name=name, scopes=OPS_SCOPES, tier="internal")
    form = await gw.client.get("/console/sign-in")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert token, form.text
    signed_in = await gw.client.post(
        "/console/sign-in",
        data={"form_token": token.group(1), "client_id": record.client_id, "client_secret": secret},
    )
    assert signed_in.status_code == 303, signed_in.text
    return record.client_id


async def _raise_stale_exception_alert(gw: Gateway) -> None:
    """An exception waiting 26 hours, and one evaluation of a rule for exceptions older than a day."""
    now = time.time()
    engine = gw.app.state.process.database
    async with engine.begin() as connection:
        await connection.execute(
            process_transactions.insert().values(
                id=f"txn_{ULID()}",
                workflow="quote-to-cash",
                business_key="opp-console-alerts",
                state="needs_attention",
                correlation_id="corr-console-alerts",
                input="{}",
                created_at=now - 30 * 3600,
                updated_at=now - 26 * 3600,
                attention_since=now - 26 * 3600,
            )
        )
    config = msgspec.convert({"rules": [STALE]}, AlertsConfig)
    outcome = await evaluate(engine, config, period="console-test:1", now=now, sla_target=lambda _name: 60.0)
    assert outcome.fired == ["stale-exceptions|"]


async def test_alerts_page_lists_the_firing_alert_and_the_header_shows_the_client_name(gw: Gateway) -> None:
    client_id = await _signed_in(gw, "Finance operations")
    empty = await gw.client.get("/console/alerts")
    assert empty.status_code == 200
    assert "No alerts." in empty.text
    assert ">Finance operations</span>" in empty.text  # the name, not the id, in the header
    assert f"operations client {client_id}" in empty.text  # the id is still there, as the title

    await _raise_stale_exception_alert(gw)
    page = await gw.client.get("/console/alerts?status=active")
    assert page.status_code == 200
    row = re.search(r'<tr id="alert-[^"]+" data-rule="stale-exceptions">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    assert 'data-state="firing"' in row.group(1)
    assert "critical" in row.group(1)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row.group(1))  # since
    assert "exception" in row.group(1).lower()  # the summary

    overview = await gw.client.get("/console")
    assert 'data-rule="stale-exceptions"' in overview.text
    resolved = await gw.client.get("/console/alerts?status=resolved")
    assert 'data-rule="stale-exceptions"' not in resolved.text
    # An unknown list is all of them, never an error.
    everything = await gw.client.get("/console/alerts?status=%3Cscript%3E")
    assert everything.status_code == 200 and 'data-rule="stale-exceptions"' in everything.text
    assert "<script>" not in everything.text.split("</header>", 1)[1].split("<table", 1)[0]


async def test_rows_name_the_customer_the_deal_and_the_amount_even_when_the_order_stopped(gw: Gateway) -> None:
    process = await _process(gw)
    [made] = await process.deals(
        {**deal("Closed Period Papers LLC", close_date="2024-03-15"), "name": "Closed Period Papers - platform"}
    )
    submitted = await process.submit(made["opportunity_id"])
    stopped = await process.settled(submitted["transaction"]["id"])
    assert stopped["state"] == "needs_attention"
    # The operations API says what it is about (2 x STRATA-CORE at 1000: 2000 USD) ...
    assert stopped["about"] == {
        "customer": "Closed Period Papers LLC",
        "deal": "Closed Period Papers - platform",
        "amount": "2000.00",
        "currency": "USD",
    }
    # ... and so does the exceptions page, beside the id.
    await _signed_in(gw, "Finance operations (rows)")
    page = await gw.client.get("/console/exceptions")
    row = re.search(rf'<tr id="row-{stopped["id"]}">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    assert "Closed Period Papers LLC" in row.group(1)
    assert "Closed Period Papers - platform" in row.group(1)
    assert "2,000.00 USD" in row.group(1)
    listed = await gw.client.get("/console/transactions")
    assert "Closed Period Papers LLC" in listed.text
