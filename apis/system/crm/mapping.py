"""Salesforce records ↔ canonical objects: the only place their field names meet ours.

Vendor records arrive decoded with non-integer numbers as :class:`~decimal.Decimal`. Anything
a canonical object requires but the record lacks raises UpstreamContractViolation.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from apis.canonical import (
    Address,
    Contact,
    ContactUpsert,
    Customer,
    CustomerUpsert,
    Money,
    Opportunity,
    OpportunityCreate,
    OpportunityLine,
)
from core.errors import UpstreamContractViolation

ACCOUNT = "Account"
CONTACT = "Contact"
OPPORTUNITY = "Opportunity"
EXTERNAL_ID_FIELD = "Strata_Id__c"
PARTNER_FIELD = "Partner_Id__c"
"""Partner attribution on Account and Opportunity: the Strata partner id (a custom Text field)."""
LINES_RELATIONSHIP = "OpportunityLineItems"
CENT = Decimal("0.01")

ACCOUNT_FIELDS = [
    "Id", "Name", "Type", "ParentId", "Website", "Industry", "BillingStreet", "BillingCity", "BillingState",
    "BillingPostalCode", "BillingCountryCode", "CurrencyIsoCode", "Tax_Id__c", EXTERNAL_ID_FIELD,
    "Billing_Status__c", PARTNER_FIELD, "CreatedDate", "LastModifiedDate",
]  # fmt: skip
CONTACT_FIELDS = [
    "Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "Title", "CreatedDate", "LastModifiedDate",
]  # fmt: skip
OPPORTUNITY_FIELDS = [
    "Id", "Name", "AccountId", "StageName", "Amount", "CurrencyIsoCode", "CloseDate", "Billing_Status__c",
    "Invoice_Number__c", "Description", PARTNER_FIELD, "Type", "CreatedDate", "LastModifiedDate",
]  # fmt: skip
DEAL_TYPES = {
    "New Customer": "new_business",
    "New Business": "new_business",
    "Existing Customer - Upgrade": "amendment",
    "Existing Customer - Downgrade": "amendment",
    "Existing Customer - Replacement": "amendment",
    "Amendment": "amendment",
    "Renewal": "renewal",
}
"""Opportunity ``Type`` → deal type. The first and the ``Existing Customer - …`` values are the
standard picklist of a new org; ``New Business``, ``Amendment`` and ``Renewal`` are what orgs
that sell subscriptions commonly add (GUESSED: no published artefact lists them). Any other
value is ``None``: a deal of no kind we act on."""
LINE_FIELDS = ["Id", "ProductCode", "Description", "Quantity", "UnitPrice", "TotalPrice", "CurrencyIsoCode"]

STAGES = {
    "Prospecting": "prospecting",
    "Qualification": "qualification",
    "Needs Analysis": "needs_analysis",
    "Value Proposition": "value_proposition",
    "Id. Decision Makers": "decision_makers",
    "Perception Analysis": "perception_analysis",
    "Proposal/Price Quote": "proposal",
    "Negotiation/Review": "negotiation",
    "Closed Won": "closed_won",
    "Closed Lost": "closed_lost",
}
STAGES_BACK = {canonical: vendor for vendor, canonical in STAGES.items()}
CUSTOMER_BILLING = {
    "Prospect": "prospect",
    "Active": "active",
    "Past Due": "past_due",
    "Suspended": "suspended",
    "Churned": "churned",
}
CUSTOMER_BILLING_BACK = {canonical: vendor for vendor, canonical in CUSTOMER_BILLING.items()}
OPPORTUNITY_BILLING = {
    "Not Invoiced": "not_invoiced",
    "Pending": "pending",
    "Invoiced": "invoiced",
    "Paid": "paid",
    "Failed": "failed",
}
OPPORTUNITY_BILLING_BACK = {canonical: vendor for vendor, canonical in OPPORTUNITY_BILLING.items()}


def _required(record: dict[str, Any], name: str) -> Any:
    value = record.get(name)
    if value is None:
        raise UpstreamContractViolation(f"Salesforce {record.get('attributes', {}).get('type', 'record')} lacks {name}")
    return value


def _timestamp(record: dict[str, Any], name: str) -> dt.datetime:
    raw = _required(record, name)
    try:
        text = str(raw).replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
            text = f"{text[:-2]}:{text[-2:]}"
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    except ValueError:
        raise UpstreamContractViolation(f"Salesforce {name} is not a datetime: {raw!r}") from None


def _date(record: dict[str, Any], name: str) -> dt.date:
    raw = _required(record, name)
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise UpstreamContractViolation(f"Salesforce {name} is not a date: {raw!r}") from None


def _money(value: Any, currency: str | None) -> Money | None:
    if value is None:
        return None
    if not currency:
        raise UpstreamContractViolation("Salesforce amount without CurrencyIsoCode")
    return Money.of(Decimal(value).quantize(CENT), currency)


def _decimal_text(value: Any) -> str:
    number = Decimal(value).normalize()
    return format(number.quantize(Decimal(1)) if number == number.to_integral() else number, "f")


def domain_from_website(website: str | None) -> str | None:
    """``https://www.example.com/about`` → ``example.com``."""
    if not website:
        return None
    host = website.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return host.removeprefix("www.") or None


