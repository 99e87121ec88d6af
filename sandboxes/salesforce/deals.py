"""Control API for tests and demos: won deals on new accounts, and direct record edits.

``POST /_control/won-deals`` creates, for each deal, an account (or uses ``account_id``) and a
Closed Won opportunity with its product lines — what a salesperson would have entered —
in one call, so a test can make 200 orders without 1,000 REST round trips.
``PATCH /_control/records/{sobject}/{id}`` edits fields as an admin would (fixing bad data).
Both go through the store's own validation (unknown fields are refused as Salesforce does).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from sandboxes.salesforce.schema import SOBJECTS, SfError, get_sobject
from sandboxes.salesforce.store import Store


class DealLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    product_code: str
    quantity: float = 1.0
    unit_price: float = 1000.0


class DealAccount(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    country: str | None = "US"
    country_name: str | None = None
    state: str | None = "WA"
    postal_code: str | None = "98101"
    city: str | None = "Seattle"
    street: str | None = "1 Main Street"
    website: str | None = None
    tax_id: str | None = None
    parent_id: str | None = None


class Deal(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    lines: list[DealLine]
    account: DealAccount | None = None
    account_id: str | None = None
    currency: str = "USD"
    close_date: dt.date | None = None
    name: str | None = None
    stage: str = "Closed Won"
    type: str | None = None
    """Opportunity ``Type`` (e.g. ``Renewal``, ``Amendment``); none for a new deal."""


def create_won_deals(store: Store, body: bytes) -> list[dict[str, str]]:
    """Create the deals of a JSON list; ``[{"opportunity_id", "account_id"}]`` in order."""
    try:
        deals = msgspec.json.decode(body, type=list[Deal])
    except msgspec.ValidationError as error:
        raise SfError(400, "JSON_PARSER_ERROR", str(error)) from None
    products = {r["ProductCode"]: r["Id"] for r in store.all("Product2")}
    created = []
    with store.batch():
        for number, deal in enumerate(deals):
            account_id = deal.account_id or _account(store, deal)
            opportunity_id = store.create(
                SOBJECTS["Opportunity"],
                {
                    "Name": deal.name or f"Test deal {number + 1}",
                    "AccountId": account_id,
                    "StageName": deal.stage,
                    "Probability": 100.0 if deal.stage == "Closed Won" else 50.0,
                    "CloseDate": (deal.close_date or dt.datetime.now(dt.UTC).date()).isoformat(),
                    "CurrencyIsoCode": deal.currency,
                    "Type": deal.type,
                },
            )
            total = 0.0
            for line in deal.lines:
                store.create(
                    SOBJECTS["OpportunityLineItem"],
                    {
                        "OpportunityId": opportunity_id,
                        # A code with no Product2 is a line pointing at a product nobody set up.
                        "Product2Id": products.get(line.product_code),
                        "ProductCode": line.product_code,
                        "Name": line.product_code,
                        "Description": line.product_code,
                        "Quantity": line.quantity,
                        "UnitPrice": line.unit_price,
                        "CurrencyIsoCode": deal.currency,
                    },
                )
                total += round(line.quantity * line.unit_price, 2)
            store.update(SOBJECTS["Opportunity"], opportunity_id, {"Amount": round(total, 2)})
            created.append({"opportunity_id": opportunity_id, "account_id": account_id})
    return created


def edit_record(store: Store, sobject_name: str, record_id: str, body: bytes) -> None:
    """Set fields of one record (``{"Field": value}``)."""
    try:
        values = msgspec.json.decode(body, type=dict[str, Any])
    except msgspec.ValidationError as error:
        raise SfError(400, "JSON_PARSER_ERROR", str(error)) from None
    store.update(get_sobject(sobject_name), record_id, values)


def _account(store: Store, deal: Deal) -> str:
    account = deal.account or DealAccount(name="Test account")
    return store.create(
        SOBJECTS["Account"],
        {
            "Name": account.name,
            "ParentId": account.parent_id,
            "Type": "Customer",
            "Website": account.website,
            "BillingStreet": account.street,
            "BillingCity": account.city,
            "BillingState": account.state,
            "BillingPostalCode": account.postal_code,
            "BillingCountryCode": account.country,
            "BillingCountry": account.country_name,
            "CurrencyIsoCode": deal.currency,
            "Tax_Id__c": account.tax_id,
        },
    )
