"""Avalara's official Python SDK (``avalara``), unmodified, against the AvaTax sandbox on a loopback port.

Every call the tax connector makes is made here through the SDK — ping, ``transactions/create``
(estimates), ``transactions/createoradjust``, the document by code (with ``documentType``), commit,
adjust, void, and QueryCompanies (the preflight) — with the models our mapping builds. The SDK
puts codes into URLs as given (it leaves AvaTax's escaping to the caller), so codes go in escaped
with :func:`~apis.system.tax.connectors.avalara.ava_escape`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from avalara import AvataxClient

from apis.canonical import TaxQuoteRequest, TaxTransactionCreate
from apis.system.tax import mapping as m
from apis.system.tax.connectors.avalara import ava_escape
from sandboxes.avalara import AvalaraSandbox, create_avalara_sandbox
from sandboxes.avalara.seed import ACCOUNT_ID
from tests.support.avalara import quote_body
from tests.support.loopback import serve_on_loopback
from tests.support.sandbox_access import AVALARA_LICENSE_KEY as LICENSE_KEY

_NUMBERS = msgspec.json.Encoder(decimal_format="number")


@pytest.fixture(scope="module")
def sandbox() -> AvalaraSandbox:
    return create_avalara_sandbox(license_key=LICENSE_KEY)


@pytest.fixture(scope="module")
def url(sandbox: AvalaraSandbox) -> Iterator[str]:
    with serve_on_loopback(sandbox) as base:
        yield base


@pytest.fixture(scope="module")
def client(url: str) -> AvataxClient:
    return AvataxClient("Strata tests", "1.0", "localhost", url, timeout_limit=10).add_credentials(
        ACCOUNT_ID, LICENSE_KEY
    )


def _json(model: Any) -> Any:
    """Our model as the SDK sends it (``requests``' json: decimals as JSON numbers)."""
    return json.loads(_NUMBERS.encode(model))


def _invoice(code: str, amount: str = "1000.00") -> Any:
    body = {**quote_body(lines=[{"amount": {"amount": amount, "currency": "USD"}}]), "code": code}
    return _json(m.to_transaction_model(msgspec.convert(body, TaxTransactionCreate)))


def test_ping_says_whether_the_credentials_hold(client: AvataxClient, url: str) -> None:
    answer = client.ping().json()
    assert answer["authenticated"] is True and answer["authenticationType"] == "AccountIdLicenseKey"
    stranger = AvataxClient("Strata tests", "1.0", "localhost", url).add_credentials(ACCOUNT_ID, "wrong")
    assert stranger.ping().json()["authenticated"] is False


def test_an_estimate_is_not_recorded(client: AvataxClient, sandbox: AvalaraSandbox) -> None:
    model = _json(m.to_model(msgspec.convert(quote_body(), TaxQuoteRequest), code=None, recorded=False))
    response = client.create_transaction(model)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "Temporary" and body["totalTax"] > 0 and body["type"] == "SalesOrder"
    assert sandbox.store.counts()["transactions"] == 0


@pytest.mark.parametrize("code", ["INV-SDK-1", "INV/SDK 2#a+b?c%d"])
def test_an_invoice_through_its_life(client: AvataxClient, code: str) -> None:
    upsert = {"adjustmentReason": "Other", "adjustmentDescription": None, "createTransactionModel": _invoice(code)}
    created = client.create_or_adjust_transaction(upsert)
    assert created.status_code == 201 and created.json()["code"] == code
    in_url, kind = ava_escape(code), {"documentType": "SalesInvoice"}
    read = client.get_transaction_by_code("STRATA-US", in_url, include=kind)
    assert read.status_code == 200 and read.json()["code"] == code and read.json()["version"] == 1
    adjust = {"adjustmentReason": "PriceAdjusted", "adjustmentDescription": None, "newTransaction": _invoice(code, "2")}
    adjusted = client.adjust_transaction("STRATA-US", in_url, adjust, include=kind)
    assert adjusted.status_code == 200 and adjusted.json()["version"] == 2 and adjusted.json()["totalAmount"] == 2
    committed = client.commit_transaction("STRATA-US", in_url, {"commit": True}, include=kind)
    assert committed.status_code == 200 and committed.json()["status"] == "Committed"
    voided = client.void_transaction("STRATA-US", in_url, {"code": "DocVoided"}, include=kind)
    assert voided.status_code == 200 and voided.json()["status"] == "Cancelled"


def test_an_unknown_document_is_avataxs_error_object(client: AvataxClient) -> None:
    response = client.get_transaction_by_code("STRATA-US", "NOPE-1")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "EntityNotFoundError" and error["details"][0]["code"] == "EntityNotFoundError"


def test_query_companies_finds_a_company_code(client: AvataxClient) -> None:
    found = client.query_companies({"$filter": "companyCode eq 'STRATA-DE'"}).json()
    assert found["@recordsetCount"] == 1 and found["value"][0]["companyCode"] == "STRATA-DE"
    assert client.query_companies({"$filter": "companyCode eq 'STRATA-XX'"}).json()["value"] == []
    every = client.query_companies().json()
    assert {c["companyCode"] for c in every["value"]} == {"STRATA-US", "STRATA-DE", "STRATA-GB"}
