"""The Oracle Fusion sandbox speaks Oracle's REST dialect: what a client written against Oracle's
documented examples and operation pages sees (auth, paging, ``q``, ``finder``, ``onlyData``,
``links``, ``Upsert-Mode``, error bodies, and a receipt's ``Amount`` as a string)."""

from __future__ import annotations

import httpx

from sandboxes.oracle_fusion import OracleFusionSandbox
from sandboxes.server import create_sandboxes_app
from tests.support.oracle_fusion import CRM, FSCM
from tests.support.sandbox_access import CLIENT_ID, CLIENT_SECRET, INTEGRATION_PASSWORD, INTEGRATION_USER


def _error(response: httpx.Response) -> dict[str, str]:
    """The first of Oracle's ``o:errorDetails``, checked for shape."""
    assert response.headers["content-type"].startswith("application/vnd.oracle.adf.error+json"), response.text
    body = response.json()
    assert body["status"] == str(response.status_code) and body["title"]
    [detail] = body["o:errorDetails"]
    assert isinstance(detail["detail"], str)
    return dict(detail)


async def test_basic_or_a_bearer_token_is_required(plain: httpx.AsyncClient) -> None:
    anonymous = await plain.get(f"{FSCM}/itemsV2")
    assert anonymous.status_code == 401 and anonymous.content == b""
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    wrong = await plain.get(f"{FSCM}/itemsV2", auth=("strata.integration", "wrong"))
    assert wrong.status_code == 401
    token = await plain.post(
        "/oauth2/v1/token", data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await plain.get(f"{FSCM}/itemsV2", headers=bearer)).status_code == 200
    assert (await plain.post("/_control/expire-tokens")).status_code == 204
    assert (await plain.get(f"{FSCM}/itemsV2", headers=bearer)).status_code == 401
    refused = await plain.post("/oauth2/v1/token", data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "x"))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


async def test_paging_has_more_and_total_results(rest: httpx.AsyncClient) -> None:
    first = (await rest.get(f"{FSCM}/itemsV2", params={"limit": 3, "totalResults": "true"})).json()
    assert (first["count"], first["hasMore"], first["limit"], first["offset"], first["totalResults"]) == (
        3, True, 3, 0, 7,
    )  # fmt: skip
    last = (await rest.get(f"{FSCM}/itemsV2", params={"limit": 3, "offset": 6})).json()
    assert (last["count"], last["hasMore"]) == (1, False) and "totalResults" not in last
    ids = [i["ItemId"] for i in first["items"]] + [i["ItemId"] for i in last["items"]]
    assert len(set(ids)) == 4 and all(isinstance(i, int) for i in ids)
    default = (await rest.get(f"{CRM}/accounts")).json()
    assert default["limit"] == 25 and default["count"] == 25 and default["hasMore"] is True


async def test_q_filters_simple_and_row_match_and_finders(rest: httpx.AsyncClient) -> None:
    core = (await rest.get(f"{FSCM}/itemsV2", params={"q": "ItemNumber=STRATA-CORE"})).json()["items"]
    assert [i["ItemNumber"] for i in core] == ["STRATA-CORE"]
    connectors = await rest.get(
        f"{FSCM}/itemsV2", params={"q": "ItemNumber LIKE 'STRATA-%CONNECTOR' and ListPrice>1900"}
    )
    assert sorted(i["ItemNumber"] for i in connectors.json()["items"]) == [
        "STRATA-BILLING-CONNECTOR", "STRATA-ERP-CONNECTOR",
    ]  # fmt: skip
    periods = await rest.get(
        f"{FSCM}/accountingPeriodStatusLOV",
        params={"finder": "PeriodStatusFinder;ApplicationId=222", "q": "PeriodYear=2024", "limit": 500},
    )
    statuses = {p["ClosingStatus"] for p in periods.json()["items"]}
    assert statuses == {"C"} and periods.json()["count"] == 36  # three ledgers, twelve months
    unknown = await rest.get(f"{FSCM}/itemsV2", params={"q": "Colour='red'"})
    assert unknown.status_code == 400 and "Colour" in _error(unknown)["detail"]
    finder = await rest.get(f"{FSCM}/itemsV2", params={"finder": "NoSuchFinder;X=1"})
    assert finder.status_code == 400


