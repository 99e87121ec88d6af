"""Salesforce records ↔ canonical objects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apis.canonical import Address, CustomerUpsert
from apis.system.crm import mapping as m
from core.errors import UpstreamContractViolation

OPPORTUNITY = {
    "attributes": {"type": "Opportunity", "url": "/x"},
    "Id": "006Qy0000000001AAA",
    "Name": "Deal",
    "AccountId": None,
    "StageName": "Custom Stage",
    "Amount": Decimal("1234.5"),
    "CurrencyIsoCode": "EUR",
    "CloseDate": "2025-03-01",
    "Billing_Status__c": "Not Invoiced",
    "Invoice_Number__c": None,
    "CreatedDate": "2025-01-01T10:00:00.000+0000",
    "LastModifiedDate": "2025-01-02T10:00:00.000+0200",
    "Unknown__c": "ignored",
    "OpportunityLineItems": {
        "totalSize": 1,
        "done": True,
        "records": [{"ProductCode": "STRATA-CORE", "Description": None, "Quantity": Decimal("2.0"),
                     "UnitPrice": Decimal("617.25"), "TotalPrice": Decimal("1234.5")}],
    },
}  # fmt: skip


def test_opportunity_mapping() -> None:
    opportunity = m.to_opportunity(OPPORTUNITY, with_lines=True)
    assert opportunity.stage == "other"
    assert opportunity.amount is not None and opportunity.amount.amount == "1234.50"
    assert opportunity.billing_status == "not_invoiced"
    assert opportunity.updated_at == dt.datetime(2025, 1, 2, 8, 0, tzinfo=dt.UTC)
    assert opportunity.lines is not None
    line = opportunity.lines[0]
    assert (line.quantity, line.unit_price.amount, line.total.currency) == ("2", "617.25", "EUR")
    assert m.to_opportunity({**OPPORTUNITY, "OpportunityLineItems": None}, with_lines=True).lines == []
    assert m.to_opportunity(OPPORTUNITY, with_lines=False).lines is None


def test_missing_or_malformed_vendor_fields_are_contract_violations() -> None:
    with pytest.raises(UpstreamContractViolation):
        m.to_opportunity({**OPPORTUNITY, "CloseDate": None}, with_lines=False)
    with pytest.raises(UpstreamContractViolation):
        m.to_opportunity({**OPPORTUNITY, "CreatedDate": "yesterday"}, with_lines=False)
    with pytest.raises(UpstreamContractViolation):
        m.to_opportunity({**OPPORTUNITY, "CurrencyIsoCode": None}, with_lines=False)


def test_customer_round_trip_fields() -> None:
    upsert = CustomerUpsert(
        name="Acme",
        domain="acme.io",
        billing_address=Address(line1="1 Main St", line2="Floor 2", city="Berlin", country="DE"),
        billing_status="past_due",
        currency="EUR",
    )
    fields = m.from_customer_upsert(upsert)
    assert fields["Website"] == "https://acme.io" and fields["BillingStreet"] == "1 Main St\nFloor 2"
    assert fields["Billing_Status__c"] == "Past Due" and fields["BillingCountryCode"] == "DE"
    record = {**fields, "Id": "001Qy0000000001AAA", "CreatedDate": "2025-01-01T00:00:00.000+0000"}
    record["LastModifiedDate"] = record["CreatedDate"]
    customer = m.to_customer(record)
    assert customer.domain == "acme.io" and customer.billing_status == "past_due"
    assert customer.billing_address == upsert.billing_address


@pytest.mark.parametrize(
    ("website", "domain"),
    [("https://www.example.com/about", "example.com"), ("example.org", "example.org"), (None, None)],
)
def test_domain_from_website(website: str | None, domain: str | None) -> None:
    assert m.domain_from_website(website) == domain


def test_soql_literals_are_escaped() -> None:
    assert m.soql_string("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
    assert m.soql_like_prefix("50%_") == "'50\\%\\_%'"
    assert (
        m.soql_datetime(dt.datetime(2025, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))))
        == "2025-01-01T10:00:00Z"
    )
