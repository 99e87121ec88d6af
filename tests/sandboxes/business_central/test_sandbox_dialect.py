"""The Business Central sandbox speaks API v2.0: Entra tokens, OData collections and paging, etags, actions, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from sandboxes.business_central import BusinessCentralSandbox, create_business_central_sandbox
from sandboxes.faults import FaultRule
from tests.support.business_central import API, BASE, PAGE_SIZE, TENANT, TOKEN_PATH, company_id, token_form
from tests.support.sandbox_access import CLIENT_ID, CLIENT_SECRET, operator_hooks


def _code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return str(body["error"]["code"])


def _customer(sandbox: BusinessCentralSandbox, company: str) -> dict[str, Any]:
    return sandbox.store.all(company, "customers")[0]


def _item(sandbox: BusinessCentralSandbox, company: str) -> dict[str, Any]:
    return next(i for i in sandbox.store.all(company, "items") if i["number"] == "STRATA-CORE")


# -- Entra token endpoint ---------------------------------------------------------------------------
async def test_token_endpoint_answers_like_entra(plain: httpx.AsyncClient) -> None:
    ok = await plain.post(TOKEN_PATH, data=token_form())
    assert ok.status_code == 200 and ok.headers["cache-control"].startswith("no-store")
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and len(body["access_token"]) > 40
    basic = await plain.post(
        TOKEN_PATH, data=token_form(client_id="", client_secret=""), auth=("strata-sandbox", "sandbox-secret")
    )
    assert basic.status_code == 200
    cases = [
        (token_form(client_secret="wrong"), TOKEN_PATH, 401, "invalid_client", 7000215),
        (token_form(scope="https://graph.microsoft.com"), TOKEN_PATH, 400, "invalid_scope", 1002012),
        (token_form(grant_type="password"), TOKEN_PATH, 400, "unsupported_grant_type", 70003),
        (token_form(client_id="nobody"), TOKEN_PATH, 400, "unauthorized_client", 700016),
        (token_form(), "/other-tenant/oauth2/v2.0/token", 400, "invalid_request", 90002),
    ]
    for form, path, status, error, code in cases:
        answer = await plain.post(path, data=form)
        assert answer.status_code == status, (form, answer.text)
        refused = answer.json()
        assert refused["error"] == error and refused["error_codes"] == [code]
        assert refused["error_description"].startswith(f"AADSTS{code}:") and refused["trace_id"]


async def test_api_needs_a_live_bearer_token(plain: httpx.AsyncClient, odata: httpx.AsyncClient) -> None:
    assert (await odata.get(f"{API}/companies")).status_code == 200
    anonymous = await httpx.AsyncClient(transport=plain._transport, base_url=BASE).get(f"{API}/companies")
    assert anonymous.status_code == 401 and _code(anonymous) == "Authentication_InvalidCredentials"
    assert 'error="invalid_token"' in anonymous.headers["www-authenticate"]
    assert (await odata.post("/_control/expire-tokens")).status_code == 204
    expired = await odata.get(f"{API}/companies")
    assert expired.status_code == 401


# -- collections, paging, query options ---------------------------------------------------------------
async def test_companies_are_the_legal_entities(odata: httpx.AsyncClient) -> None:
    answer = await odata.get(f"{API}/companies")
    body = answer.json()
    assert body["@odata.context"] == f"{BASE}{API}/$metadata#companies"
    assert sorted(c["name"] for c in body["value"]) == ["Strata GmbH", "Strata Inc.", "Strata Ltd"]
    for company in body["value"]:
        info = (await odata.get(f"{API}/companies({company['id']})/companyInformation")).json()["value"][0]
        assert (
            info["currencyCode"] == {"Strata GmbH": "EUR", "Strata Inc.": "USD", "Strata Ltd": "GBP"}[company["name"]]
        )


async def test_server_driven_paging_follows_next_links_without_gaps(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    company = company_id(sandbox)
    url: str | None = f"{API}/companies({company})/customers"
    seen: list[str] = []
    pages = 0
    while url is not None:
        body = (await odata.get(url)).json()
        assert len(body["value"]) <= PAGE_SIZE and body["@odata.context"].endswith(f"companies({company})/customers")
        seen.extend(c["id"] for c in body["value"])
        url, pages = body.get("@odata.nextLink"), pages + 1
        assert url is None or "$skiptoken=" in url
    expected = [c["id"] for c in sandbox.store.all(company, "customers")]
    assert seen == sorted(seen) == expected and pages == -(-len(expected) // PAGE_SIZE) and len(expected) > PAGE_SIZE
    small = await odata.get(f"{API}/companies({company})/customers", headers={"Prefer": "odata.maxpagesize=2"})
    assert len(small.json()["value"]) == 2 and small.headers["preference-applied"] == "odata.maxpagesize=2"
    top = (await odata.get(f"{API}/companies({company})/customers", params={"$top": "3", "$skip": "1"})).json()
    assert [c["id"] for c in top["value"]] == expected[1:4] and "@odata.nextLink" not in top


async def test_filter_select_and_expand(sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient) -> None:
    company = company_id(sandbox, "Strata GmbH")
    customer = _customer(sandbox, company)
    prefix = customer["displayName"][:3]
    params = {"$filter": f"startswith(displayName,'{prefix}') and currencyCode eq 'eur'", "$select": "id,displayName"}
    body = (await odata.get(f"{API}/companies({company})/customers", params=params)).json()
    assert customer["id"] in [c["id"] for c in body["value"]]
    assert all(
        set(c) == {"@odata.etag", "id", "displayName"} and c["displayName"].startswith(prefix) for c in body["value"]
    )
    dated = {"$filter": "invoiceDate ge 2024-01-01 and invoiceDate le 2024-12-31", "$expand": "salesInvoiceLines"}
    invoices = (await odata.get(f"{API}/companies({company})/salesInvoices", params=dated)).json()["value"]
    assert invoices and all(i["invoiceDate"].startswith("2024") and i["salesInvoiceLines"] for i in invoices)
    for bad, code in [
        ({"$filter": "nosuch eq 1"}, "BadRequest_PropertyNotFound"),
        ({"$select": "id,nosuch"}, "BadRequest_PropertyNotFound"),
        ({"$expand": "lines"}, "BadRequest_PropertyNotFound"),
        ({"$filter": "displayName eq"}, "BadRequest"),
        ({"$top": "-1"}, "BadRequest"),
    ]:
        refused = await odata.get(f"{API}/companies({company})/customers", params=bad)
        assert refused.status_code == 400 and _code(refused) == code, bad


async def test_service_document_lists_the_entity_sets(odata: httpx.AsyncClient) -> None:
    body = (await odata.get(API)).json()
    assert body["@odata.context"] == f"{BASE}{API}/$metadata"
    names = {entry["name"] for entry in body["value"]}
    assert {"companies", "customers", "salesInvoices", "journals", "generalLedgerEntries"} <= names
    assert "salesInvoiceLines" not in names


async def test_unknown_resources_answer_bc_not_found(sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient) -> None:
    company = company_id(sandbox)
    for path in [
        f"{API}/companies(00000000-0000-0000-0000-000000000001)/customers",
        f"{API}/companies({company})/vendors",
        f"{API}/companies({company})/customers(00000000-0000-0000-0000-000000000001)",
        f"{API}/companies({company})/customers(not-a-guid)",
        f"/v2.0/{TENANT}/production/api/v2.0/companies",
    ]:
        answer = await odata.get(path)
        assert answer.status_code == 404 and _code(answer) == "BadRequest_NotFound", path


# -- writes, etags, actions -----------------------------------------------------------------------------
async def test_post_answers_201_and_patch_delete_need_the_etag(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    company = company_id(sandbox)
    created = await odata.post(
        f"{API}/companies({company})/customers", json={"displayName": "Etag Co", "number": "ETAG-1"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["@odata.etag"].startswith('W/"') and created.headers["etag"] == body["@odata.etag"]
    assert created.headers["location"].endswith(f"/customers({body['id']})") and body["currencyCode"] == "USD"
    url = f"{API}/companies({company})/customers({body['id']})"
    missing = await odata.patch(url, json={"displayName": "X"})
    assert missing.status_code == 400 and _code(missing) == "BadRequest"
    patched = await odata.patch(url, json={"displayName": "Etag Co 2"}, headers={"If-Match": body["@odata.etag"]})
    assert patched.status_code == 200 and patched.json()["displayName"] == "Etag Co 2"
    assert patched.json()["@odata.etag"] != body["@odata.etag"]
    stale = await odata.patch(url, json={"displayName": "Lost"}, headers={"If-Match": body["@odata.etag"]})
    assert stale.status_code == 412 and _code(stale) == "Request_EntityChanged"
    duplicate = await odata.post(
        f"{API}/companies({company})/customers", json={"displayName": "Again", "number": "etag-1"}
    )
    assert duplicate.status_code == 400 and _code(duplicate) == "Internal_EntityWithSameKeyExists"
    bad_bodies: list[tuple[dict[str, Any], str]] = [
        ({"nosuch": 1}, "BadRequest_PropertyNotFound"),
        ({"displayName": "x" * 101}, "Application_StringExceededLength"),
        ({"balanceDue": 5}, "BadRequest"),
    ]
    for bad, code in bad_bodies:
        refused = await odata.post(f"{API}/companies({company})/customers", json={"displayName": "B", **bad})
        assert refused.status_code == 400 and _code(refused) == code, bad
    gone = await odata.delete(url, headers={"If-Match": patched.json()["@odata.etag"]})
    assert gone.status_code == 204 and (await odata.get(url)).status_code == 404


async def test_code_fields_are_stored_upper_case_and_compared_without_case(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    company = company_id(sandbox)
    created = await odata.post(
        f"{API}/companies({company})/customers", json={"displayName": "Casey", "number": "c-abc"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["number"] == "C-ABC"
    found = await odata.get(f"{API}/companies({company})/customers", params={"$filter": "number eq 'c-Abc'"})
    assert [c["id"] for c in found.json()["value"]] == [created.json()["id"]]
    twin = await odata.post(f"{API}/companies({company})/customers", json={"displayName": "Other", "number": "C-ABC"})
    assert twin.status_code == 400 and _code(twin) == "Internal_EntityWithSameKeyExists"


async def test_orders_are_invoiced_by_ship_and_invoice_and_then_deleted(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    """The v2.0 pages: ``orderId`` is read-only on sales invoices; ``shipAndInvoice`` posts the order's
    invoice (naming it in ``orderNumber``) and deletes the fully invoiced order; inventory items
    need stock the sandbox does not keep."""
    company = company_id(sandbox)
    customer, item = _customer(sandbox, company), _item(sandbox, company)
    orders = f"{API}/companies({company})/salesOrders"
    body = {"customerId": customer["id"], "orderDate": "2026-03-10", "externalDocumentNumber": "so-ship",
            "salesOrderLines": [{"itemId": item["id"], "quantity": 2, "unitPrice": 100.5}]}  # fmt: skip
    order = (await odata.post(orders, json=body)).json()
    invoices = f"{API}/companies({company})/salesInvoices"
    linked = await odata.post(invoices, json={"customerId": customer["id"], "orderId": order["id"]})
    assert linked.status_code == 400 and "read-only" in linked.json()["error"]["message"]
    shipped = await odata.post(f"{orders}({order['id']})/Microsoft.NAV.shipAndInvoice")
    assert shipped.status_code == 204, shipped.text
    assert (await odata.get(f"{orders}({order['id']})")).status_code == 404
    found = await odata.get(invoices, params={"$filter": f"orderNumber eq '{order['number']}'"})
    [invoice] = found.json()["value"]
    assert invoice["status"] == "Open" and invoice["number"].startswith("PS-INV")
    assert (invoice["orderId"], invoice["externalDocumentNumber"]) == (order["id"], "SO-SHIP")
    assert invoice["totalAmountIncludingTax"] == 201.0
    stock = await odata.post(f"{API}/companies({company})/items", json={"displayName": "Widget", "type": "Inventory"})
    body["salesOrderLines"] = [{"itemId": stock.json()["id"], "quantity": 1, "unitPrice": 5}]
    stocked = (await odata.post(orders, json=body)).json()
    refused = await odata.post(f"{orders}({stocked['id']})/Microsoft.NAV.shipAndInvoice")
    assert refused.status_code == 400 and _code(refused) == "Application_DialogException"
    assert (await odata.get(f"{orders}({stocked['id']})")).status_code == 200


async def test_payment_batches_have_no_action_and_post_through_journals(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    company = company_id(sandbox)
    batches = f"{API}/companies({company})/customerPaymentJournals"
    batch = (await odata.post(batches, json={"code": "CASH-T", "displayName": "Test"})).json()
    line = {"customerId": _customer(sandbox, company)["id"], "postingDate": "2026-03-10", "amount": 50}
    assert (await odata.post(f"{batches}({batch['id']})/customerPayments", json=line)).status_code == 201
    invented = await odata.post(f"{batches}({batch['id']})/Microsoft.NAV.post")
    assert invented.status_code == 400 and _code(invented) == "BadRequest_MethodNotFound"
    posted = await odata.post(f"{API}/companies({company})/journals({batch['id']})/Microsoft.NAV.post")
    assert posted.status_code == 204, posted.text
    assert sandbox.store.writes["journals/Microsoft.NAV.post"] == 1
    again = await odata.post(f"{API}/companies({company})/journals({batch['id']})/Microsoft.NAV.post")
    assert again.status_code == 400 and "nothing to post" in again.json()["error"]["message"].lower()


async def test_deep_insert_and_bound_actions_post_and_cancel(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    company = company_id(sandbox)
    customer, item = _customer(sandbox, company), _item(sandbox, company)
    lines = [{"itemId": item["id"], "quantity": 2, "unitPrice": 100.5}]
    body = {
        "customerId": customer["id"],
        "invoiceDate": "2026-03-10",
        "externalDocumentNumber": "INV-X1",
        "salesInvoiceLines": lines,
    }
    created = await odata.post(
        f"{API}/companies({company})/salesInvoices", json=body, params={"$expand": "salesInvoiceLines"}
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "Draft" and draft["totalAmountIncludingTax"] == 201.0
    assert draft["salesInvoiceLines"][0]["amountExcludingTax"] == 201.0
    url = f"{API}/companies({company})/salesInvoices({draft['id']})"
    posted = await odata.post(f"{url}/Microsoft.NAV.post")
    assert posted.status_code == 204 and posted.content == b""
    invoice = (await odata.get(url)).json()
    assert (
        invoice["status"] == "Open" and invoice["number"].startswith("PS-INV") and invoice["remainingAmount"] == 201.0
    )
    again = await odata.post(f"{url}/Microsoft.NAV.post")
    assert again.status_code == 400 and _code(again) == "Application_DialogException"
    ledger = await odata.get(
        f"{API}/companies({company})/generalLedgerEntries",
        params={"$filter": f"documentNumber eq '{invoice['number']}'"},
    )
    entries, page = list(ledger.json()["value"]), ledger.json()
    while page.get("@odata.nextLink"):  # 30 entries: more than one server page
        page = (await odata.get(page["@odata.nextLink"])).json()
        entries += page["value"]
    booked = [e for e in entries if not e["description"].startswith("Deferral")]
    assert sorted((e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in booked) == [
        ("1200", 201.0, 0.0),
        ("2200", 0.0, 201.0),  # the item's deferral template (SUB-12M) defers the line ...
        ("4000", 0.0, 201.0),
        ("4000", 201.0, 0.0),
    ]
    released = [e for e in entries if e["description"].startswith("Deferral") and e["accountNumber"] == "2200"]
    assert len(released) == 13 and round(sum(e["debitAmount"] for e in released), 2) == 201.0  # ... over 12 months
    assert (await odata.post(f"{url}/Microsoft.NAV.cancel")).status_code == 204
    assert (await odata.get(url)).json()["status"] == "Canceled"
    unknown = await odata.post(f"{url}/Microsoft.NAV.explode")
    assert unknown.status_code == 400 and _code(unknown) == "BadRequest_MethodNotFound"


async def test_posting_into_a_closed_period_and_unbalanced_journals_are_refused(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    company = company_id(sandbox)
    customer, item = _customer(sandbox, company), _item(sandbox, company)
    body = {
        "customerId": customer["id"],
        "invoiceDate": "2024-06-10",
        "salesInvoiceLines": [{"itemId": item["id"], "quantity": 1}],
    }
    draft = (await odata.post(f"{API}/companies({company})/salesInvoices", json=body)).json()
    refused = await odata.post(f"{API}/companies({company})/salesInvoices({draft['id']})/Microsoft.NAV.post")
    assert refused.status_code == 400 and _code(refused) == "Application_DialogException"
    assert "not within your range of allowed posting dates" in refused.json()["error"]["message"]
    common = {"postingDate": "2026-05-01", "documentNumber": "J1"}
    journal_lines = [
        {"accountNumber": "6000", "amount": 100, **common},
        {"accountNumber": "1000", "amount": -90, **common},
    ]
    journal = await odata.post(
        f"{API}/companies({company})/journals", json={"code": "TEST", "journalLines": journal_lines}
    )
    assert journal.status_code == 201, journal.text
    batch = f"{API}/companies({company})/journals({journal.json()['id']})"
    unbalanced = await odata.post(f"{batch}/Microsoft.NAV.post")
    assert unbalanced.status_code == 400 and "out of balance" in unbalanced.json()["error"]["message"]
    listed = (await odata.get(f"{batch}/journalLines")).json()["value"]
    line_id = next(line["id"] for line in listed if line["accountNumber"] == "1000")
    line = (await odata.get(f"{batch}/journalLines({line_id})")).json()
    fixed = await odata.patch(
        f"{batch}/journalLines({line_id})", json={"amount": -100}, headers={"If-Match": line["@odata.etag"]}
    )
    assert fixed.status_code == 200
    assert (await odata.post(f"{batch}/Microsoft.NAV.post")).status_code == 204
    assert (await odata.get(f"{batch}/journalLines")).json()["value"] == []
    entries = await odata.get(
        f"{API}/companies({company})/generalLedgerEntries", params={"$filter": "documentNumber eq 'J1'"}
    )
    assert len(entries.json()["value"]) == 2


# -- throttling, faults, control API, persistence -------------------------------------------------------
async def test_throttling_answers_429_with_retry_after(plain: httpx.AsyncClient) -> None:
    throttled = create_business_central_sandbox(
        rate_limit=3, rate_window_seconds=60, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=throttled), base_url=BASE, event_hooks=operator_hooks(throttled)
    ) as client:
        token = (await client.post(TOKEN_PATH, data=token_form())).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        statuses = [(await client.get(f"{API}/companies")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = await client.get(f"{API}/companies")
        assert _code(refused) == "Application_TooManyRequests" and 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await client.get("/_control/counts")).json()["throttled"] == 2


async def test_faults_render_bc_errors_and_counts_track_writes(
    sandbox: BusinessCentralSandbox, odata: httpx.AsyncClient
) -> None:
    company = company_id(sandbox)
    before = (await odata.get("/_control/counts")).json()
    assert before["writes"] == {} and before["records"]["companies"] == 3 and before["records"]["items"] == 21
    rule = {"kind": "lost_response", "status": 503, "method": "POST", "path_prefix": "/v2.0/", "count": 1}
    assert (await odata.post("/_control/faults", json=rule)).status_code == 201
    lost = await odata.post(f"{API}/companies({company})/customers", json={"displayName": "Lost Answer"})
    assert lost.status_code == 503 and _code(lost) == "ServiceUnavailable"
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=2, count=1))
    limited = await odata.get(f"{API}/companies")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    after = (await odata.get("/_control/counts")).json()
    assert after["writes"] == {"customers": 1} and after["records"]["customers"] == before["records"]["customers"] + 1
    assert after["faults_injected"] == {"lost_response": 1, "status": 1}
    assert (await odata.post("/_control/reset")).status_code == 204
    assert (await odata.get("/_control/counts")).json()["records"]["customers"] == before["records"]["customers"]


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = create_business_central_sandbox(state_dir=tmp_path, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    company = company_id(first)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE) as client:
        client.headers["Authorization"] = (
            f"Bearer {(await client.post(TOKEN_PATH, data=token_form())).json()['access_token']}"
        )
        created = await client.post(f"{API}/companies({company})/customers", json={"displayName": "Durable"})
        assert created.status_code == 201
    second = create_business_central_sandbox(state_dir=tmp_path, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert second.store.get(company, "customers", created.json()["id"])["displayName"] == "Durable"
    assert (tmp_path / "business_central.json").exists()