async def test_only_data_drops_links_and_child_links_lead_to_the_children(rest: httpx.AsyncClient) -> None:
    linked = (await rest.get(f"{FSCM}/receivablesInvoices", params={"limit": 1})).json()
    invoice = linked["items"][0]
    assert {link["rel"] for link in invoice["links"]} == {"self", "canonical", "child"}
    assert linked["links"][0]["rel"] == "self"
    child = next(link for link in invoice["links"] if link["name"] == "receivablesInvoiceLines")
    lines = (await rest.get(child["href"], params={"onlyData": "true"})).json()
    assert lines["count"] >= 1 and "links" not in lines["items"][0]
    assert isinstance(lines["items"][0]["LineNumber"], int)
    bare = (await rest.get(f"{FSCM}/receivablesInvoices", params={"limit": 1, "onlyData": "true"})).json()
    assert "links" not in bare and "links" not in bare["items"][0]
    assert isinstance(bare["items"][0]["CustomerTransactionId"], int)
    assert len(bare["items"][0]["TransactionDate"]) == 10  # "YYYY-MM-DD"


async def test_unknown_attributes_wrong_types_and_media_types_are_refused(rest: httpx.AsyncClient) -> None:
    unknown = await rest.post(f"{FSCM}/standardReceipts", json={"ReceiptNumber": "R-1", "Colour": "red"})
    assert unknown.status_code == 400 and 'attribute "Colour"' in _error(unknown)["detail"]
    assert _error(unknown)["o:errorCode"]
    wrong_type = await rest.post(f"{FSCM}/receivablesInvoices", json={"CustomerTransactionId": "12"})
    assert wrong_type.status_code == 400
    bad_date = await rest.post(f"{FSCM}/standardReceipts", json={"ReceiptDate": "07/12/2026"})
    assert bad_date.status_code == 400 and "ReceiptDate" in _error(bad_date)["detail"]
    text = await rest.post(f"{FSCM}/standardReceipts", content=b"{}", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    missing = await rest.get(f"{FSCM}/receivablesInvoices/1")
    assert missing.status_code == 404 and _error(missing)


async def test_upsert_mode_updates_the_account_with_the_same_party_number(rest: httpx.AsyncClient) -> None:
    body = {"PartyNumber": "DIALECT-1", "OrganizationName": "Dialect AG", "CurrencyCode": "EUR"}
    created = await rest.post(f"{CRM}/accounts", json=body)
    assert created.status_code == 201 and isinstance(created.json()["PartyId"], int)
    assert created.headers["location"].endswith("/accounts/DIALECT-1")
    again = await rest.post(f"{CRM}/accounts", json={**body, "OrganizationName": "Dialect AG (new)"})
    assert again.status_code == 400 and "already exists" in _error(again)["detail"]
    upserted = await rest.post(
        f"{CRM}/accounts", json={**body, "OrganizationName": "Dialect AG (new)"}, headers={"Upsert-Mode": "true"}
    )
    assert upserted.status_code == 200 and upserted.json()["PartyId"] == created.json()["PartyId"]
    read = (await rest.get(f"{CRM}/accounts/DIALECT-1", params={"onlyData": "true"})).json()
    assert read["OrganizationName"] == "Dialect AG (new)"


async def test_a_receipt_amount_is_a_string_and_applying_it_lowers_the_invoice_balance(rest: httpx.AsyncClient) -> None:
    invoice = (await rest.get(f"{FSCM}/receivablesInvoices", params={"limit": 1, "onlyData": "true"})).json()["items"][
        0
    ]
    receipt = await rest.post(
        f"{FSCM}/standardReceipts",
        headers={"Content-Type": "application/vnd.oracle.adf.resourceitem+json"},
        json={"ReceiptNumber": "SKR_Receipt_1008", "ReceiptMethod": "Manual", "BusinessUnit": invoice["BusinessUnit"],
              "Amount": "451.23", "Currency": invoice["InvoiceCurrencyCode"], "ReceiptDate": "2026-03-10",
              "RemittanceBankAccountNumber": "10271-17621-619",
              "CustomerAccountNumber": invoice["BillToCustomerNumber"]},
    )  # fmt: skip
    assert receipt.status_code == 201, receipt.text
    made = receipt.json()
    assert made["Amount"] == "451.23" and isinstance(made["StandardReceiptId"], int)
    assert made["ReceiptDate"] == "2026-03-10" and made["DocumentNumber"] is None
    apply = await rest.post(
        f"{FSCM}/standardReceipts/{made['StandardReceiptId']}/action/applyReceipt",
        headers={"Content-Type": "application/vnd.oracle.adf.action+json"},
        json={"TransactionNumber": invoice["TransactionNumber"], "AmountApplied": "451.23"},
    )
    assert apply.status_code == 200, apply.text
    after = (await rest.get(f"{FSCM}/receivablesInvoices/{invoice['CustomerTransactionId']}")).json()
    assert after["InvoiceBalanceAmount"] == round(invoice["InvoiceBalanceAmount"] - 451.23, 2)
    too_much = await rest.post(
        f"{FSCM}/standardReceipts/{made['StandardReceiptId']}/action/applyReceipt",
        json={"TransactionNumber": invoice["TransactionNumber"], "AmountApplied": "0.01"},
    )
    assert too_much.status_code == 400 and "unapplied" in _error(too_much)["detail"]


async def test_postings_in_a_closed_period_and_duplicate_numbers_are_refused(rest: httpx.AsyncClient) -> None:
    invoice = {"TransactionNumber": "DIALECT-INV-1", "TransactionSource": "Strata Manual", "TransactionType": "Invoice",
               "BusinessUnit": "Strata Inc. BU", "BillToCustomerNumber": None, "TransactionDate": "2024-05-10",
               "receivablesInvoiceLines": [{"LineNumber": 1, "Description": "Laptop", "Quantity": 2,
                                            "UnitSellingPrice": 1299.99}]}  # fmt: skip
    customer = (await rest.get(f"{CRM}/accounts", params={"q": "CurrencyCode=USD", "limit": 1})).json()["items"][0]
    invoice["BillToCustomerNumber"] = customer["PartyNumber"]
    closed = await rest.post(f"{FSCM}/receivablesInvoices", json=invoice)
    assert closed.status_code == 400 and "open or future-enterable" in _error(closed)["detail"]
    opened = await rest.post(f"{FSCM}/receivablesInvoices", json={**invoice, "TransactionDate": "2026-05-10"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["EnteredAmount"] == 2599.98 and opened.json()["InvoiceBalanceAmount"] == 2599.98
    duplicate = await rest.post(f"{FSCM}/receivablesInvoices", json={**invoice, "TransactionDate": "2026-05-11"})
    assert duplicate.status_code == 400 and "already exists" in _error(duplicate)["detail"]
    counts = (await rest.get("/_control/counts")).json()
    assert counts["writes"] == {"receivablesInvoices": 1}


async def test_links_lead_back_through_the_mount_of_strata_sandboxes_serve(sandbox: OracleFusionSandbox) -> None:
    app = create_sandboxes_app({"oracle-fusion": sandbox})
    transport = httpx.ASGITransport(app=app)
    auth = (INTEGRATION_USER, INTEGRATION_PASSWORD)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8090", auth=auth) as client:
        listed = await client.get(f"/sandbox/oracle-fusion{FSCM}/receivablesInvoices", params={"limit": 1})
        child = next(link for link in listed.json()["items"][0]["links"] if link["rel"] == "child")
        assert child["href"].startswith(f"http://127.0.0.1:8090/sandbox/oracle-fusion{FSCM}/receivablesInvoices/")
        assert (await client.get(child["href"])).json()["count"] >= 1


async def test_an_order_hub_order_is_addressed_by_its_order_key(rest: httpx.AsyncClient) -> None:
    order = (await rest.get(f"{FSCM}/salesOrdersForOrderHub", params={"limit": 1, "onlyData": "true"})).json()
    first = order["items"][0]
    assert first["OrderKey"] == f"{first['SourceTransactionSystem']}:{first['SourceTransactionId']}"
    assert first["SubmittedFlag"] is True and "T" in first["TransactionOn"]
    by_key = await rest.get(f"{FSCM}/salesOrdersForOrderHub/{first['OrderKey']}", params={"expand": "lines"})
    assert by_key.status_code == 200 and by_key.json()["HeaderId"] == first["HeaderId"]
    assert by_key.json()["lines"][0]["ProductNumber"]
    assert (await rest.get(f"{FSCM}/salesOrdersForOrderHub/{first['HeaderId']}")).status_code == 404
    flag = await rest.post(f"{FSCM}/salesOrdersForOrderHub", json={"SubmittedFlag": "Y"})
    assert flag.status_code == 400 and "SubmittedFlag" in _error(flag)["detail"]


async def test_a_receipt_amount_sent_as_a_number_is_answered_as_a_string(rest: httpx.AsyncClient) -> None:
    customer = (await rest.get(f"{CRM}/accounts", params={"q": "CurrencyCode=USD", "limit": 1})).json()["items"][0]
    receipt = await rest.post(
        f"{FSCM}/standardReceipts",
        json={"ReceiptNumber": "DIALECT-R-2", "ReceiptMethod": "Manual", "BusinessUnit": "Strata Inc. BU",
              "Amount": 100.5, "Currency": "USD", "RemittanceBankAccountNumber": "10271-17621-619",
              "ReceiptDate": "2026-04-01", "CustomerAccountNumber": customer["PartyNumber"]},
    )  # fmt: skip
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["Amount"] == "100.50" and receipt.json()["UnappliedAmount"] == "100.50"
