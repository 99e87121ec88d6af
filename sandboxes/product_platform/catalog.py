"""The product platform's catalog: products, SKUs and bundles, fixed for every seed.

Product codes are the Salesforce sandbox's (:data:`sandboxes.salesforce.seed.PRODUCTS`), which
are also the NetSuite sandbox's item ids. Each product has one primary SKU whose code *is* the
product code (what an opportunity line names); STRATA-CORE also sells monthly.

Deliberate inconsistency, for reconciliation to find later: :data:`PRICE_DRIFT` — the platform
lists STRATA-PREMIUM-SUPPORT at 5,500.00 USD while Salesforce and NetSuite say 5,000.00.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandboxes.salesforce.seed import PRODUCTS

STAMP = "2024-01-01T00:00:00.000Z"
PRICE_DRIFT = {"STRATA-PREMIUM-SUPPORT": Decimal("5500.00")}
"""Product code → the platform's (deliberately different) list price in USD."""

_CHARGES = {
    "Platform": ("per_unit", "year", "instance"),
    "Connectors": ("per_unit", "year", "connector"),
    "Services": ("flat", "once", "package"),
    "Usage": ("metered", "month", "million_api_calls"),
}
_SUPPORT = ("flat", "year", "subscription")
BUNDLES = (
    ("STRATA-STARTER", "Strata Starter", (("STRATA-CORE", 1), ("STRATA-CRM-CONNECTOR", 1), ("STRATA-ONBOARDING", 1))),
    (
        "STRATA-ENTERPRISE",
        "Strata Enterprise",
        (
            ("STRATA-CORE", 1),
            ("STRATA-ERP-CONNECTOR", 1),
            ("STRATA-CRM-CONNECTOR", 1),
            ("STRATA-BILLING-CONNECTOR", 1),
            ("STRATA-PREMIUM-SUPPORT", 1),
        ),
    ),
)
"""(bundle code, name, ((SKU code, quantity), ...))."""


def slug(code: str) -> str:
    """``STRATA-CORE`` → ``strata_core`` (ids are derived from codes, so they never change)."""
    return code.lower().replace("-", "_")


def _minor(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def catalog() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(products, SKUs, bundles) in the platform's own wire shape."""
    products, skus = [], []
    for code, name, family, price in PRODUCTS:
        product_id = f"prod_{slug(code)}"
        products.append(
            {
                "id": product_id,
                "code": code,
                "name": name,
                "family": family,
                "description": f"{name} ({code})",
                "active": True,
                "createdAt": STAMP,
                "updatedAt": STAMP,
            }
        )
        model, interval, unit = _SUPPORT if code == "STRATA-PREMIUM-SUPPORT" else _CHARGES[family]
        amount = PRICE_DRIFT.get(code, Decimal(str(price)))
        skus.append(_sku(code, product_id, name, model, interval, unit, amount))
        if code == "STRATA-CORE":
            monthly = (Decimal(str(price)) / 12 * Decimal("1.1")).quantize(Decimal("0.01"))
            skus.append(_sku(f"{code}-MONTHLY", product_id, f"{name} (monthly)", model, "month", unit, monthly))
    by_code = {sku["code"]: sku for sku in skus}
    bundles = [
        {
            "id": f"bndl_{slug(code)}",
            "code": code,
            "name": name,
            "description": f"{name}: " + ", ".join(item for item, _ in items),
            "items": [{"skuId": by_code[item]["id"], "skuCode": item, "quantity": qty} for item, qty in items],
            "active": True,
            "createdAt": STAMP,
            "updatedAt": STAMP,
        }
        for code, name, items in BUNDLES
    ]
    return products, skus, bundles


def _sku(
    code: str, product_id: str, name: str, model: str, interval: str, unit: str, amount: Decimal
) -> dict[str, Any]:
    return {
        "id": f"sku_{slug(code)}",
        "code": code,
        "productId": product_id,
        "name": name,
        "chargeModel": model,
        "billingInterval": interval,
        "unit": unit,
        "price": {"currency": "USD", "unitAmountMinor": _minor(amount)},
        "active": True,
        "createdAt": STAMP,
        "updatedAt": STAMP,
    }
