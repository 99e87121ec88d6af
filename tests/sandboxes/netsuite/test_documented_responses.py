"""NetSuite's documented responses: the sandbox answers in their shapes, the connector parses them.

The fixtures (``vendor/documented-responses.json``, see ``vendor/README.md``) transcribe what
Oracle's Help Center documents: the token, a record create and an ``eid:`` upsert, a SuiteQL
page, the asynchronous job/task/result walk and ``o:errorDetails``. The sandbox is compared with
them shape by shape (keys, JSON types, link relations); the connector is then pointed at a
transport that serves the fixtures as they are.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from apis.system.erp.connectors.netsuite import NetSuiteConfig, NetSuiteConnector, NetSuiteCredentials, record_named
from apis.system.erp.connectors.netsuite_http import parse_location
from core.errors import UpstreamRejected
from sandboxes.netsuite import KeyPair, NetSuiteSandbox, create_netsuite_sandbox, generate_key_pair, make_assertion

DOCUMENTED: dict[str, Any] = json.loads((Path(__file__).parent / "vendor" / "documented-responses.json").read_text())
BASE = "http://netsuite.sandbox"
ACCOUNT = "https://demo123.suitetalk.api.netsuite.com"
RECORD_URL = re.compile(r"/services/rest/record/v1/[A-Za-z]+/\d+$")
JOB_URL = re.compile(r"/services/rest/async/v1/job/\d+$")


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively (a list by the shape of its first element)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def rels(body: dict[str, Any]) -> set[str]:
    return {link["rel"] for link in body["links"]}


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return generate_key_pair("cert-documented", "ES256")


@pytest.fixture
def sandbox(pair: KeyPair) -> NetSuiteSandbox:
    return create_netsuite_sandbox(
        client_id="strata-sandbox", certificates={pair.certificate_id: pair.public_pem}, job_pending_polls=1
    )


async def test_the_sandbox_answers_in_the_documented_shapes(sandbox: NetSuiteSandbox, pair: KeyPair) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE) as client:
        assertion = make_assertion(pair, "strata-sandbox", f"{BASE}/services/rest/auth/oauth2/v1/token")
        form = {"grant_type": "client_credentials", "client_assertion": assertion,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}  # fmt: skip
        token = await client.post("/services/rest/auth/oauth2/v1/token", data=form)
        assert token.status_code == 200 and shape(token.json()) == shape(DOCUMENTED["token"]["body"])
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

        subsidiary = sandbox.store.all("subsidiary")[-1]["id"]
        created = await client.post(
            "/services/rest/record/v1/customer", json={"companyName": "Shape Co", "subsidiary": {"id": subsidiary}}
        )
        upserted = await client.put(
            "/services/rest/record/v1/customer/eid:shape-co",
            json={"companyName": "Shape Co", "subsidiary": {"id": subsidiary}},
        )
        for answer, name in ((created, "record_create"), (upserted, "record_upsert")):
            assert answer.status_code == DOCUMENTED[name]["status"] and answer.content == b""
            assert RECORD_URL.search(urlsplit(answer.headers["location"]).path), name

        query = {"q": "SELECT id, companyname FROM customer ORDER BY id"}
        page = await client.post(
            "/services/rest/query/v1/suiteql",
            params={"limit": 2, "offset": 2},
            headers={"Prefer": "transient"},
            json=query,
        )
        documented_page = DOCUMENTED["suiteql_page"]["body"]
        assert page.status_code == 200 and set(page.json()) == set(documented_page)
        assert {k: shape(v) for k, v in page.json().items() if k != "items"} == {
            k: shape(v) for k, v in documented_page.items() if k != "items"
        }
        assert rels(page.json()) >= rels(documented_page) - {"next"} and "links" in page.json()["items"][0]

        accepted = await client.post(
            "/services/rest/record/v1/customer",
            headers={"Prefer": "respond-async"},
            json={"companyName": "Async Shape Co", "subsidiary": {"id": subsidiary}, "externalId": "async-shape"},
        )
        documented_accepted = DOCUMENTED["async_accepted"]
        assert accepted.status_code == documented_accepted["status"]
        assert accepted.headers["preference-applied"] == documented_accepted["headers"]["Preference-Applied"]
        assert JOB_URL.search(urlsplit(accepted.headers["location"]).path)
        job_url = accepted.headers["location"]
        pending, done = [(await client.get(job_url)).json() for _ in range(2)]
        assert shape(pending) == shape(DOCUMENTED["async_job_pending"]["body"]) and pending["progress"] == "pending"
        assert shape(done) == shape(DOCUMENTED["async_job_done"]["body"]) and done["completed"] is True
        tasks = (await client.get(done["task"]["links"][0]["href"])).json()
        assert shape(tasks) == shape(DOCUMENTED["async_tasks"]["body"])
        task = (await client.get(tasks["items"][0]["links"][0]["href"])).json()
        assert shape(task) == shape(DOCUMENTED["async_task"]["body"]) and rels(task) == {"related", "self"}

        refused = await client.post("/services/rest/record/v1/customer", json={"companyName": "x", "entity": 1})
        documented_error = DOCUMENTED["error"]["body"]
        assert refused.status_code == 400 and set(refused.json()) == set(documented_error)
        detail = refused.json()["o:errorDetails"][0]
        assert {"detail", "o:errorCode"} <= set(detail) <= {"detail", "o:errorCode", "o:errorPath", "o:errorHeader",
                                                            "o:errorQueryParam", "o:urlPath"}  # fmt: skip


def _documented_vendor(seen: list[str]) -> httpx.MockTransport:
    """A stand-in that answers each request with the documented fixture for it, unchanged."""

    def answer(name: str, status: int | None = None) -> httpx.Response:
        fixture = DOCUMENTED[name]
        body = fixture.get("body")
        content = json.dumps(body).encode() if body is not None else b""
        return httpx.Response(status or fixture["status"], headers=fixture.get("headers"), content=content)

    polls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        seen.append(f"{request.method} {path}")
        if path.endswith("/auth/oauth2/v1/token"):
            return answer("token")
        if path.endswith("/query/v1/suiteql"):
            return answer("suiteql_page")
        if path.endswith("/record/v1/customer") and request.method == "POST":
            return answer("async_accepted") if request.headers.get("prefer") == "respond-async" else answer("error")
        if path.endswith("/async/v1/job/1"):
            polls.append(1)
            return answer("async_job_pending" if len(polls) == 1 else "async_job_done")
        if path.endswith("/async/v1/job/1/task"):
            return answer("async_tasks")
        if path.endswith("/async/v1/job/1/task/1"):
            return answer("async_task")
        if path.endswith("/async/v1/job/1/task/1/result"):
            return answer("async_result_record")
        raise AssertionError(f"no documented answer for {request.method} {path}")

    return httpx.MockTransport(handler)


async def test_the_connector_parses_the_documented_responses() -> None:
    seen: list[str] = []
    client = httpx.AsyncClient(transport=_documented_vendor(seen), base_url=ACCOUNT)
    key = generate_key_pair("cert-documented", "PS256")
    credentials = NetSuiteCredentials("client-id", key.certificate_id, key.private_key, key.algorithm)
    config = NetSuiteConfig(max_retries=0, job_poll_seconds=0.001)
    connector = NetSuiteConnector(client, ACCOUNT, credentials, config)

    token = await connector._tokens.current()
    assert token.expires_in == 3600  # "3600", a string, read as a number of seconds

    rows, has_more = await connector.suiteql_page("SELECT id, companyname FROM customer", 2, 0)
    assert [row["id"] for row in rows] == ["107", "108"] and has_more is True

    for name in ("record_create", "record_upsert"):
        assert parse_location(DOCUMENTED[name]["headers"]["Location"])[0] == "customer"

    status, location, result = await connector._job_result("/services/rest/async/v1/job/1")
    assert (status, location) == (200, None) and result["companyName"] == "Example Company A"
    assert record_named(location, result) == "647"  # the record a result body links to
    assert seen[-5:] == [
        "GET /services/rest/async/v1/job/1",
        "GET /services/rest/async/v1/job/1",
        "GET /services/rest/async/v1/job/1/task",
        "GET /services/rest/async/v1/job/1/task/1",
        "GET /services/rest/async/v1/job/1/task/1/result",
    ]

    with pytest.raises(UpstreamRejected) as refused:
        await connector._call("POST", "/record/v1/customer", json={}, idempotent=False)
    assert refused.value.vendor_code == "INVALID_VALUE" and "entity" in refused.value.detail
    await client.aclose()
