"""The ERP system API, end to end through the governed app, for EVERY vendor in ERP_VENDORS.

Written in canonical terms only (plus the sandboxes' shared control API), so the same tests
prove that NetSuite and Business Central are interchangeable by ``STRATA_ERP_VENDOR``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig
from gateway.vendors import VENDOR_BY_NAME
from tests.apis.system.erp.conftest import DEADLINE_SETTINGS, ERP, Data, Erp, MakeErp, canonical_data, invoice_body
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_master_data_reads(erp: Erp) -> None:
    entities = await erp.client.get(f"{ERP}/legal-entities", headers=erp.reader)
    assert entities.status_code == 200, entities.text
    assert {"EUR", "USD", "GBP"} <= {e["currency"] for e in entities.json()["items"]}
    periods = await erp.client.get(f"{ERP}/accounting-periods", params={"year": 2026}, headers=erp.reader)
    items = periods.json()["items"]
    assert len(items) == 12 and all(p["start_date"].startswith("2026-") for p in items)
    assert [p["start_date"] for p in items] == sorted(p["start_date"] for p in items)
    first = await erp.client.get(f"{ERP}/items", params={"limit": 3}, headers=erp.reader)
    assert len(first.json()["items"]) == 3 and first.json()["next_cursor"]
    assert first.headers["link"].endswith('rel="next"')
    second = await erp.client.get(
        f"{ERP}/items", params={"limit": 3, "cursor": first.json()["next_cursor"]}, headers=erp.reader
    )
    assert {i["id"] for i in first.json()["items"]}.isdisjoint({i["id"] for i in second.json()["items"]})
    core = (await erp.client.get(f"{ERP}/items", params={"code": "STRATA-CORE"}, headers=erp.reader)).json()["items"]
    assert [i["code"] for i in core] == ["STRATA-CORE"]
    one = await erp.client.get(f"{ERP}/items/{core[0]['id']}", headers=erp.reader)
    assert one.json() == core[0]


async def test_customer_upsert_get_and_search(erp: Erp) -> None:
    body = {"name": "Upsert Probe AG", "currency": "EUR", "tax_id": "DE811111111", "payment_terms": "net_30"}
    path = f"{ERP}/customers/by-external-id/cus_upsert_probe"
    created = await erp.client.put(path, json=body, headers=erp.writer)
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["external_id"] == "cus_upsert_probe" and customer["payment_terms"] == "net_30"
    assert created.headers["location"] == f"{ERP}/customers/{customer['id']}"
    updated = await erp.client.put(path, json={**body, "name": "Upsert Probe AG (renamed)"}, headers=erp.writer)
    assert updated.status_code == 200 and updated.json()["id"] == customer["id"]
    fetched = (await erp.client.get(f"{ERP}/customers/{customer['id']}", headers=erp.reader)).json()
    assert fetched["name"] == "Upsert Probe AG (renamed)" and fetched["currency"] == "EUR"
    pii_reader = await erp.gw.bearer("system:erp:read system:erp:pii")  # tax_id is a filter on personal data
    for params, headers in (
        ({"external_id": "cus_upsert_probe"}, erp.reader),
        ({"tax_id": "DE811111111"}, pii_reader),
        ({"name_prefix": "Upsert Probe"}, erp.reader),
    ):
        found = await erp.client.get(f"{ERP}/customers", params=params, headers=headers)
        assert [c["id"] for c in found.json()["items"]] == [customer["id"]], params
    page = await erp.client.get(f"{ERP}/customers", params={"limit": 5}, headers=erp.reader)
    after = await erp.client.get(
        f"{ERP}/customers", params={"limit": 5, "cursor": page.json()["next_cursor"]}, headers=erp.reader
    )
    assert {c["id"] for c in page.json()["items"]}.isdisjoint({c["id"] for c in after.json()["items"]})


async def test_order_to_cash_documents_and_exactly_once_by_external_id(erp: Erp) -> None:
    data = await canonical_data(erp)
    line = {"item_id": data.item_id, "quantity": "2", "unit_price": "1200.00"}
    order_body = {
        "external_id": "opp-suite-1",
        "customer_id": data.customer_id,
        "date": data.open_day.isoformat(),
        "currency": "EUR",
        "lines": [line],
    }
    order = await erp.post("/sales-orders", order_body)
    assert order.status_code == 201, order.text
    assert order.json()["total"] == {"amount": "2400.00", "currency": "EUR"}
    again = await erp.post("/sales-orders", order_body)
    assert again.status_code == 200 and again.json()["id"] == order.json()["id"]
    assert (await erp.client.get(f"{ERP}/sales-orders/{order.json()['id']}", headers=erp.reader)).json() == again.json()

    invoice = await erp.post("/invoices", invoice_body(data, "inv-suite-1", sales_order_id=order.json()["id"]))
    assert invoice.status_code == 201, invoice.text
    inv = invoice.json()
    assert inv["sales_order_id"] == order.json()["id"] and inv["amount_due"] == {"amount": "2400.00", "currency": "EUR"}
    assert inv["lines"][0]["quantity"] == "2" and inv["lines"][0]["amount"]["amount"] == "2400.00"
    repeat = await erp.post("/invoices", invoice_body(data, "inv-suite-1", sales_order_id=order.json()["id"]))
    assert repeat.status_code == 200 and repeat.json()["id"] == inv["id"]

    payment_body = {
        "external_id": "pay-suite-1",
        "customer_id": data.customer_id,
        "date": data.open_day.isoformat(),
        "currency": "EUR",
        "amount": "1000.00",
        "applications": [{"invoice_id": inv["id"], "amount": "1000.00"}],
    }
    payment = await erp.post("/customer-payments", payment_body)
    assert payment.status_code == 201, payment.text
    assert payment.json()["applications"] == [{"invoice_id": inv["id"], "amount": "1000.00"}]
    got = await erp.client.get(f"{ERP}/customer-payments/{payment.json()['id']}", headers=erp.reader)
    assert got.json() == payment.json()
    paid = (await erp.client.get(f"{ERP}/invoices/{inv['id']}", headers=erp.reader)).json()
    assert paid["amount_due"]["amount"] == "1400.00" and paid["status"] == "partially_paid"

    memo = await erp.post("/credit-memos", {**invoice_body(data, "cm-suite-1"), "invoice_id": inv["id"]})
    assert memo.status_code == 201, memo.text
    assert memo.json()["invoice_id"] == inv["id"]
    got_memo = await erp.client.get(f"{ERP}/credit-memos/{memo.json()['id']}", headers=erp.reader)
    assert got_memo.json() == memo.json()

    listed = await erp.client.get(f"{ERP}/invoices", params={"customer_id": data.customer_id}, headers=erp.reader)
    assert [i["external_id"] for i in listed.json()["items"]] == ["inv-suite-1"]


async def test_journal_entries_balance_and_post_once(erp: Erp) -> None:
    data = await canonical_data(erp)
    body = {
        "external_id": "je-suite-1",
        "legal_entity_id": data.legal_entity_id,
        "date": data.open_day.isoformat(),
        "currency": "EUR",
        "memo": "Accrual",
        "lines": [{"account": "1200", "debit": "150.00"}, {"account": "4000", "credit": "150.00"}],
    }
    created = await erp.post("/journal-entries", body)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert [(line["account"], line["debit"], line["credit"]) for line in entry["lines"]] == [
        ("1200", "150.00", None),
        ("4000", None, "150.00"),
    ]
    assert (await erp.post("/journal-entries", body)).json()["id"] == entry["id"]
    assert (await erp.client.get(f"{ERP}/journal-entries/{entry['id']}", headers=erp.reader)).json() == entry
    writes = await erp.writes()
    unbalanced = await erp.post("/journal-entries", {**body, "external_id": "je-suite-2", "lines": [
        {"account": "1200", "debit": "150.00"}, {"account": "4000", "credit": "149.99"}]})  # fmt: skip
    assert unbalanced.status_code == 422
    assert [e["pointer"] for e in problem(unbalanced)["errors"]] == ["/lines"]
    assert await erp.writes() == writes


async def test_a_posting_in_a_closed_period_is_409_and_writes_nothing(erp: Erp) -> None:
    data = await canonical_data(erp)
    writes = await erp.writes()
    closed = await erp.post("/invoices", invoice_body(data, "inv-closed-1", day=data.closed_day))
    assert closed.status_code == 409
    body = problem(closed)
    assert body["type"].endswith("/period-closed") and data.closed_day.isoformat() in body["detail"]
    payment = await erp.post(
        "/customer-payments",
        {"external_id": "pay-closed-1", "customer_id": data.customer_id, "date": data.closed_day.isoformat(),
         "currency": "EUR", "amount": "5.00", "applications": []},
    )  # fmt: skip
    assert payment.status_code == 409 and problem(payment)["type"].endswith("/period-closed")
    memo = await erp.post("/credit-memos", invoice_body(data, "cm-closed-1", day=data.closed_day))
    assert memo.status_code == 409
    assert await erp.writes() == writes


async def test_field_errors_name_the_field(erp: Erp) -> None:
    data = await canonical_data(erp)
    zero = invoice_body(data, "inv-bad-1")
    zero["lines"][0]["quantity"] = "0"
    response = await erp.post("/invoices", zero)
    assert response.status_code == 422
    assert {"in": "body", "pointer": "/lines/0/quantity", "detail": "must be greater than zero"} in problem(response)[
        "errors"
    ]
    currency = await erp.post("/sales-orders", {**invoice_body(data, "so-bad-1"), "currency": "euro"})
    assert currency.status_code == 422 and any(e.get("pointer") == "/currency" for e in problem(currency)["errors"])
    over = await erp.post(
        "/customer-payments",
        {"external_id": "pay-bad-1", "customer_id": data.customer_id, "date": data.open_day.isoformat(),
         "currency": "EUR", "amount": "5.00", "applications": [{"invoice_id": "1", "amount": "6.00"}]},
    )  # fmt: skip
    assert over.status_code == 422 and [e["pointer"] for e in problem(over)["errors"]] == ["/applications"]
    unknown = await erp.post("/invoices", {**invoice_body(data, "inv-bad-2"), "colour": "red"})
    assert unknown.status_code == 422
    no_key = await erp.client.post(f"{ERP}/invoices", json=invoice_body(data, "inv-bad-3"), headers=erp.writer)
    assert no_key.status_code == 400
    cursor = await erp.client.get(f"{ERP}/invoices", params={"cursor": "Zm9yZ2Vk"}, headers=erp.reader)
    assert cursor.status_code == 422 and problem(cursor)["errors"][0]["name"] == "cursor"
    memo = invoice_body(data, "cm-bad-1")
    memo["lines"][0]["unit_price"] = "-1"
    bad_memo = await erp.post("/credit-memos", memo)
    assert bad_memo.status_code == 422
    assert any(e.get("pointer") == "/lines/0/unit_price" for e in problem(bad_memo)["errors"])
    both_and_neither = [{"account": "1200", "debit": "1.00", "credit": "1.00"}, {"account": "4000"}]
    one_line = await erp.post(
        "/journal-entries",
        {"external_id": "je-bad-1", "legal_entity_id": data.legal_entity_id, "date": data.open_day.isoformat(),
         "currency": "EUR", "lines": both_and_neither},
    )  # fmt: skip
    assert one_line.status_code == 422
    assert {e["pointer"] for e in problem(one_line)["errors"]} == {"/lines/0", "/lines/1"}
    upsert = await erp.client.put(f"{ERP}/customers/by-external-id/cus_bad", json={"name": "X", "currency": "eur"},
                                  headers=erp.writer)  # fmt: skip
    assert upsert.status_code == 422 and any(e.get("pointer") == "/currency" for e in problem(upsert)["errors"])
    for path, params, name in (
        ("/items", {"limit": "0"}, "limit"),
        ("/accounting-periods", {"year": "1800"}, "year"),
        ("/customers", {"limit": "500"}, "limit"),
        ("/invoices", {"limit": "x"}, "limit"),
    ):
        wrong = await erp.client.get(f"{ERP}{path}", params=params, headers=erp.reader)
        assert wrong.status_code == 422, (path, wrong.text)
        assert [e.get("name") for e in problem(wrong)["errors"]] == [name]
    for path in ("/items/x%20y", "/customers/%3Cscript%3E"):
        odd = await erp.client.get(f"{ERP}{path}", headers=erp.reader)
        assert odd.status_code == 422 and problem(odd)["errors"][0]["in"] == "path"


def _every_operation(data: Data) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) of every operation of the API, with valid input."""
    doc = invoice_body(data, "any-op-1")
    payment = {
        **{k: doc[k] for k in ("external_id", "customer_id", "date", "currency")},
        "amount": "1.00",
        "applications": [],
    }
    journal = {
        "external_id": "any-op-1",
        "legal_entity_id": data.legal_entity_id,
        "date": doc["date"],
        "currency": "EUR",
        "lines": [{"account": "1200", "debit": "1.00"}, {"account": "4000", "credit": "1.00"}],
    }
    reads = ["/legal-entities", "/accounting-periods", "/items", f"/items/{data.item_id}", "/customers",
             f"/customers/{data.customer_id}", "/invoices", "/sales-orders/1", "/invoices/1",
             "/customer-payments/1", "/credit-memos/1", "/journal-entries/1"]  # fmt: skip
    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", "/customers/by-external-id/cus_any_op", {"name": "Any Op"}),
        ("POST", "/sales-orders", doc),
        ("POST", "/sales-orders/1/cancel", {"reason": "any op"}),
        ("POST", "/invoices", doc),
        ("POST", "/customer-payments", payment),
        ("POST", "/credit-memos", doc),
        ("POST", "/journal-entries", journal),
    ]
    return [("GET", path, None) for path in reads] + writes


