"""The AvaTax sandbox speaks AvaTax's dialect: auth, transactions, the rate table, errors, state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.avalara import AvalaraSandbox, create_avalara_sandbox
from sandboxes.faults import FaultRule
from tests.support.sandbox_access import operator_hooks

BASE = "http://avalara.sandbox"
AUTH = ("1100000000", "sandbox-license-key")
CREATE = "/api/v2/transactions/create"
UPSERT = "/api/v2/transactions/createoradjust"
SEATTLE = {"line1": "255 S King St", "city": "Seattle", "region": "WA", "postalCode": "98104", "country": "US"}
SAN_FRANCISCO = {
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postalCode": "94105",
    "country": "US",
}
BERLIN = {"line1": "Friedrichstraße 68", "city": "Berlin", "postalCode": "10117", "country": "DE"}
PARIS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postalCode": "75001", "country": "FR"}


def invoice(
    code: str, *, company: str = "STRATA-US", ship_to: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    model = {
        "type": "SalesInvoice", "code": code, "companyCode": company, "date": "2026-03-01", "customerCode": "CUST-1",
        "commit": True, "currencyCode": "USD",
        "addresses": {"shipFrom": SEATTLE, "shipTo": ship_to or SAN_FRANCISCO},
        "lines": [{"number": "1", "quantity": 2, "amount": 1000, "itemCode": "STRATA-CORE", "taxCode": "SW054000"}],
    }  # fmt: skip
    model.update(extra)
    return model


@pytest.fixture
def sandbox() -> AvalaraSandbox:
    return create_avalara_sandbox(license_key=AUTH[1])


@pytest.fixture
async def ava(sandbox: AvalaraSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE, auth=AUTH, event_hooks=operator_hooks(sandbox)
    ) as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()["error"]
    assert set(body) >= {"code", "message", "target", "details"}
    assert set(body["details"][0]) >= {"code", "number", "message", "faultCode", "severity"}
    return dict(body)


async def test_ping_answers_without_credentials_and_says_whether_they_are_valid(ava: httpx.AsyncClient) -> None:
    anonymous = await ava.get("/api/v2/utilities/ping", auth=None)
    assert anonymous.status_code == 200 and anonymous.json()["authenticated"] is False
    signed_in = await ava.get("/api/v2/utilities/ping", headers={"X-Avalara-Client": "strata; 1.0; python; 1.0"})
    assert signed_in.json()["authenticated"] is True
    assert signed_in.json()["authenticationType"] == "AccountIdLicenseKey"


async def test_a_wrong_license_key_is_an_authentication_exception(ava: httpx.AsyncClient) -> None:
    response = await ava.post(CREATE, json=invoice("INV-1"), auth=(AUTH[0], "wrong"))
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "AuthenticationException" and error["target"] == "HttpRequestHeaders"
    assert (await ava.post(CREATE, json=invoice("INV-1"), auth=None)).status_code == 401


async def test_us_state_and_local_rates(ava: httpx.AsyncClient) -> None:
    response = await ava.post(CREATE, json=invoice("INV-SF"))
    assert response.status_code == 201
    body = response.json()
    # San Francisco: 6% state + 0.25% county + 2.375% district = 8.625% of 1000.
    assert (body["status"], body["totalAmount"], body["totalTaxable"], body["totalTax"]) == (
        "Committed",
        1000,
        1000,
        86.25,
    )
    details = body["lines"][0]["details"]
    assert [d["jurisdictionType"] for d in details] == ["State", "County", "Special"]
    assert sum(Decimal(str(d["rate"])) for d in details) == Decimal("0.08625")
    assert {s["jurisCode"] for s in body["summary"]} == {"CA", "075", "EMTS0"}
    no_nexus = await ava.post(
        CREATE, json=invoice("INV-OR", ship_to={**SAN_FRANCISCO, "region": "OR", "postalCode": "97201"})
    )
    assert no_nexus.json()["totalTax"] == 0 and no_nexus.json()["lines"][0]["details"] == []
    by_name = await ava.post(CREATE, json=invoice("INV-NAME", ship_to={**SEATTLE, "region": "Washington"}))
    assert by_name.json()["totalTax"] == 103.5  # Seattle: 6.5% + 3.85%


async def test_eu_b2c_sale_charges_the_buyer_countrys_vat(ava: httpx.AsyncClient) -> None:
    domestic = await ava.post(CREATE, json=invoice("DE-1", company="STRATA-DE", ship_to=BERLIN, currencyCode="EUR",
                                                   businessIdentificationNo="DE123456789"))  # fmt: skip
    assert domestic.json()["totalTax"] == 190  # domestic: VAT even with a VAT id
    b2c = await ava.post(CREATE, json=invoice("DE-2", company="STRATA-DE", ship_to=PARIS, currencyCode="EUR"))
    body = b2c.json()
    assert body["totalTax"] == 200 and body["currencyCode"] == "EUR"
    detail = body["lines"][0]["details"][0]
    assert (detail["country"], detail["rate"], detail["taxType"], detail["rateType"]) == (
        "FR",
        0.2,
        "Output",
        "Standard",
    )


async def test_eu_b2b_cross_border_sale_is_reverse_charged(ava: httpx.AsyncClient) -> None:
    model = invoice(
        "DE-3", company="STRATA-DE", ship_to=PARIS, currencyCode="EUR", businessIdentificationNo="FR12345678901"
    )
    body = (await ava.post(CREATE, json=model)).json()
    assert body["totalTax"] == 0 and body["totalTaxable"] == 1000
    detail = body["lines"][0]["details"][0]
    assert detail["rateType"] == "ReverseCharge" and detail["taxName"].endswith("REVERSE CHARGE") and detail["tax"] == 0
    assert body["messages"][0]["summary"].startswith("Reverse charge")
    export = await ava.post(CREATE, json=invoice("DE-4", company="STRATA-DE", ship_to=SAN_FRANCISCO))
    assert export.json()["totalTax"] == 0 and export.json()["lines"][0]["details"] == []


async def test_sales_orders_are_estimates_and_never_saved(sandbox: AvalaraSandbox, ava: httpx.AsyncClient) -> None:
    response = await ava.post(CREATE, json=invoice("Q-1", type="SalesOrder"))
    assert response.status_code == 201 and response.json()["status"] == "Temporary" and response.json()["id"] == 0
    assert (await ava.get("/api/v2/companies/STRATA-US/transactions/Q-1")).status_code == 404
    assert sandbox.store.counts()["transactions"] == 0 and sandbox.store.counts()["writes_applied_total"] == 0


async def test_a_committed_code_cannot_be_created_twice_but_createoradjust_repeats_safely(
    sandbox: AvalaraSandbox, ava: httpx.AsyncClient
) -> None:
    first = await ava.post(CREATE, json=invoice("INV-2"))
    duplicate = await ava.post(CREATE, json=invoice("INV-2"))
    assert duplicate.status_code == 400 and error_of(duplicate)["code"] == "DocumentCodeConflict"
    repeat = await ava.post(UPSERT, json={"createTransactionModel": invoice("INV-2")})
    assert repeat.status_code == 201 and repeat.json()["id"] == first.json()["id"] and repeat.json()["version"] == 1
    changed = invoice("INV-2", lines=[{"number": "1", "quantity": 1, "amount": 500}])
    adjusted = await ava.post(UPSERT, json={"adjustmentReason": "PriceAdjusted", "createTransactionModel": changed})
    body = adjusted.json()
    assert (body["version"], body["adjustmentReason"], body["totalAmount"], body["status"]) == (
        2,
        "PriceAdjusted",
        500,
        "Committed",
    )
    assert sandbox.store.counts()["writes_applied"] == {"create": 1, "adjust": 1}
    assert sandbox.store.counts()["transactions_by_status"] == {"Committed": 1}


async def test_an_uncommitted_document_is_replaced_then_committed(ava: httpx.AsyncClient) -> None:
    await ava.post(CREATE, json=invoice("INV-3", commit=False))
    replaced = await ava.post(CREATE, json=invoice("INV-3", commit=False, lines=[{"amount": 10}]))
    assert replaced.status_code == 201 and replaced.json()["status"] == "Saved" and replaced.json()["totalAmount"] == 10
    committed = await ava.post("/api/v2/companies/STRATA-US/transactions/INV-3/commit", json={"commit": True})
    assert committed.json()["status"] == "Committed"
    fetched = await ava.get("/api/v2/companies/STRATA-US/transactions/INV-3")
    assert fetched.json()["status"] == "Committed" and fetched.json()["totalAmount"] == 10


async def test_void_and_adjust(ava: httpx.AsyncClient) -> None:
    await ava.post(CREATE, json=invoice("INV-4"))
    doc = "/api/v2/companies/STRATA-US/transactions/INV-4"
    no_reason = await ava.post(f"{doc}/adjust", json={"adjustmentReason": "Other", "newTransaction": invoice("x")})
    assert no_reason.status_code == 400 and error_of(no_reason)["details"][0]["refersTo"] == "adjustmentDescription"
    new = invoice("ignored", lines=[{"amount": 100}])
    adjusted = await ava.post(f"{doc}/adjust", json={"adjustmentReason": "ProductReturned", "newTransaction": new})
    assert (
        adjusted.json()["code"] == "INV-4" and adjusted.json()["version"] == 2 and adjusted.json()["totalTax"] == 8.63
    )
    voided = await ava.post(f"{doc}/void", json={"code": "DocVoided"})
    assert voided.status_code == 200 and voided.json()["status"] == "Cancelled"
    assert (await ava.post(f"{doc}/void", json={"code": "DocVoided"})).json()["status"] == "Cancelled"
    locked = await ava.post(f"{doc}/adjust", json={"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("x")})
    assert locked.status_code == 400 and error_of(locked)["code"] == "InvalidDocumentStatus"
    bad_reason = await ava.post(f"{doc}/void", json={"code": "Because"})
    assert bad_reason.status_code == 400 and error_of(bad_reason)["code"] == "InvalidParameterValue"
    missing = await ava.post("/api/v2/companies/STRATA-US/transactions/NOPE/void", json={"code": "DocVoided"})
    assert missing.status_code == 404 and error_of(missing)["code"] == "EntityNotFoundError"


async def test_same_code_for_two_types_needs_the_document_type(ava: httpx.AsyncClient) -> None:
    await ava.post(CREATE, json=invoice("INV-5"))
    await ava.post(CREATE, json=invoice("INV-5", type="ReturnInvoice", lines=[{"amount": -100}]))
    both = await ava.get("/api/v2/companies/STRATA-US/transactions/INV-5")
    assert both.status_code == 400 and error_of(both)["code"] == "DocumentCodeConflict"
    one = await ava.get("/api/v2/companies/STRATA-US/transactions/INV-5", params={"documentType": "ReturnInvoice"})
    assert one.json()["type"] == "ReturnInvoice" and one.json()["totalAmount"] == -100


@pytest.mark.parametrize(
    ("change", "code", "refers_to"),
    [
        (
            {"addresses": {"shipTo": {**SAN_FRANCISCO, "postalCode": None}}},
            "AddressIncomplete",
            "addresses.shipTo.postalCode",
        ),
        ({"addresses": {"shipTo": {**SAN_FRANCISCO, "region": ""}}}, "AddressIncomplete", "addresses.shipTo.region"),
        (
            {"addresses": {"singleLocation": {"city": "Nowhere"}}},
            "AddressIncomplete",
            "addresses.singleLocation.country",
        ),
        ({"addresses": {}}, "ValueRequiredError", "addresses"),
        ({"customerCode": None}, "ValueRequiredError", "customerCode"),
        ({"lines": []}, "MissingLine", "lines"),
        ({"lines": [{"quantity": 1}]}, "ValueRequiredError", "lines[0].amount"),
        ({"lines": [{"amount": "lots"}]}, "InvalidParameterValue", "lines[0].amount"),
        ({"date": "yesterday"}, "InvalidParameterValue", "date"),
        ({"type": "Estimate"}, "InvalidParameterValue", "type"),
    ],
)
async def test_model_errors_name_the_field(
    ava: httpx.AsyncClient, change: dict[str, Any], code: str, refers_to: str
) -> None:
    response = await ava.post(CREATE, json=invoice("INV-ERR", **change))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code and error["details"][0]["refersTo"] == refers_to


async def test_unknown_company_and_malformed_bodies(ava: httpx.AsyncClient) -> None:
    unknown = await ava.post(CREATE, json=invoice("INV-6", company="NOPE"))
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "EntityNotFoundError"
    garbage = await ava.post(CREATE, content=b"{", headers={"content-type": "application/json"})
    assert garbage.status_code == 400 and error_of(garbage)["code"] == "ValidationException"
    nothing = await ava.post(UPSERT, json={"adjustmentReason": "Other"})
    assert nothing.status_code == 400 and error_of(nothing)["details"][0]["refersTo"] == "createTransactionModel"


async def test_injected_faults_speak_avalara_and_lost_responses_still_apply(
    sandbox: AvalaraSandbox, ava: httpx.AsyncClient
) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=2, count=1))
    throttled = await ava.post(UPSERT, json={"createTransactionModel": invoice("INV-7")})
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "2"
    assert error_of(throttled)["code"] == "RequestLimitExceeded"
    sandbox.faults.add(FaultRule(kind="lost_response", status=503, count=1))
    lost = await ava.post(UPSERT, json={"createTransactionModel": invoice("INV-7")})
    assert lost.status_code == 503 and error_of(lost)["details"][0]["faultCode"] == "Server"
    again = await ava.post(UPSERT, json={"createTransactionModel": invoice("INV-7")})
    assert again.status_code == 201
    counts = (await ava.get("/_control/counts")).json()
    assert counts["writes_applied"] == {"create": 1} and counts["faults_injected"] == {"status": 1, "lost_response": 1}


async def test_state_survives_a_restart_and_reset_forgets_it(tmp_path: Path) -> None:
    first = create_avalara_sandbox(tmp_path, license_key=AUTH[1])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE, auth=AUTH) as client:
        assert (await client.post(CREATE, json=invoice("INV-8"))).status_code == 201
    second = create_avalara_sandbox(tmp_path, license_key=AUTH[1])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=second), base_url=BASE, auth=AUTH, event_hooks=operator_hooks(second)
    ) as client:
        fetched = await client.get("/api/v2/companies/STRATA-US/transactions/INV-8")
        assert fetched.json()["totalTax"] == 86.25
        repeat = await client.post(UPSERT, json={"createTransactionModel": invoice("INV-8")})
        assert repeat.json()["version"] == 1  # the stored content still matches after the restart
        assert (await client.post("/_control/reset")).status_code == 204
        assert (await client.get("/api/v2/companies/STRATA-US/transactions/INV-8")).status_code == 404
        assert (await client.get("/_control/counts")).json()["writes_applied_total"] == 0
