"""The NetSuite sandbox speaks SuiteTalk REST: M2M tokens, records, SuiteQL, async, limits, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.faults import FaultRule
from sandboxes.netsuite import (
    KeyPair,
    NetSuiteSandbox,
    create_netsuite_sandbox,
    generate_key_pair,
    make_assertion,
)
from sandboxes.netsuite.schema import RECORD_TYPES
from sandboxes.salesforce import create_salesforce_sandbox
from tests.support.sandbox_access import operator_hooks

BASE = "http://netsuite.sandbox"
REST = f"{BASE}/services/rest"
RECORD = "/services/rest/record/v1"
TOKEN_URL = f"{REST}/auth/oauth2/v1/token"
CLIENT_ID = "strata-sandbox"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TRANSIENT = {"Prefer": "transient"}


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return generate_key_pair("cert-ps256")


@pytest.fixture
def sandbox(pair: KeyPair) -> NetSuiteSandbox:
    return create_netsuite_sandbox(client_id=CLIENT_ID, certificates={pair.certificate_id: pair.public_pem})


def _form(assertion: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": assertion}


async def _token(plain: httpx.AsyncClient, pair: KeyPair) -> httpx.Response:
    return await plain.post(
        "/services/rest/auth/oauth2/v1/token", data=_form(make_assertion(pair, CLIENT_ID, TOKEN_URL))
    )


@pytest.fixture
async def client(sandbox: NetSuiteSandbox, pair: KeyPair) -> AsyncIterator[httpx.AsyncClient]:
    hooks = operator_hooks(sandbox)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE, event_hooks=hooks) as plain:
        plain.headers["Authorization"] = f"Bearer {(await _token(plain, pair)).json()['access_token']}"
        yield plain


def _id(response: httpx.Response, record_type: str) -> str:
    assert response.status_code == 204, response.text
    assert response.content == b""
    location = response.headers["location"]
    prefix = f"{REST}/record/v1/{record_type}/"
    assert location.startswith(prefix)
    return location.removeprefix(prefix)


def _error_code(response: httpx.Response) -> str:
    body = response.json()
    assert body["status"] == response.status_code and body["title"] and body["type"].startswith("https://")
    return str(body["o:errorDetails"][0]["o:errorCode"])


def _a_customer(sandbox: NetSuiteSandbox) -> dict[str, Any]:
    return sandbox.store.all("customer")[0]


def _an_item(sandbox: NetSuiteSandbox) -> dict[str, Any]:
    return sandbox.store.all("serviceSaleItem")[0]


# -- token ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"])
async def test_token_handshake_accepts_oracles_algorithms(algorithm: str) -> None:
    pair = generate_key_pair(f"cert-{algorithm}", algorithm)
    sandbox = create_netsuite_sandbox(client_id=CLIENT_ID, certificates={pair.certificate_id: pair.public_pem})
    hooks = operator_hooks(sandbox)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE, event_hooks=hooks) as plain:
        answer = await _token(plain, pair)
        assert answer.status_code == 200, answer.text
        assert answer.json()["token_type"] == "bearer"
        customers = await plain.get(
            f"{RECORD}/customer", headers={"Authorization": f"Bearer {answer.json()['access_token']}"}
        )
    assert customers.status_code == 200 and customers.json()["totalResults"] >= 50


async def test_an_rs256_assertion_is_refused() -> None:
    """Oracle lists PS256/384/512 and ES256/384/512 for the client assertion; RS256 is not on the list."""
    pair = generate_key_pair("cert-rs", "RS256")
    sandbox = create_netsuite_sandbox(client_id=CLIENT_ID, certificates={pair.certificate_id: pair.public_pem})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE) as plain:
        answer = await _token(plain, pair)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert "access_token" not in answer.text


@pytest.mark.parametrize(("as_string", "expected"), [(True, "3600"), (False, 3600)])
async def test_expires_in_is_a_string_by_default_and_a_number_on_request(
    pair: KeyPair, as_string: bool, expected: object
) -> None:
    sandbox = create_netsuite_sandbox(
        client_id=CLIENT_ID, certificates={pair.certificate_id: pair.public_pem}, expires_in_as_string=as_string
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE) as plain:
        answer = await _token(plain, pair)
    assert answer.status_code == 200 and answer.json()["expires_in"] == expected


async def test_token_refusals_are_oauth_errors(sandbox: NetSuiteSandbox, pair: KeyPair) -> None:
    impostor = generate_key_pair(pair.certificate_id)  # same kid, other key: the signature cannot verify
    now = int(time.time())
    cases = {
        "wrong kid": make_assertion(pair, CLIENT_ID, TOKEN_URL, kid="cert-unknown"),
        "bad signature": make_assertion(impostor, CLIENT_ID, TOKEN_URL),
        "expired": make_assertion(pair, CLIENT_ID, TOKEN_URL, issued_at=now - 7200, lifetime=600),
        "wrong aud": make_assertion(pair, CLIENT_ID, "https://elsewhere.example/token"),
        "too long": make_assertion(pair, CLIENT_ID, TOKEN_URL, lifetime=3601),
        "wrong iss": make_assertion(pair, "someone-else", TOKEN_URL),
        "no scope": make_assertion(pair, CLIENT_ID, TOKEN_URL, scope="restlets"),
    }
    hooks = operator_hooks(sandbox)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE, event_hooks=hooks) as plain:
        answers = {name: await plain.post(TOKEN_URL, data=_form(value)) for name, value in cases.items()}
        wrong_grant = await plain.post(TOKEN_URL, data={**_form(cases["wrong kid"]), "grant_type": "password"})
        not_a_jwt = await plain.post(TOKEN_URL, data=_form("not.a.jwt"))
        good = await _token(plain, pair)
    for name, answer in answers.items():
        assert answer.status_code in (400, 401), name
        assert set(answer.json()) == {"error", "error_description"}, name
        assert "access_token" not in answer.text, name
    assert {name: a.json()["error"] for name, a in answers.items()} == {
        "wrong kid": "invalid_client",
        "bad signature": "invalid_client",
        "expired": "invalid_client",
        "wrong aud": "invalid_client",
        "too long": "invalid_client",
        "wrong iss": "invalid_client",
        "no scope": "invalid_scope",
    }
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "unsupported_grant_type"
    assert not_a_jwt.status_code == 400 and not_a_jwt.json()["error"] == "invalid_request"
    assert good.status_code == 200


async def test_rest_calls_need_a_valid_bearer(sandbox: NetSuiteSandbox, client: httpx.AsyncClient) -> None:
    anonymous = await client.get(f"{RECORD}/customer", headers={"Authorization": ""})
    assert anonymous.status_code == 401 and _error_code(anonymous) == "INVALID_LOGIN"
    assert anonymous.json()["title"] == "Unauthorized"
    assert (await client.get(f"{RECORD}/customer")).status_code == 200
    sandbox.tokens.expire_all()
    expired = await client.post("/services/rest/query/v1/suiteql", headers=TRANSIENT, json={"q": "SELECT id FROM item"})
    assert expired.status_code == 401 and _error_code(expired) == "INVALID_LOGIN"


# -- records -------------------------------------------------------------------------------------
async def test_record_crud_answers_204_with_location(sandbox: NetSuiteSandbox, client: httpx.AsyncClient) -> None:
    subsidiary = sandbox.store.all("subsidiary")[1]["id"]
    created = await client.post(
        f"{RECORD}/customer", json={"companyName": "Acme GmbH", "subsidiary": {"id": subsidiary}, "email": "a@acme.de"}
    )
    customer_id = _id(created, "customer")
    got = await client.get(f"{RECORD}/customer/{customer_id}")
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == customer_id and body["companyName"] == "Acme GmbH"
    assert body["links"] == [{"rel": "self", "href": f"{REST}/record/v1/customer/{customer_id}"}]
    assert body["subsidiary"]["id"] == subsidiary and body["subsidiary"]["refName"] == "Strata Inc."
    assert "phone" not in body  # empty fields are left out

    patched = await client.patch(f"{RECORD}/customer/{customer_id}", json={"companyName": "Acme AG"})
    assert patched.status_code == 204 and patched.content == b""
    assert (await client.get(f"{RECORD}/customer/{customer_id}")).json()["companyName"] == "Acme AG"
    assert (await client.delete(f"{RECORD}/customer/{customer_id}")).status_code == 204
    gone = await client.get(f"{RECORD}/customer/{customer_id}")
    assert gone.status_code == 404 and _error_code(gone) == "NONEXISTENT_ID"
    referenced = sandbox.store.all("salesOrder")[0]["entity"]
    still_used = await client.delete(f"{RECORD}/customer/{referenced}")
    assert still_used.status_code == 400 and _error_code(still_used) == "USER_ERROR"
    assert referenced in sandbox.store.records["customer"]


async def test_sales_order_sublist_expands_and_references_are_checked(
    sandbox: NetSuiteSandbox, client: httpx.AsyncClient
) -> None:
    customer, item = _a_customer(sandbox)["id"], _an_item(sandbox)["id"]
    lines = {"items": [{"item": {"id": item}, "quantity": 2, "rate": 100.5}]}
    orders_before = sum(1 for order in sandbox.store.all("salesOrder") if order["entity"] == customer)
    order_id = _id(
        await client.post(f"{RECORD}/salesOrder", json={"entity": {"id": customer}, "item": lines}), "salesOrder"
    )
    collapsed = (await client.get(f"{RECORD}/salesOrder/{order_id}")).json()
    assert set(collapsed["item"]) == {"links"}
    expanded = (await client.get(f"{RECORD}/salesOrder/{order_id}", params={"expandSubResources": "true"})).json()
    assert expanded["item"]["items"][0]["item"]["id"] == item
    assert expanded["item"]["items"][0]["amount"] == 201.0 and expanded["total"] == 201.0
    assert expanded["entity"]["refName"] == _a_customer(sandbox)["companyName"]

    missing_line = {"items": [{"item": {"id": "99999"}, "quantity": 1}]}
    bad_ref = await client.post(f"{RECORD}/salesOrder", json={"entity": {"id": customer}, "item": missing_line})
    assert bad_ref.status_code == 400 and _error_code(bad_ref) == "INVALID_CONTENT"
    assert bad_ref.json()["o:errorDetails"][0]["o:errorPath"] == "item.items[0].item"
    bad_entity = await client.post(f"{RECORD}/salesOrder", json={"entity": {"id": "99999"}})
    assert bad_entity.status_code == 400 and bad_entity.json()["o:errorDetails"][0]["o:errorPath"] == "entity"
    unknown = await client.post(f"{RECORD}/customer", json={"companyName": "X", "subsidiary": {"id": "102"}, "foo": 1})
    assert unknown.status_code == 400 and unknown.json()["o:errorDetails"][0]["o:errorPath"] == "foo"
    wrong_type = await client.patch(f"{RECORD}/salesOrder/{order_id}", json={"tranDate": "yesterday"})
    assert wrong_type.status_code == 400 and _error_code(wrong_type) == "INVALID_VALUE"
    assert sum(1 for order in sandbox.store.all("salesOrder") if order["entity"] == customer) == orders_before + 1
    assert (await client.get(f"{RECORD}/nonsense/1")).status_code == 404


async def test_eid_upsert_creates_once_then_updates(sandbox: NetSuiteSandbox, client: httpx.AsyncClient) -> None:
    before = len(sandbox.store.records["customer"])
    url = f"{RECORD}/customer/eid:cus_01JUPSERT"
    first = await client.put(url, json={"companyName": "Upserted", "subsidiary": {"id": "102"}})
    second = await client.put(url, json={"companyName": "Upserted again"})
    assert _id(first, "customer") == _id(second, "customer")
    assert len(sandbox.store.records["customer"]) == before + 1
    by_eid = await client.get(url)
    assert by_eid.json()["companyName"] == "Upserted again" and by_eid.json()["externalId"] == "cus_01JUPSERT"
    assert (await client.put(f"{RECORD}/customer/123", json={"companyName": "x"})).status_code == 405
    duplicate = await client.post(
        f"{RECORD}/customer", json={"companyName": "Twin", "subsidiary": {"id": "102"}, "externalId": "cus_01JUPSERT"}
    )
    assert duplicate.status_code == 400 and _error_code(duplicate) == "DUP_RCRD"
    assert len(sandbox.store.records["customer"]) == before + 1


async def test_transform_sales_order_to_invoice(sandbox: NetSuiteSandbox, client: httpx.AsyncClient) -> None:
    customer, item = _a_customer(sandbox)["id"], _an_item(sandbox)["id"]
    body = {"entity": {"id": customer}, "item": {"items": [{"item": {"id": item}, "quantity": 3, "rate": 10}]}}
    order_id = _id(await client.post(f"{RECORD}/salesOrder", json=body), "salesOrder")
    transformed = await client.post(f"{RECORD}/salesOrder/{order_id}/!transform/invoice", json={})
    invoice = (await client.get(f"{RECORD}/invoice/{_id(transformed, 'invoice')}?expandSubResources=true")).json()
    assert invoice["createdFrom"]["id"] == order_id and invoice["entity"]["id"] == customer
    assert invoice["total"] == 30.0 and invoice["amountRemaining"] == 30.0 and invoice["status"] == "Open"
    assert [line["quantity"] for line in invoice["item"]["items"]] == [3.0]
    assert (await client.get(f"{RECORD}/salesOrder/{order_id}")).json()["status"] == "Billed"
    invoice_id = invoice["id"]
    paid = await client.post(f"{RECORD}/invoice/{invoice_id}/!transform/customerPayment", json={})
    payment = (await client.get(f"{RECORD}/customerPayment/{_id(paid, 'customerPayment')}")).json()
    assert payment["customer"]["id"] == customer and payment["payment"] == 30.0
    settled = (await client.get(f"{RECORD}/invoice/{invoice_id}")).json()
    assert settled["amountRemaining"] == 0.0 and settled["status"] == "Paid In Full"
    missing = await client.post(f"{RECORD}/salesOrder/99999/!transform/invoice")
    assert missing.status_code == 404 and _error_code(missing) == "NONEXISTENT_ID"


async def test_posting_in_a_closed_period_is_refused(sandbox: NetSuiteSandbox, client: httpx.AsyncClient) -> None:
    customer, item = _a_customer(sandbox)["id"], _an_item(sandbox)["id"]
    lines = {"items": [{"item": {"id": item}, "quantity": 1, "rate": 50}]}
    before = len(sandbox.store.records["invoice"])
    closed = await client.post(
        f"{RECORD}/invoice", json={"entity": {"id": customer}, "tranDate": "2024-03-15", "item": lines}
    )
    assert closed.status_code == 400 and _error_code(closed) == "CLOSED_TRAN_PRD"
    assert "Mar 2024" in closed.json()["o:errorDetails"][0]["detail"]
    journal = {
        "subsidiary": {"id": "102"},
        "tranDate": "2024-11-30",
        "line": {"items": [{"account": {"id": "2"}, "debit": 10}, {"account": {"id": "4"}, "credit": 10}]},
    }
    assert _error_code(await client.post(f"{RECORD}/journalEntry", json=journal)) == "CLOSED_TRAN_PRD"
    payment = {"customer": {"id": customer}, "payment": 5, "tranDate": "2024-01-02"}
    assert _error_code(await client.post(f"{RECORD}/customerPayment", json=payment)) == "CLOSED_TRAN_PRD"
    assert len(sandbox.store.records["invoice"]) == before
    open_period = await client.post(
        f"{RECORD}/invoice", json={"entity": {"id": customer}, "tranDate": "2025-03-15", "item": lines}
    )
    _id(open_period, "invoice")
    unbalanced = {**journal, "tranDate": "2025-02-01"}
    unbalanced["line"] = {"items": [{"account": {"id": "2"}, "debit": 10}, {"account": {"id": "4"}, "credit": 9}]}
    assert _error_code(await client.post(f"{RECORD}/journalEntry", json=unbalanced)) == "USER_ERROR"


# -- lists and SuiteQL ------------------------------------------------------------------------------
async def test_record_list_pages_with_links(client: httpx.AsyncClient) -> None:
    first = (await client.get(f"{RECORD}/customer", params={"limit": 20})).json()
    assert first["count"] == 20 and first["hasMore"] is True and first["offset"] == 0
    links = {link["rel"]: link["href"] for link in first["links"]}
    assert links["next"] == f"{REST}/record/v1/customer?limit=20&offset=20"
    last = (await client.get(links["last"])).json()
    assert last["hasMore"] is False and last["count"] == first["totalResults"] - last["offset"]
    assert "next" not in {link["rel"] for link in last["links"]}
    bad = await client.get(f"{RECORD}/customer", params={"limit": 5000})
    assert bad.status_code == 400 and _error_code(bad) == "INVALID_PARAMETER"


async def test_suiteql_filters_pages_and_refuses_malformed_queries(
    sandbox: NetSuiteSandbox, client: httpx.AsyncClient
) -> None:
    url = "/services/rest/query/v1/suiteql"
    everyone = await client.post(url, headers=TRANSIENT, json={"q": "SELECT id, companyname FROM customer ORDER BY id"})
    assert everyone.status_code == 200
    assert (
        everyone.json()["totalResults"] == len(sandbox.store.records["customer"])
        and everyone.json()["hasMore"] is False
    )

    query = {"q": "SELECT id, companyname, externalid FROM customer WHERE subsidiary = '102' ORDER BY id"}
    pages, offset = [], 0
    while True:
        page = (await client.post(url, headers=TRANSIENT, params={"limit": 5, "offset": offset}, json=query)).json()
        pages.append(page)
        if not page["hasMore"]:
            break
        offset = page["offset"] + page["count"]
        assert any(link["rel"] == "next" and f"offset={offset}" in link["href"] for link in page["links"])
    rows = [row for page in pages for row in page["items"]]
    expected = [r["id"] for r in sandbox.store.all("customer") if r["subsidiary"] == "102"]
    assert [row["id"] for row in rows] == expected and len(pages) > 1
    assert all(set(row) == {"links", "id", "companyname", "externalid"} for row in rows)

    company = _a_customer(sandbox)["companyName"]
    like = await client.post(
        url, headers=TRANSIENT, json={"q": f"SELECT * FROM customer WHERE companyname LIKE '{company[:3]}%'"}
    )
    assert company in {row["companyname"] for row in like.json()["items"]}
    invoices = await client.post(
        url, headers=TRANSIENT, json={"q": "SELECT id, tranid, trandate FROM transaction WHERE type = 'CustInvc'"}
    )
    assert invoices.json()["totalResults"] == len(sandbox.store.records["invoice"]) > 0
    assert all(row["trandate"].count("/") == 2 for row in invoices.json()["items"])  # M/D/YYYY, as SuiteQL writes it

    malformed = (
        "SELECT FROM customer",
        "DROP TABLE customer",
        "SELECT id FROM customer WHERE 1=1 OR 2=2",
        "SELECT nope FROM customer",
        "SELECT id FROM ghosts",
        "SELECT id FROM customer WHERE id = __import__",
        "",
    )
    for bad in malformed:
        refused = await client.post(url, headers=TRANSIENT, json={"q": bad})
        assert refused.status_code == 400 and _error_code(refused) == "INVALID_PARAMETER", bad
    no_prefer = await client.post(url, json={"q": "SELECT id FROM customer"})
    assert no_prefer.status_code == 400


async def test_paging_needs_aligned_offsets_and_stops_at_the_result_cap(client: httpx.AsyncClient) -> None:
    """NetSuite pages in whole pages (offset a multiple of limit); SuiteQL stops at 100,000 results."""
    url = "/services/rest/query/v1/suiteql"
    query = {"q": "SELECT id FROM customer ORDER BY id"}
    aligned = await client.post(url, headers=TRANSIENT, params={"limit": 5, "offset": 10}, json=query)
    assert aligned.status_code == 200 and aligned.json()["offset"] == 10
    for params in ({"limit": 5, "offset": 7}, {"limit": 1000, "offset": 100_000}):
        refused = await client.post(url, headers=TRANSIENT, params=params, json=query)
        assert refused.status_code == 400 and _error_code(refused) == "INVALID_PARAMETER", params
        assert "offset" in refused.json()["o:errorDetails"][0]["detail"]
    listed = await client.get(f"{RECORD}/customer", params={"limit": 4, "offset": 6})
    assert listed.status_code == 400 and _error_code(listed) == "INVALID_PARAMETER"


# -- async, idempotency, concurrency ----------------------------------------------------------------
async def test_async_job_walks_job_task_result_and_refuses_a_duplicate_key(pair: KeyPair) -> None:
    """Oracle's walk: 202 + job URL; the job is pending for a while, then names its tasks; the task
    links its result; a repeated idempotency key creates nothing and names the original job."""
    sandbox = create_netsuite_sandbox(
        client_id=CLIENT_ID, certificates={pair.certificate_id: pair.public_pem}, job_pending_polls=2
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE) as client:
        client.headers["Authorization"] = f"Bearer {(await _token(client, pair)).json()['access_token']}"
        before = len(sandbox.store.records["customer"])
        headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": "5f1d7c1e-2d7e-4e8f-9b1a-0c0ffee00001"}
        body = {"companyName": "Async Co", "subsidiary": {"id": "102"}, "externalId": "async-co"}
        accepted = await client.post(f"{RECORD}/customer", headers=headers, json=body)
        assert accepted.status_code == 202 and accepted.headers["preference-applied"] == "respond-async"
        job_url = accepted.headers["location"]
        assert job_url.startswith(f"{REST}/async/v1/job/")
        polls = [(await client.get(job_url)).json() for _ in range(3)]
        assert [(p["completed"], p["progress"]) for p in polls] == [
            (False, "pending"), (False, "pending"), (True, "succeeded")
        ]  # fmt: skip
        job = polls[-1]
        assert job["links"] == [{"rel": "self", "href": job_url}]
        assert job["task"]["links"] == [{"rel": "self", "href": f"{job_url}/task"}]
        tasks = (await client.get(job["task"]["links"][0]["href"])).json()
        task_url = tasks["items"][0]["links"][0]["href"]
        task = (await client.get(task_url)).json()
        assert task["completed"] is True and task["progress"] == "succeeded" and task["startTime"] and task["endTime"]
        result_url = next(link["href"] for link in task["links"] if link["rel"] == "related")
        assert result_url == f"{task_url}/result"
        result = await client.get(result_url)
        assert result.status_code == 200 and "location" not in result.headers
        assert result.json() == {"links": [{"rel": "self", "href": result_url}]}  # names no record
        created = (await client.get(f"{RECORD}/customer/eid:async-co")).json()
        assert created["companyName"] == "Async Co"

        duplicate = await client.post(f"{RECORD}/customer", headers=headers, json=body)
        assert duplicate.status_code == 400 and _error_code(duplicate) == "IDEMPOTENCY_ERROR"
        assert job_url in duplicate.json()["o:errorDetails"][0]["detail"]
        assert len(sandbox.store.records["customer"]) == before + 1

        failing = await client.post(
            f"{RECORD}/customer", headers={"Prefer": "respond-async"}, json={"companyName": "x"}
        )
        assert failing.status_code == 202
        failed_job = [(await client.get(failing.headers["location"])).json() for _ in range(3)][-1]
        assert failed_job["completed"] is True and failed_job["progress"] == "failed"
        failed_result = await client.get(f"{failing.headers['location']}/task/{failed_job['id']}/result")
        assert failed_result.status_code == 400 and _error_code(failed_result) == "USER_ERROR"


async def test_more_than_the_concurrency_limit_gets_429(sandbox: NetSuiteSandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.add(FaultRule(kind="latency", latency_seconds=0.2, path_prefix=f"{RECORD}/customer"))
    answers = await asyncio.gather(*(client.get(f"{RECORD}/customer", params={"limit": 1}) for _ in range(7)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 5 + [429] * 2
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert _error_code(refused) == "CONCURRENCY_LIMIT_EXCEEDED"
    sandbox.faults.clear()
    assert (await client.get(f"{RECORD}/customer", params={"limit": 1})).status_code == 200
    assert (await client.get("/_control/counts")).json()["concurrency_refused"] == 2


# -- faults ---------------------------------------------------------------------------------------
async def test_injected_faults_speak_netsuite(sandbox: NetSuiteSandbox, client: httpx.AsyncClient) -> None:
    added = await client.post(
        "/_control/faults", json={"kind": "status", "status": 429, "retry_after": 3, "count": 1, "method": "GET"}
    )
    assert added.status_code == 201
    limited = await client.get(f"{RECORD}/customer")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert _error_code(limited) == "CONCURRENCY_LIMIT_EXCEEDED" and limited.json()["title"] == "Too Many Requests"
    assert (await client.get(f"{RECORD}/customer")).status_code == 200

    sandbox.faults.add(FaultRule(kind="status", status=502, path_prefix="/services/rest/query"))
    broken = await client.post("/services/rest/query/v1/suiteql", headers=TRANSIENT, json={"q": "SELECT id FROM item"})
    assert broken.status_code == 502 and _error_code(broken) == "UNEXPECTED_ERROR"
    assert broken.headers["content-type"].startswith("application/vnd.oracle.resource+json")
    assert (await client.delete("/_control/faults")).status_code == 204
    counts = (await client.get("/_control/counts")).json()
    assert counts["faults_injected"] == {"status": 2} and counts["active_rules"] == 0
    assert (await client.post("/_control/faults", json={"kind": "explode"})).status_code == 400
    assert (await client.post("/_control/reset")).status_code == 204
    assert (await client.get("/_control/counts")).json()["requests"] == 0


async def test_lost_response_applies_the_write_then_fails(sandbox: NetSuiteSandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.add(FaultRule(kind="lost_response", status=504, method="PUT", count=1))
    url = f"{RECORD}/customer/eid:lost-answer-1"
    lost = await client.put(url, json={"companyName": "Written Anyway", "subsidiary": {"id": "102"}})
    assert lost.status_code == 504 and _error_code(lost) == "UNEXPECTED_ERROR"
    assert (await client.get(url)).json()["companyName"] == "Written Anyway"
    retried = await client.put(url, json={"companyName": "Written Anyway", "subsidiary": {"id": "102"}})
    assert retried.status_code == 204
    assert sum(1 for c in sandbox.store.all("customer") if c["externalId"] == "lost-answer-1") == 1


# -- seed and persistence -----------------------------------------------------------------------------
async def test_seed_matches_the_salesforce_sandbox(sandbox: NetSuiteSandbox) -> None:
    salesforce = create_salesforce_sandbox(client_id=CLIENT_ID, client_secret="sandbox-secret")
    accounts = salesforce.store.all("Account")
    customers = sandbox.store.all("customer")
    assert {a["Name"] for a in accounts} == {c["companyName"] for c in customers}
    by_account = {c["externalId"]: c for c in customers}
    assert set(by_account) == {a["Id"] for a in accounts}
    for account in accounts:
        customer = by_account[account["Id"]]
        assert customer["companyName"] == account["Name"] and customer["url"] == account["Website"]
        if account["ParentId"]:
            assert sandbox.store.records["customer"][customer["parent"]]["externalId"] == account["ParentId"]
    codes = {p["ProductCode"] for p in salesforce.store.all("Product2")}
    assert {i["itemId"] for i in sandbox.store.all("serviceSaleItem")} == codes
    won = {o["Id"] for o in salesforce.store.all("Opportunity") if o["StageName"] == "Closed Won"}
    assert {o["externalId"] for o in sandbox.store.all("salesOrder")} == won
    periods = sandbox.store.all("accountingPeriod")
    assert any(p["closed"] for p in periods) and any(not p["closed"] for p in periods)
    assert len(sandbox.store.all("subsidiary")) >= 3
    assert create_netsuite_sandbox(client_id=CLIENT_ID).store.records == sandbox.store.records
    assert set(RECORD_TYPES) >= {"customer", "salesOrder", "invoice", "customerPayment", "creditMemo", "journalEntry"}


async def test_state_persists_across_restarts(tmp_path: Path, pair: KeyPair) -> None:
    certificates: dict[str, bytes | str] = {pair.certificate_id: pair.public_pem}
    first = create_netsuite_sandbox(tmp_path, client_id=CLIENT_ID, certificates=certificates)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE) as plain:
        plain.headers["Authorization"] = f"Bearer {(await _token(plain, pair)).json()['access_token']}"
        headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": "persisted-key"}
        await plain.post(
            f"{RECORD}/customer", headers=headers, json={"companyName": "Survivor", "subsidiary": {"id": "102"}}
        )
    survivor = next(c for c in first.store.all("customer") if c["companyName"] == "Survivor")
    again = create_netsuite_sandbox(tmp_path, client_id=CLIENT_ID, certificates=certificates)
    assert again.store.records["customer"][survivor["id"]]["companyName"] == "Survivor"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=again), base_url=BASE) as plain:
        plain.headers["Authorization"] = f"Bearer {(await _token(plain, pair)).json()['access_token']}"
        duplicate = await plain.post(f"{RECORD}/customer", headers=headers, json={"companyName": "Survivor"})
        fresh = await plain.post(f"{RECORD}/customer", json={"companyName": "Next", "subsidiary": {"id": "102"}})
    assert duplicate.status_code == 400 and _error_code(duplicate) == "IDEMPOTENCY_ERROR"
    assert int(_id(fresh, "customer")) > int(survivor["id"])


async def test_location_carries_the_mount_prefix(sandbox: NetSuiteSandbox, pair: KeyPair) -> None:
    from litestar import Litestar
    from litestar.handlers import asgi

    @asgi("/sandbox/netsuite", is_mount=True, copy_scope=True)
    async def mounted(scope: Any, receive: Any, send: Any) -> None:
        await sandbox(scope, receive, send)

    host = Litestar(route_handlers=[mounted])
    prefix = f"{BASE}/sandbox/netsuite"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=BASE) as plain:
        token_url = f"{prefix}/services/rest/auth/oauth2/v1/token"
        token = await plain.post(token_url, data=_form(make_assertion(pair, CLIENT_ID, token_url)))
        assert token.status_code == 200, token.text
        created = await plain.post(
            f"{prefix}{RECORD}/customer",
            json={"companyName": "Mounted", "subsidiary": {"id": "102"}},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
    assert created.status_code == 204
    assert created.headers["location"].startswith(f"{prefix}/services/rest/record/v1/customer/")


def test_an_uploaded_certificate_survives_a_restart_of_the_sandbox(tmp_path: Path) -> None:
    """NetSuite keeps an uploaded certificate until it is removed: a restarted sandbox (a new one on
    the same state directory) still takes assertions signed with it."""
    from sandboxes.netsuite import create_netsuite_sandbox, generate_key_pair, make_assertion

    pair = generate_key_pair("cert-kept", "ES256")
    token_url = "https://sandbox.test/services/rest/auth/oauth2/v1/token"
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": make_assertion(pair, "strata-sandbox", token_url),
    }
    first = create_netsuite_sandbox(tmp_path / "state", client_id="strata-sandbox")
    first.tokens.register("strata-sandbox", pair.certificate_id, pair.public_pem)
    assert first.tokens.token(form, token_url)["access_token"]
    restarted = create_netsuite_sandbox(tmp_path / "state", client_id="strata-sandbox")
    assert restarted.tokens.token(form, token_url)["access_token"]
    elsewhere = create_netsuite_sandbox(tmp_path / "other", client_id="strata-sandbox")
    with pytest.raises(Exception, match="certificate"):
        elsewhere.tokens.token(form, token_url)
