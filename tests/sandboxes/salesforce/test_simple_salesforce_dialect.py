"""Dialect fidelity: the unmodified simple-salesforce library works against the sandbox.

simple-salesforce builds ``https://<instance>/services/data/v59.0/...`` URLs itself; its
documented ``session`` argument takes a ``requests.Session`` whose adapter here hands every
request to the sandbox ASGI app, running on an event loop in a background thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from requests.adapters import BaseAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceResourceNotFound

from sandboxes.salesforce import SalesforceSandbox, create_salesforce_sandbox
from sandboxes.salesforce.schema import SOBJECTS
from tests.support.sandbox_access import CLIENT_ID, CLIENT_SECRET


class ASGIAdapter(BaseAdapter):
    """A requests transport adapter that calls an ASGI app on a background event loop."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        call = self._client.request(
            request.method or "GET", request.url or "", headers=dict(request.headers), content=request.body
        )
        answer = asyncio.run_coroutine_threadsafe(call, self._loop).result(timeout=30)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update(answer.headers)
        response._content = answer.content
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@pytest.fixture
def sandbox() -> SalesforceSandbox:
    return create_salesforce_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
def sf(sandbox: SalesforceSandbox) -> Iterator[Salesforce]:
    adapter = ASGIAdapter(sandbox)
    session = requests.Session()
    session.mount("https://", adapter)
    token = session.post(
        "https://salesforce.sandbox/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "strata-sandbox", "client_secret": "sandbox-secret"},
    ).json()
    yield Salesforce(instance_url=token["instance_url"], session_id=token["access_token"], session=session)
    adapter.close()


def test_query_and_query_all_follow_next_records_url(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    with sandbox.store.batch():
        for number in range(2100):
            sandbox.store.create(SOBJECTS["Contact"], {"LastName": f"Paged {number:04d}"})
    first = sf.query("SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Paged%'")
    assert first["totalSize"] == 2100 and not first["done"] and len(first["records"]) == 2000
    everything = sf.query_all("SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Paged%'")
    assert len(everything["records"]) == 2100
    assert everything["records"][0]["attributes"]["type"] == "Contact"
    won = sf.query("SELECT Id, Name FROM Opportunity WHERE StageName = 'Closed Won' LIMIT 3")
    assert 0 < len(won["records"]) <= 3


def test_sobject_get_create_update_upsert_delete(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Dialect Check", "Website": "https://dialect.example"})
    assert created["success"] is True
    record = sf.Account.get(created["id"])
    assert record["Name"] == "Dialect Check" and record["attributes"]["type"] == "Account"
    assert sf.Account.update(created["id"], {"Industry": "Media"}) == 204
    assert sf.Account.get(created["id"])["Industry"] == "Media"
    assert sf.Account.upsert("Strata_Id__c/cus_01JDIALECT", {"Name": "By external id"}) == 201
    assert sf.Account.upsert("Strata_Id__c/cus_01JDIALECT", {"Name": "By external id, again"}) == 204
    assert sf.Account.get_by_custom_id("Strata_Id__c", "cus_01JDIALECT")["Name"] == "By external id, again"
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(created["id"])


@pytest.fixture
def session(sandbox: SalesforceSandbox) -> Iterator[requests.Session]:
    adapter = ASGIAdapter(sandbox)
    session = requests.Session()
    session.mount("https://", adapter)
    yield session
    adapter.close()


def test_the_client_credentials_token_flow(session: requests.Session) -> None:
    # simple-salesforce's own login: consumer key and secret, no user → grant_type=client_credentials,
    # which Salesforce serves only on the org's My Domain (the library refuses login/test).
    domain = "strata-sandbox.my"
    sf = Salesforce(consumer_key="strata-sandbox", consumer_secret="sandbox-secret", domain=domain, session=session)
    assert sf.sf_instance == "strata-sandbox.my.salesforce.com" and sf.session_id.startswith("00D")
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    with pytest.raises(SalesforceAuthenticationFailed) as refused:
        Salesforce(consumer_key="strata-sandbox", consumer_secret="wrong", domain=domain, session=session)
    assert refused.value.code == "invalid_client"


def test_composite_upsert_and_read_as_the_crm_service_sends_them(sf: Salesforce) -> None:
    path = f"/services/data/v{sf.sf_version}/sobjects/Account/Strata_Id__c/cus_01JCOMPOSITE"
    request = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "PATCH", "url": path, "referenceId": "upsert", "body": {"Name": "Composite GmbH"}},
            {"method": "GET", "url": f"{path}?fields=Id,Name,Strata_Id__c", "referenceId": "read"},
        ],
    }
    answer = sf.restful("composite", method="POST", json=request)
    upserted, read = answer["compositeResponse"]
    assert (upserted["httpStatusCode"], upserted["referenceId"]) == (201, "upsert")
    assert read["httpStatusCode"] == 200 and read["body"]["Name"] == "Composite GmbH"
    assert read["body"]["Id"] == upserted["body"]["id"]
    request["compositeRequest"][0]["body"] = {"Name": "Composite GmbH", "Nope__c": "x"}
    failed = sf.restful("composite", method="POST", json=request)["compositeResponse"]
    assert failed[0]["httpStatusCode"] == 400 and failed[0]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert failed[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"


def test_describe_lists_the_custom_fields_the_preflight_reads(sf: Salesforce) -> None:
    fields = {field["name"]: field for field in sf.Account.describe()["fields"]}
    assert fields["Strata_Id__c"]["externalId"] is True and fields["Strata_Id__c"]["custom"] is True
    assert [v["value"] for v in fields["Billing_Status__c"]["picklistValues"]] == [
        "Prospect", "Active", "Past Due", "Suspended", "Churned",
    ]  # fmt: skip
    assert "CurrencyIsoCode" in fields and "BillingCountryCode" in fields
