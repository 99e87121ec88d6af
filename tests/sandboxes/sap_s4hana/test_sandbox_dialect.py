"""The sandbox speaks SAP's OData V2 dialect: checked against SAP's published ``$metadata`` and formats."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from sandboxes.sap_s4hana import SapS4HanaSandbox
from tests.sandboxes.sap_s4hana.conftest import ODATA, csrf

pytestmark = pytest.mark.asyncio

SPECS = Path(__file__).parents[3] / "sandboxes" / "sap_s4hana" / "metadata"
PRICE = {"ConditionType": "PPR0", "ConditionRateValue": "100", "ConditionCurrency": "EUR"}
ORDER = {
    "SalesOrderType": "OR", "SalesOrganization": "1010", "DistributionChannel": "10", "OrganizationDivision": "00",
    "TransactionCurrency": "EUR", "PurchaseOrderByCustomer": "dialect-1",
    "to_Item": [{"Material": "STRATA-CORE", "RequestedQuantity": "2", "to_PricingElement": [PRICE]}],
}  # fmt: skip


async def _eur_customer(client: httpx.AsyncClient) -> str:
    params = {"$filter": "Currency eq 'EUR'", "$top": "1"}
    found = await client.get(f"{ODATA}/API_BUSINESS_PARTNER/A_CustomerSalesArea", params=params)
    return str(found.json()["d"]["results"][0]["Customer"])


@pytest.mark.parametrize("service", ["API_BUSINESS_PARTNER", "API_SALES_ORDER_SRV", "API_BILLING_DOCUMENT_SRV",
                                     "API_JOURNALENTRYITEMBASIC_SRV", "API_GLACCOUNTLINEITEM"])  # fmt: skip
async def test_metadata_is_the_published_edmx_byte_for_byte(client: httpx.AsyncClient, service: str) -> None:
    answer = await client.get(f"{ODATA}/{service}/$metadata")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    assert answer.content == (SPECS / f"{service}.edmx").read_bytes()


async def test_every_call_needs_the_communication_user(sandbox: SapS4HanaSandbox) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://s") as anonymous:
        answer = await anonymous.get(f"{ODATA}/API_BUSINESS_PARTNER/A_BusinessPartner")
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic realm=")


async def test_a_write_needs_the_csrf_token_and_its_session(client: httpx.AsyncClient) -> None:
    body = {**ORDER, "SoldToParty": await _eur_customer(client)}
    refused = await client.post(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder", json=body)
    assert refused.status_code == 403 and refused.headers["x-csrf-token"] == "Required"
    headers = await csrf(client, "API_SALES_ORDER_SRV")
    client.cookies.clear()  # the token alone, without the session it belongs to
    no_session = await client.post(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder", json=body,
                                   headers={"x-csrf-token": headers["x-csrf-token"]})  # fmt: skip
    assert no_session.status_code == 403
    created = await client.post(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder", json=body, headers=headers)
    assert created.status_code == 201, created.text
    order = created.json()["d"]
    assert order["TotalNetAmount"] == "200.00" and order["__metadata"]["type"] == "API_SALES_ORDER_SRV.A_SalesOrderType"
    assert order["SalesOrderDate"].startswith("/Date(") and created.headers["location"] == order["__metadata"]["uri"]
    assert order["to_Item"]["results"][0]["NetAmount"] == "200.00"


async def test_errors_have_sap_gateways_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder('999999')")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert set(error) == {"code", "message", "innererror"} and error["message"]["lang"] == "en"
    assert error["innererror"]["errordetails"][0]["code"] == error["code"]
    headers = await csrf(client, "API_SALES_ORDER_SRV")
    unknown = await client.post(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder", json={**ORDER, "Colour": "red"},
                                headers=headers)  # fmt: skip
    assert unknown.status_code == 400 and "Colour" in unknown.json()["error"]["message"]["value"]
    too_long = await client.post(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder",
                                 json={**ORDER, "PurchaseOrderByCustomer": "x" * 36}, headers=headers)  # fmt: skip
    assert too_long.status_code == 400 and "35" in too_long.json()["error"]["message"]["value"]
    read_only = await client.post(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder", json={**ORDER, "TotalNetAmount": "1"},
                                  headers=headers)  # fmt: skip
    assert read_only.status_code == 400


async def test_a_billing_document_is_not_creatable(client: httpx.AsyncClient, sandbox: SapS4HanaSandbox) -> None:
    headers = await csrf(client, "API_BILLING_DOCUMENT_SRV")
    before = dict(sandbox.store.writes)
    refused = await client.post(f"{ODATA}/API_BILLING_DOCUMENT_SRV/A_BillingDocument", json={"BillingDocument": "1"},
                                headers=headers)  # fmt: skip
    assert refused.status_code == 405 and refused.json()["error"]["code"]
    assert sandbox.store.writes == before


async def test_collections_page_with_next_and_count(client: httpx.AsyncClient) -> None:
    first = (await client.get(f"{ODATA}/API_PRODUCT_SRV/A_Product", params={"$inlinecount": "allpages"})).json()["d"]
    assert len(first["results"]) == 5 and int(first["__count"]) == 7
    rest = (await client.get(first["__next"])).json()["d"]
    assert "__next" not in rest
    assert {p["Product"] for p in first["results"]}.isdisjoint({p["Product"] for p in rest["results"]})
    assert len(first["results"]) + len(rest["results"]) == 7


async def test_an_order_leaves_the_billing_run_while_blocked(client: httpx.AsyncClient) -> None:
    headers = await csrf(client, "API_SALES_ORDER_SRV")
    body = {**ORDER, "SoldToParty": await _eur_customer(client), "HeaderBillingBlockReason": "02",
            "PurchaseOrderByCustomer": "dialect-2"}  # fmt: skip
    order = (await client.post(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder", json=body, headers=headers)).json()["d"]
    query = {"$filter": "PurchaseOrderByCustomer eq 'dialect-2'"}
    billed = await client.get(f"{ODATA}/API_BILLING_DOCUMENT_SRV/A_BillingDocument", params=query)
    assert billed.json()["d"]["results"] == []
    stale = await client.patch(order["__metadata"]["uri"], json={"HeaderBillingBlockReason": ""},
                               headers={**headers, "If-Match": 'W/"other"'})  # fmt: skip
    assert stale.status_code == 412
    released = await client.patch(order["__metadata"]["uri"], json={"HeaderBillingBlockReason": ""},
                                  headers={**headers, "If-Match": order["__metadata"]["etag"]})  # fmt: skip
    assert released.status_code == 204
    invoices = (await client.get(f"{ODATA}/API_BILLING_DOCUMENT_SRV/A_BillingDocument", params=query)).json()["d"]
    assert [i["BillingDocumentType"] for i in invoices["results"]] == ["F2"]
    assert invoices["results"][0]["TotalNetAmount"] == "200.00"


async def test_the_tenant_survives_a_restart_in_its_state_dir(tmp_path: Path) -> None:
    from sandboxes.sap_s4hana import create_sap_s4hana_sandbox
    from tests.sandboxes.sap_s4hana.conftest import PASSWORD, USER

    async def orders(sandbox: SapS4HanaSandbox, body: dict[str, object] | None = None) -> list[str]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url="http://s",
                                     auth=(USER, PASSWORD)) as client:  # fmt: skip
            if body is not None:
                sold_to = await _eur_customer(client)
                headers = await csrf(client, "API_SALES_ORDER_SRV")
                created = await client.post(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder",
                                            json={**body, "SoldToParty": sold_to}, headers=headers)  # fmt: skip
                assert created.status_code == 201
            listed = await client.get(f"{ODATA}/API_SALES_ORDER_SRV/A_SalesOrder")
            return [o["PurchaseOrderByCustomer"] for o in listed.json()["d"]["results"]]

    first = create_sap_s4hana_sandbox(tmp_path, user=USER, password=PASSWORD)
    assert await orders(first, ORDER) == ["dialect-1"]
    assert await orders(create_sap_s4hana_sandbox(tmp_path, user=USER, password=PASSWORD)) == ["dialect-1"]