async def _call(
    erp: Erp, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> httpx.Response:
    key = {"Idempotency-Key": f"op-{method}-{path}-{sorted(headers)}-{id(body)}"} if method != "GET" else {}
    return await erp.client.request(method, f"{ERP}{path}", json=body, headers={**headers, **key})


async def test_auth_scopes_and_not_found(erp: Erp) -> None:
    data = await canonical_data(erp)
    for method, path, body in _every_operation(data):
        anonymous = await _call(erp, method, path, body, {})
        assert anonymous.status_code == 401, path
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        problem(anonymous)
        if method != "GET":
            denied = await _call(erp, method, path, body, erp.reader)
            assert denied.status_code == 403, path
            assert 'scope="system:erp:write"' in denied.headers["www-authenticate"]
    for path in (
        "customers",
        "items",
        "sales-orders",
        "invoices",
        "customer-payments",
        "credit-memos",
        "journal-entries",
    ):
        missing = await erp.client.get(f"{ERP}/{path}/999999999", headers=erp.reader)
        assert missing.status_code == 404, path
        problem(missing)


async def test_vendor_outage_is_503_with_retry_after_then_the_breaker_opens(make_erp: MakeErp) -> None:
    async with make_erp() as erp:
        data = await canonical_data(erp)
        await erp.faults({"kind": "status", "status": 500})
        operations = _every_operation(data)
        before = (await erp.counts())["requests"]
        first = await _call(erp, *operations[0], erp.writer)
        assert first.status_code == 503 and int(first.headers["retry-after"]) >= 1
        # the vendor's 5xx, retried until the breaker opened
        assert problem(first)["type"].rsplit("/", 1)[1] in ("upstream-unavailable", "upstream-circuit-open")
        seen = (await erp.counts())["requests"]
        assert seen > before
        for method, path, body in operations[1:]:
            fast = await _call(erp, method, path, body, erp.writer)
            assert fast.status_code == 503, (path, fast.text)
            assert problem(fast)["type"].endswith("/upstream-circuit-open") and int(fast.headers["retry-after"]) >= 1
        assert (await erp.counts())["requests"] == seen  # the open circuit kept every call from the vendor


async def test_vendor_throttling_is_503_with_retry_after(make_erp: MakeErp) -> None:
    async with make_erp() as erp:
        await erp.faults({"kind": "status", "status": 429, "retry_after": 120})
        throttled = await erp.client.get(f"{ERP}/legal-entities", headers=erp.reader)
        assert throttled.status_code == 503
        assert int(throttled.headers["retry-after"]) == 120


async def test_a_vendor_past_its_deadline_is_504_everywhere(make_erp: MakeErp, vendor: str) -> None:
    async with make_erp(before_start=_tolerant_breaker, **DEADLINE_SETTINGS[vendor]) as erp:
        data = await canonical_data(erp)
        await erp.faults({"kind": "timeout", "latency_seconds": 0.5, "status": 504})
        for method, path, body in _every_operation(data):
            late = await _call(erp, method, path, body, erp.writer)
            assert late.status_code == 504, (path, late.text)
            assert problem(late)["type"].endswith("/upstream-timeout")


def _tolerant_breaker(app: Any) -> None:
    """A breaker that lets a 20% error rate, which retries absorb, through (5 outages in a row are
    likely among the burst's ~1,000 attempts), and every timeout of the deadline test."""
    breaker = CircuitBreaker(
        app.state.settings.erp.vendor, CircuitBreakerConfig(failure_threshold=50, open_seconds=0.2)
    )
    app.state.components.circuit_breakers[VENDOR_BY_NAME[app.state.settings.erp.vendor].peer] = breaker


async def test_burst_of_invoices_under_faults_is_applied_exactly_once(make_erp: MakeErp) -> None:
    """200 concurrent creates; 20% 5xx (half after the write) and 10% 429 → every invoice once."""
    async with make_erp(before_start=_tolerant_breaker) as erp:
        await _burst(erp)


async def _burst(erp: Erp) -> None:
    data = await canonical_data(erp)
    await erp.client.get(f"{ERP}/accounting-periods", headers=erp.reader)
    before = (await erp.counts())["writes"]
    await erp.faults(
        {"kind": "lost_response", "status": 503, "probability": 0.1},
        {"kind": "status", "status": 503, "probability": 0.1 / 0.9},
        {"kind": "status", "status": 429, "retry_after": 0.01, "probability": 0.1 / 0.8},
        {"kind": "latency", "latency_seconds": 0.002},  # the rest: a vendor that takes its time
    )
    ids = [f"inv-burst-{n:03d}" for n in range(200)]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=erp.gw.app, client=(f"10.0.0.{n}", 40000)),
            base_url="http://127.0.0.1:8080",
            timeout=30,
        )
        for n in range(4)
    ]

    async def create(n: int, external_id: str) -> httpx.Response:
        headers = {**erp.writer, "Idempotency-Key": f"burst-{external_id}"}
        return await clients[n % 4].post(f"{ERP}/invoices", json=invoice_body(data, external_id), headers=headers)

    try:
        started = asyncio.get_running_loop().time()
        answers = await asyncio.gather(*(create(n, x) for n, x in enumerate(ids)))
        elapsed = asyncio.get_running_loop().time() - started
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {201, 503, 504}, statuses
        assert statuses.count(201) >= 180, statuses
        for answer in answers:
            if answer.status_code != 201:
                assert answer.headers.get("retry-after") or answer.status_code == 504
        await erp.clear_faults()
        # A caller retries what got a retryable problem: it must not duplicate what was applied.
        failed = [(n, x) for (n, x), a in zip(enumerate(ids), answers, strict=True) if a.status_code != 201]
        retried = await asyncio.gather(*(create(n, x) for n, x in failed))
        assert {r.status_code for r in retried} <= {200, 201}
    finally:
        for client in clients:
            await client.aclose()
    counts = await erp.counts()
    injected = counts["faults_injected"]
    assert injected.get("lost_response", 0) >= 20 and injected.get("status", 0) >= 40, injected
    after = counts["writes"]
    invoice_kind = next(k for k in after if after[k] - before.get(k, 0) >= 200)
    assert after[invoice_kind] - before.get(invoice_kind, 0) == 200
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"customer_id": data.customer_id, "limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await erp.client.get(f"{ERP}/invoices", params=params, headers=erp.reader)).json()
        listed.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(i["external_id"] for i in listed) == ids
    assert elapsed < 30
