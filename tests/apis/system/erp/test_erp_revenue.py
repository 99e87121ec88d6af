"""Deferred revenue through the ERP system API, on EVERY vendor in ERP_VENDORS.

An invoice line billed over a service period is recognised ratably by month by the ERP (its own
feature, or the deferral journal entries the connector posts), and ``GET /recognized-revenue``
reads back what the ERP booked per month. Business Central recognises by the item's deferral
template (12 months from the posting date), since its invoice lines carry no service period.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apis.canonical import monthly_shares
from tests.apis.system.erp.conftest import ERP, Erp, canonical_data, invoice_body
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEMPLATE_MONTHS = {"business-central": 12}
"""ERPs whose schedule is the item's template (months from the posting date), not the line's period."""


def _expected(erp: Erp, amount: Decimal, start: dt.date, end: dt.date) -> dict[str, Decimal]:
    months = TEMPLATE_MONTHS.get(erp.vendor)
    if months is not None:
        year, month = divmod(start.month - 1 + months, 12)
        end = start.replace(year=start.year + year, month=month + 1) - dt.timedelta(days=1)
    return dict(monthly_shares(amount, start, end))


async def _revenue(erp: Erp, period: str, customer_id: str) -> list[dict[str, object]]:
    response = await erp.client.get(
        f"{ERP}/recognized-revenue", params={"period": period, "customer_id": customer_id}, headers=erp.reader
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_a_service_period_is_recognised_ratably_by_month(erp: Erp) -> None:
    data = await canonical_data(erp, "cus_erp_revenue")
    start = data.open_day
    end = start + dt.timedelta(days=89)
    body = invoice_body(data, "inv-revenue-1", day=start)
    body["lines"][0] |= {"service_start": start.isoformat(), "service_end": end.isoformat()}
    posted = await erp.post("/invoices", body)
    assert posted.status_code == 201, posted.text
    assert (await erp.post("/invoices", body)).status_code == 200  # a repeat posts no second schedule

    expected = _expected(erp, Decimal("2400.00"), start, end)
    seen: dict[str, Decimal] = {}
    for period in expected:
        items = await _revenue(erp, period, data.customer_id)
        assert {i["customer_id"] for i in items} == {data.customer_id}
        assert {i["invoice_id"] for i in items} == {posted.json()["id"]}, items
        seen[period] = sum((Decimal(str(i["amount"]["amount"])) for i in items), Decimal(0))  # type: ignore[index]
    assert seen == expected
    assert sum(seen.values()) == Decimal("2400.00")
    before = start.replace(day=1) - dt.timedelta(days=1)
    assert await _revenue(erp, f"{before.year:04d}-{before.month:02d}", data.customer_id) == []


async def test_a_line_without_a_service_period_is_not_deferred(erp: Erp) -> None:
    data = await canonical_data(erp, "cus_erp_revenue_once")
    body = invoice_body(data, "inv-revenue-once")
    if erp.vendor in TEMPLATE_MONTHS:  # BC defers by the item: an item without a deferral template
        items = await erp.client.get(f"{ERP}/items", params={"code": "STRATA-ONBOARDING"}, headers=erp.reader)
        body["lines"][0]["item_id"] = items.json()["items"][0]["id"]
    assert (await erp.post("/invoices", body)).status_code == 201
    period = f"{data.open_day.year:04d}-{data.open_day.month:02d}"
    assert await _revenue(erp, period, data.customer_id) == []


async def test_bad_service_periods_and_months_name_the_field(erp: Erp) -> None:
    data = await canonical_data(erp)
    body = invoice_body(data, "inv-revenue-bad")
    body["lines"][0] |= {"service_start": "2026-03-01", "service_end": "2026-02-28"}
    reversed_period = await erp.post("/invoices", body)
    assert reversed_period.status_code == 422, reversed_period.text
    assert [e["pointer"] for e in problem(reversed_period)["errors"]] == ["/lines/0/service_end"]
    body["lines"][0] = {k: v for k, v in body["lines"][0].items() if k != "service_end"}
    half = await erp.post("/invoices", body)
    assert half.status_code == 422 and problem(half)["errors"][0]["pointer"] == "/lines/0/service_end"
    for month in ("2026-13", "2026-1", "0000-01", "x" * 5000):
        bad = await erp.client.get(f"{ERP}/recognized-revenue", params={"period": month}, headers=erp.reader)
        assert bad.status_code == 422, bad.text
        assert problem(bad)["errors"][0]["name"] == "period"
        assert "x" * 1000 not in bad.text  # never the whole value echoed


async def test_reading_revenue_needs_the_erp_read_scope_and_no_audience_binding(erp: Erp) -> None:
    """Every customer's revenue is in the answer: only an internal ERP reader gets it — not another
    API's client, not a partner's or a customer's token even holding ``system:erp:read``."""
    url, month = f"{ERP}/recognized-revenue", {"period": "2026-01"}
    requests_before = (await erp.counts())["requests"]
    assert (await erp.client.get(url, params=month)).status_code == 401
    other = await erp.gw.bearer("system:crm:read", tier="internal")
    denied = await erp.client.get(url, params=month, headers=other)
    assert denied.status_code == 403 and problem(denied)["type"].endswith("insufficient-scope")
    partner = await erp.gw.bearer("system:erp:read", partner_id="partner-northwind")
    assert (await erp.client.get(url, params=month, headers=partner)).status_code == 403
    customer = await erp.gw.bearer("system:erp:read", customer_id="001Qy000000000HIAQ")
    assert (await erp.client.get(url, params=month, headers=customer)).status_code == 403
    assert (await erp.counts())["requests"] == requests_before  # none of them reached the ERP
