"""The SAP connector's own dialect duties, against the sandbox in process: CSRF refetch, OAuth,
SAP error bodies onto Strata's errors, and de-duplication keys of external ids longer than SAP's fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
import pytest_asyncio

from apis.canonical import ErpCustomerUpsert, JournalEntryCreate, JournalLine
from apis.system.erp.connectors.sap_s4hana import SapS4HanaConnector
from apis.system.erp.connectors.sap_s4hana_http import SapConfig, SapHttp
from core.errors import NotFound, PeriodClosed, UpstreamRejected
from sandboxes.sap_s4hana import SapS4HanaSandbox, create_sap_s4hana_sandbox

pytestmark = pytest.mark.asyncio
BASE = "http://sap-s4hana.sandbox"
CONFIG = SapConfig(timeout_seconds=2, max_retries=2, backoff_base_seconds=0.001, backoff_max_seconds=0.01)


@pytest.fixture
def sandbox() -> SapS4HanaSandbox:
    return create_sap_s4hana_sandbox(user="COMM", password="pw", client_id="sb-client", client_secret="cs")


def _connector(sandbox: SapS4HanaSandbox, *, oauth: bool = False, password: str = "pw") -> SapS4HanaConnector:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE)
    http = SapHttp(
        client, BASE, basic=None if oauth else ("COMM", password),
        oauth=(f"{BASE}/sap/bc/sec/oauth2/token", "sb-client", "cs") if oauth else None, config=CONFIG, breaker=None,
    )  # fmt: skip
    return SapS4HanaConnector(http, company_code="1710", distribution_channel="10", division="00")


@pytest_asyncio.fixture
async def connector(sandbox: SapS4HanaSandbox) -> AsyncIterator[SapS4HanaConnector]:
    built = _connector(sandbox)
    yield built
    await built.aclose()


async def test_an_expired_csrf_session_is_fetched_again_once(
    sandbox: SapS4HanaSandbox, connector: SapS4HanaConnector
) -> None:
    first, created = await connector.upsert_customer("cus_csrf_1", ErpCustomerUpsert(name="Csrf One", currency="EUR"))
    assert created and first.legal_entity_id == "1010" and first.currency == "EUR"
    sandbox.sessions.clear()  # the tenant forgot the session: the cached token is refused with "Required"
    second, created = await connector.upsert_customer("cus_csrf_2", ErpCustomerUpsert(name="Csrf Two", currency="EUR"))
    assert created and second.id != first.id
    assert sandbox.faults.requests["GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/"] == 2  # one fetch per session


async def test_oauth_client_credentials_reach_the_same_tenant(sandbox: SapS4HanaSandbox) -> None:
    connector = _connector(sandbox, oauth=True)
    try:
        entities = await connector.list_legal_entities()
    finally:
        await connector.aclose()
    assert [e.id for e in entities] == ["1010", "1510", "1710"] and sandbox.tokens_issued == 1


async def test_a_refused_communication_user_is_rejected_not_retried(sandbox: SapS4HanaSandbox) -> None:
    connector = _connector(sandbox, password="wrong")
    try:
        with pytest.raises(UpstreamRejected):
            await connector.list_legal_entities()
    finally:
        await connector.aclose()
    assert sum(sandbox.faults.requests.values()) == 1


async def test_a_closed_posting_period_from_the_soap_log_is_period_closed(connector: SapS4HanaConnector) -> None:
    entry = JournalEntryCreate(
        external_id="je-closed", legal_entity_id="1010", date=dt.date(2024, 3, 5), currency="EUR",
        lines=[JournalLine(account="1200", debit="5.00"), JournalLine(account="4000", credit="5.00")],
    )  # fmt: skip
    with pytest.raises(PeriodClosed) as refused:
        await connector.create_journal_entry(entry)
    assert refused.value.vendor_code == "F5/201" and "003 2024" in refused.value.detail


async def test_a_long_external_id_is_one_key_and_one_customer(connector: SapS4HanaConnector) -> None:
    external_id = "crm-account-with-a-rather-long-identifier-0001"
    first, created = await connector.upsert_customer(
        external_id, ErpCustomerUpsert(name="Long Key Ltd", currency="GBP")
    )
    again, created_again = await connector.upsert_customer(external_id, ErpCustomerUpsert(name="Long Key Ltd"))
    assert created and not created_again and again.id == first.id and first.external_id == external_id
    found = await connector.search_customers(name_prefix=None, tax_id=None, external_id=external_id, limit=5,
                                             position=None)  # fmt: skip
    assert [c.id for c in found.items] == [first.id]


async def test_an_unknown_document_is_not_found(connector: SapS4HanaConnector) -> None:
    for read in (connector.get_invoice, connector.get_sales_order, connector.get_customer_payment):
        with pytest.raises(NotFound):
            await read("424242")


async def test_an_update_changes_only_what_it_names(connector: SapS4HanaConnector) -> None:
    from apis.canonical import Address

    created, _ = await connector.upsert_customer("cus_update", ErpCustomerUpsert(name="Update AG", currency="EUR"))
    assert created.payment_terms is None and created.billing_address is None
    changed = ErpCustomerUpsert(name="Update AG", payment_terms="net_45", tax_id="DE123456789",
                                billing_address=Address(city="Hamburg", country="DE"))  # fmt: skip
    updated, was_created = await connector.upsert_customer("cus_update", changed)
    assert not was_created and updated.id == created.id
    assert (updated.currency, updated.legal_entity_id, updated.payment_terms) == ("EUR", "1010", "net_45")
    assert updated.tax_id == "DE123456789" and updated.billing_address == Address(city="Hamburg", country="DE")
    assert await connector.get_customer(created.id) == msgspec.structs.replace(updated, external_id="cus_update")


async def test_an_invoice_is_due_by_the_customers_payment_terms(connector: SapS4HanaConnector) -> None:
    from apis.canonical import DocumentLineInput, InvoiceCreate

    customer, _ = await connector.upsert_customer(
        "cus_terms", ErpCustomerUpsert(name="Terms GmbH", currency="EUR", payment_terms="net_30")
    )
    line = DocumentLineInput(item_id="STRATA-CORE", quantity="1", unit_price="10.00")
    invoice, created = await connector.create_invoice(
        InvoiceCreate(
            external_id="inv-terms", customer_id=customer.id, date=dt.date(2026, 3, 10), currency="EUR", lines=[line]
        )
    )
    assert created and invoice.due_date == dt.date(2026, 4, 9) and invoice.amount_due.amount == "10.00"
    assert invoice.sales_order_id is not None and invoice.external_id == "inv-terms"
