"""SAP's own OData client, ``pyodata``, unmodified against the sandbox served over real HTTP.

pyodata reads each service's ``$metadata`` and checks the answers against it (types, keys,
``d``/``d.results`` envelopes, ``/Date(ms)/`` values); it fetches the CSRF token itself before a
write. Every entity set the connector uses is read through it, and an order is created and
changed through it, so a sandbox answer SAP's client could not read fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pyodata
import pytest
import requests

from sandboxes.sap_s4hana import create_sap_s4hana_sandbox
from tests.sandboxes.sap_s4hana.conftest import PASSWORD, USER
from tests.support.loopback import serve_on_loopback

SETS = {
    "API_BUSINESS_PARTNER": ["A_BusinessPartner", "A_BusinessPartnerTaxNumber", "A_CustomerSalesArea",
                             "A_CustomerCompany", "A_BusinessPartnerAddress"],
    "API_SALES_ORDER_SRV": ["A_SalesOrder", "A_SalesOrderItem"],
    "API_BILLING_DOCUMENT_SRV": ["A_BillingDocument", "A_BillingDocumentItem"],
    "API_JOURNALENTRYITEMBASIC_SRV": ["A_CompanyCode"],
    "API_GLACCOUNTLINEITEM": ["GLAccountLineItem"],
    "API_PRODUCT_SRV": ["A_Product"],
    "API_CREDIT_MEMO_REQUEST_SRV": ["A_CreditMemoRequest"],
    "YY1_POSTINGPERIOD_CDS": ["YY1_PostingPeriod"],
}  # fmt: skip
"""The entity sets the connector reads or writes, by service."""


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    sandbox = create_sap_s4hana_sandbox(user=USER, password=PASSWORD, page_size=1000)
    with serve_on_loopback(sandbox) as url:
        yield f"{url}/sap/opu/odata/sap"


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = (USER, PASSWORD)
        yield session


def _with_csrf(base_url: str, session: requests.Session, service: str) -> None:
    """Fetch the CSRF token as pyodata's documentation shows (HEAD with ``x-csrf-token: fetch``)."""
    response = session.head(f"{base_url}/{service}/", headers={"x-csrf-token": "fetch"})
    session.headers.update({"x-csrf-token": response.headers["x-csrf-token"]})


def _client(base_url: str, session: requests.Session, service: str) -> pyodata.Client:
    return pyodata.Client(f"{base_url}/{service}/", session)


@pytest.mark.parametrize("service", sorted(SETS))
def test_pyodata_reads_every_entity_set_the_connector_uses(
    base_url: str, session: requests.Session, service: str
) -> None:
    client = _client(base_url, session, service)
    for name in SETS[service]:
        entity_set = getattr(client.entity_sets, name)
        rows = entity_set.get_entities().top(3).execute()
        if not rows:
            continue  # nothing seeded in it (documents before any posting)
        proprties = client.schema.entity_set(name).entity_type.key_proprties
        key = {p.name: getattr(rows[0], p.name) for p in proprties}
        again = entity_set.get_entity(**key).execute()
        assert all(getattr(again, p.name) == key[p.name] for p in proprties)


def test_pyodata_filters_expands_and_counts(base_url: str, session: requests.Session) -> None:
    partners = _client(base_url, session, "API_BUSINESS_PARTNER").entity_sets.A_BusinessPartner
    found = partners.get_entities().filter("BusinessPartnerCategory eq '2'").expand("to_Customer").top(2).execute()
    assert len(found) == 2 and all(p.BusinessPartnerCategory == "2" for p in found)
    assert found[0].to_Customer.Customer == found[0].BusinessPartner
    assert partners.get_entities().count().execute() >= 2
    products = _client(base_url, session, "API_PRODUCT_SRV").entity_sets.A_Product
    core = products.get_entities().filter("Product eq 'STRATA-CORE'").expand("to_Valuation").execute()
    assert [p.Product for p in core] == ["STRATA-CORE"]
    assert {v.ValuationArea for v in core[0].to_Valuation} == {"1710", "1010", "1510"}


def test_pyodata_creates_and_changes_an_order(base_url: str, session: requests.Session) -> None:
    areas = _client(base_url, session, "API_BUSINESS_PARTNER").entity_sets.A_CustomerSalesArea
    customer = areas.get_entities().filter("Currency eq 'EUR'").top(1).execute()[0].Customer
    _with_csrf(base_url, session, "API_SALES_ORDER_SRV")
    orders = _client(base_url, session, "API_SALES_ORDER_SRV").entity_sets.A_SalesOrder
    price = {"ConditionType": "PPR0", "ConditionRateValue": "50", "ConditionCurrency": "EUR"}
    body = {
        "SalesOrderType": "OR", "SalesOrganization": "1010", "DistributionChannel": "10", "OrganizationDivision": "00",
        "SoldToParty": customer, "PurchaseOrderByCustomer": "pyodata-1", "TransactionCurrency": "EUR",
        "HeaderBillingBlockReason": "02",
        "to_Item": [{"Material": "STRATA-CORE", "RequestedQuantity": "3", "to_PricingElement": [price]}],
    }  # fmt: skip
    created = orders.create_entity().set(**body).execute()
    assert Decimal(str(created.TotalNetAmount)) == Decimal("150.00") and created.SalesOrder
    change = orders.update_entity(SalesOrder=created.SalesOrder).set(HeaderBillingBlockReason="")
    change.add_headers({"If-Match": created.etag})  # SAP answers 428 to a change without the ETag
    change.execute()
    billed = orders.get_entity(SalesOrder=created.SalesOrder).execute()
    assert billed.OverallSDProcessStatus == "C"
