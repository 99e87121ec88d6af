"""Seed data: the Salesforce sandbox's companies as customers, its product codes as products.

The CRM seed (:mod:`sandboxes.salesforce.seed`) is run into a throwaway in-memory store with
the same seed, so every account with ``Type = Customer`` exists here as a customer carrying
``metadata[crm_account_id]`` (and ``metadata[strata_id]`` when the account has one), in the
account's currency. Each product code is a product (``metadata[product_code]``) with one
price per currency (``lookup_key`` ``<CODE>-<currency>``): yearly licensed prices for platform,
connectors and support, one-time prices for services, and a metered monthly price (meter
``api_calls``) for usage.

Deliberate inconsistencies, for reconciliation later (documented, stable per seed):

* Premium Support's price is 4,800.00 here while the CRM's list price is 5,000.00;
* the last CRM customer account has no Stripe customer (never synced);
* one extra Stripe customer, "Orphan Test Customer", has no CRM account.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from sandboxes.salesforce.seed import PRODUCTS
from sandboxes.salesforce.seed import seed as seed_crm
from sandboxes.salesforce.store import Store as CrmStore
from sandboxes.stripe.store import ALPHABET, Store, new_id

CURRENCIES = ("usd", "eur", "gbp")
PRICE_OVERRIDES = {"STRATA-PREMIUM-SUPPORT": 4800.0}
"""Deliberate differences from the CRM's list prices."""
METER_EVENT_NAME = "api_calls"
SEED_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
FAMILIES_RECURRING = {"Platform", "Connectors", "Services"}


def seed(store: Store, seed_value: int = 7, crm_seed: int = 7) -> None:
    """Fill ``store`` with the CRM's customers, the products, their prices and the usage meter."""
    rng = random.Random(seed_value)

    def rid(kind: str) -> str:
        return new_id(kind, lambda n: "".join(rng.choice(ALPHABET) for _ in range(n)))

    accounts = _crm_customers(crm_seed)
    for index, account in enumerate(accounts[:-1]):
        created = SEED_EPOCH + index * 3600
        metadata = {"crm_account_id": account["Id"]}
        if account.get("Strata_Id__c"):
            metadata["strata_id"] = account["Strata_Id__c"]
        domain = (account.get("Website") or "").split("://", 1)[-1].removeprefix("www.")
        store.add(
            "customer",
            _customer(
                rid("customer"),
                account["Name"],
                f"billing@{domain}" if domain else None,
                account,
                account["CurrencyIsoCode"].lower(),
                metadata,
                created,
            ),
        )
    store.add(
        "customer", _customer(rid("customer"), "Orphan Test Customer", "orphan@example.com", {}, "usd", {}, SEED_EPOCH)
    )

    meter = {
        "id": rid("billing.meter"),
        "object": "billing.meter",
        "created": SEED_EPOCH,
        "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
        "default_aggregation": {"formula": "sum"},
        "display_name": "API calls",
        "event_name": METER_EVENT_NAME,
        "event_time_window": None,
        "livemode": False,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": SEED_EPOCH,
        "value_settings": {"event_payload_key": "value"},
    }
    store.add("billing.meter", meter)
    for code, name, family, list_price in PRODUCTS:
        product_id = rid("product")
        product = {
            "id": product_id,
            "object": "product",
            "active": True,
            "created": SEED_EPOCH,
            "default_price": None,
            "description": f"{name} ({code})",
            "livemode": False,
            "metadata": {"product_code": code, "family": family},
            "name": name,
            "type": "service",
            "unit_label": None,
            "updated": SEED_EPOCH,
            "url": None,
        }
        store.add("product", product)
        amount = round(PRICE_OVERRIDES.get(code, list_price) * 100)
        for currency in CURRENCIES:
            if family == "Usage":
                recurring: Any = {
                    "interval": "month",
                    "interval_count": 1,
                    "meter": meter["id"],
                    "usage_type": "metered",
                }
            elif family == "Services" and code == "STRATA-ONBOARDING":
                recurring = None
            else:
                recurring = {"interval": "year", "interval_count": 1, "meter": None, "usage_type": "licensed"}
            price = {
                "id": rid("price"),
                "object": "price",
                "active": True,
                "billing_scheme": "per_unit",
                "created": SEED_EPOCH,
                "currency": currency,
                "livemode": False,
                "lookup_key": f"{code}-{currency}",
                "metadata": {"product_code": code},
                "nickname": f"{name} ({currency.upper()})",
                "product": product_id,
                "recurring": recurring,
                "tax_behavior": "exclusive",
                "type": "recurring" if recurring else "one_time",
                "unit_amount": amount,
                "unit_amount_decimal": str(amount),
            }
            store.add("price", price)
            if currency == "usd":
                product["default_price"] = price["id"]


@functools.cache
def _crm_customers(crm_seed: int) -> tuple[dict[str, Any], ...]:
    """The CRM seed's customer accounts, in id order (computed once per process: Faker is slow)."""
    crm = CrmStore(None, lambda s: seed_crm(s, crm_seed))
    accounts = [dict(a) for a in crm.records["Account"].values() if a.get("Type") == "Customer"]
    return tuple(sorted(accounts, key=lambda a: a["Id"]))


def _customer(
    customer_id: str,
    name: str,
    email: str | None,
    account: dict[str, Any],
    currency: str,
    metadata: dict[str, str],
    created: int,
) -> dict[str, Any]:
    street = (account.get("BillingStreet") or "").split("\n")
    address = (
        {
            "line1": street[0] or None,
            "line2": street[1] if len(street) > 1 else None,
            "city": account.get("BillingCity"),
            "state": account.get("BillingState"),
            "postal_code": account.get("BillingPostalCode"),
            "country": account.get("BillingCountryCode"),
        }
        if account
        else None
    )
    return {
        "id": customer_id,
        "object": "customer",
        "address": address,
        "balance": 0,
        "created": created,
        "currency": currency,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": email,
        "invoice_prefix": customer_id[4:12].upper(),
        "invoice_settings": {"default_payment_method": None},
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "phone": None,
        "preferred_locales": [],
        "tax_exempt": "none",
    }