def _account_type(value: Any) -> str | None:
    # Salesforce's picklist labels ("Customer - Direct", "Prospect") in snake case: customer_direct, prospect.
    if not isinstance(value, str) or not value.strip():
        return None
    return "_".join("".join(c if c.isalnum() else " " for c in value.lower()).split())


def to_customer(record: dict[str, Any]) -> Customer:
    """Salesforce Account → Customer."""
    street = record.get("BillingStreet") or ""
    line1, _, line2 = street.partition("\n")
    parts = (street, record.get("BillingCity"), record.get("BillingState"), record.get("BillingPostalCode"))
    has_address = any(parts) or record.get("BillingCountryCode")
    address = (
        Address(
            line1=line1 or None,
            line2=line2 or None,
            city=record.get("BillingCity"),
            region=record.get("BillingState"),
            postal_code=record.get("BillingPostalCode"),
            country=record.get("BillingCountryCode"),
        )
        if has_address
        else None
    )
    status = record.get("Billing_Status__c")
    return Customer(
        id=_required(record, "Id"),
        external_id=record.get(EXTERNAL_ID_FIELD),
        name=_required(record, "Name"),
        account_type=_account_type(record.get("Type")),
        domain=domain_from_website(record.get("Website")),
        parent_id=record.get("ParentId"),
        billing_address=address,
        tax_id=record.get("Tax_Id__c"),
        currency=record.get("CurrencyIsoCode"),
        industry=record.get("Industry"),
        billing_status=CUSTOMER_BILLING.get(status) if status else None,  # type: ignore[arg-type]
        created_at=_timestamp(record, "CreatedDate"),
        updated_at=_timestamp(record, "LastModifiedDate"),
        partner_id=record.get(PARTNER_FIELD) or None,
    )


def from_customer_upsert(upsert: CustomerUpsert) -> dict[str, Any]:
    """CustomerUpsert → Account fields (the external id travels in the URL, not here)."""
    fields: dict[str, Any] = {
        "Name": upsert.name,
        "Website": f"https://{upsert.domain}" if upsert.domain else None,
        "ParentId": upsert.parent_id,
        "Tax_Id__c": upsert.tax_id,
        "Industry": upsert.industry,
        "Billing_Status__c": CUSTOMER_BILLING_BACK[upsert.billing_status] if upsert.billing_status else None,
    }
    if upsert.currency:
        fields["CurrencyIsoCode"] = upsert.currency
    if upsert.partner_id:
        # Only ever set here: an upsert without it (a sync) leaves a partner's attribution alone.
        fields[PARTNER_FIELD] = upsert.partner_id
    address = upsert.billing_address
    if address is not None:
        street = "\n".join(line for line in (address.line1, address.line2) if line)
        fields.update(
            BillingStreet=street or None,
            BillingCity=address.city,
            BillingState=address.region,
            BillingPostalCode=address.postal_code,
            BillingCountryCode=address.country,
        )
    return fields


def to_contact(record: dict[str, Any]) -> Contact:
    """Salesforce Contact → Contact."""
    return Contact(
        id=_required(record, "Id"),
        account_id=record.get("AccountId"),
        first_name=record.get("FirstName"),
        last_name=_required(record, "LastName"),
        email=record.get("Email"),
        phone=record.get("Phone"),
        title=record.get("Title"),
        created_at=_timestamp(record, "CreatedDate"),
        updated_at=_timestamp(record, "LastModifiedDate"),
    )


def to_line(record: dict[str, Any], currency: str) -> OpportunityLine:
    """Salesforce OpportunityLineItem → OpportunityLine."""
    line_currency = record.get("CurrencyIsoCode") or currency
    unit_price = _money(_required(record, "UnitPrice"), line_currency)
    total = _money(_required(record, "TotalPrice"), line_currency)
    assert unit_price is not None and total is not None
    return OpportunityLine(
        product_code=record.get("ProductCode"),
        description=record.get("Description"),
        quantity=_decimal_text(_required(record, "Quantity")),
        unit_price=unit_price,
        total=total,
    )


def to_opportunity(record: dict[str, Any], *, with_lines: bool) -> Opportunity:
    """Salesforce Opportunity (with its OpportunityLineItems subquery, if asked) → Opportunity."""
    currency = record.get("CurrencyIsoCode") or ""
    lines = None
    if with_lines:
        related = record.get(LINES_RELATIONSHIP) or {"records": []}
        if not isinstance(related, dict) or not isinstance(related.get("records"), list):
            raise UpstreamContractViolation("Salesforce OpportunityLineItems is not a query result")
        lines = [to_line(item, currency) for item in related["records"]]
    billing = record.get("Billing_Status__c")
    return Opportunity(
        id=_required(record, "Id"),
        name=_required(record, "Name"),
        account_id=record.get("AccountId"),
        stage=STAGES.get(_required(record, "StageName"), "other"),  # type: ignore[arg-type]
        amount=_money(record.get("Amount"), currency),
        close_date=_date(record, "CloseDate"),
        billing_status=OPPORTUNITY_BILLING.get(billing) if billing else None,  # type: ignore[arg-type]
        invoice_number=record.get("Invoice_Number__c"),
        lines=lines,
        created_at=_timestamp(record, "CreatedDate"),
        updated_at=_timestamp(record, "LastModifiedDate"),
        partner_id=record.get(PARTNER_FIELD) or None,
        description=record.get("Description"),
        deal_type=DEAL_TYPES.get(record.get("Type") or ""),  # type: ignore[arg-type]
    )


def from_opportunity_create(create: OpportunityCreate) -> dict[str, Any]:
    """OpportunityCreate → Opportunity fields (the external id travels in the URL, not here)."""
    fields: dict[str, Any] = {
        "Name": create.name,
        "AccountId": create.account_id,
        "StageName": STAGES_BACK[create.stage],
        "CloseDate": create.close_date.isoformat(),
        "Description": create.description,
        PARTNER_FIELD: create.partner_id,
    }
    if create.amount is not None:
        fields["Amount"] = float(create.amount.decimal())
        fields["CurrencyIsoCode"] = create.amount.currency
    return fields


def from_contact_upsert(upsert: ContactUpsert) -> dict[str, Any]:
    """ContactUpsert → Contact fields (full replacement; the external id travels in the URL)."""
    return {
        "AccountId": upsert.account_id,
        "FirstName": upsert.first_name,
        "LastName": upsert.last_name,
        "Email": upsert.email,
        "Phone": upsert.phone,
        "Title": upsert.title,
    }


def soql_string(value: str) -> str:
    """A SOQL string literal, quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\%").replace("_", "\\_")


def soql_like_contains(value: str) -> str:
    """A LIKE pattern matching values that contain ``value`` (wildcards escaped)."""
    return f"'%{_like_escaped(value)}%'"


def soql_like_prefix(value: str) -> str:
    """A LIKE pattern matching values starting with ``value`` (wildcards escaped)."""
    return f"'{_like_escaped(value)}%'"


def soql_datetime(value: dt.datetime) -> str:
    """A SOQL datetime literal in UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
