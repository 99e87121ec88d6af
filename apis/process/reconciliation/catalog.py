"""Catalogue: each product code's ERP item against its billing prices and product platform SKU.

What is invoiced is priced three times: the ERP's item master (the finance system of record,
the reference here), billing's prices and the product platform's list prices. For every product
code billing or the platform sells, the ERP must have the item, under that code, and every
price in the currency of the ERP's price must equal it. (Prices in other currencies are not
compared: converting them is a pricing decision, not a reconciliation.)

An ERP whose item codes are shorter than product codes (Business Central's ``Code[20]``) keeps
a longer code cut off; the item is still found by that prefix, reported as
``item_code_mismatch``, and its prices compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from apis.canonical import Item, Money
from apis.process.reconciliation.model import Mismatch
from apis.process.reconciliation.snapshot import BillingSide, CatalogSide, ErpSide


def compare_catalog(erp: ErpSide, billing: BillingSide, catalog: CatalogSide) -> Iterator[Mismatch]:
    """Every catalogue mismatch, by product code."""
    billing_codes = {p.id: p.code for p in billing.products if p.code}
    codes = set(billing_codes.values()) | {p.code for p in catalog.products}
    items = {item.code: item for item in erp.items}
    for code in sorted(codes):
        billing_product_ids = sorted(pid for pid, c in billing_codes.items() if c == code)
        skus = [s for s in catalog.skus if s.code == code]
        item = items.get(code)
        if item is None:
            item = _truncated(code, erp.items, codes)
            if item is not None:
                yield Mismatch(
                    kind="item_code_mismatch",
                    explanation=(
                        f"The ERP item code {item.code!r} is the product code {code!r} "
                        f"cut to {len(item.code)} characters."
                    ),
                    product_code=code,
                    erp_ids=[item.id],
                    billing_ids=billing_product_ids,
                    catalog_ids=sorted(s.id for s in skus),
                )
        if item is None:
            yield Mismatch(
                kind="item_missing_in_erp",
                explanation="Billing or the product platform sells the product code; the ERP has no item for it.",
                product_code=code,
                billing_ids=billing_product_ids,
                catalog_ids=sorted(s.id for s in skus),
            )
            continue
        reference = item.unit_price
        if reference is None:
            continue
        for price in billing.prices:
            sold = billing_codes.get(price.product_id) == code and price.active and price.unit_amount is not None
            if sold and price.unit_amount is not None and _differs(price.unit_amount, reference):
                yield _price(code, item, reference, "billing", price.unit_amount, billing_ids=[price.id])
        for sku in skus:
            if _differs(sku.unit_price, reference):
                yield _price(code, item, reference, "product", sku.unit_price, catalog_ids=[sku.id])


def _truncated(code: str, items: list[Item], codes: set[str]) -> Item | None:
    """The one ERP item whose code is ``code`` cut short (and no product code of its own)."""
    found = [i for i in items if len(i.code) < len(code) and code.startswith(i.code) and i.code not in codes]
    return found[0] if len(found) == 1 else None


def _differs(price: Money, reference: Money) -> bool:
    """Whether a price in the reference's currency differs from it (other currencies are not compared)."""
    return price.currency.upper() == reference.currency.upper() and Decimal(price.amount) != Decimal(reference.amount)


def _price(
    code: str,
    item: Item,
    reference: Money,
    side: str,
    price: Money,
    *,
    billing_ids: list[str] | None = None,
    catalog_ids: list[str] | None = None,
) -> Mismatch:
    where = {"billing": "Billing", "product": "The product platform"}[side]
    return Mismatch(
        kind="price_mismatch",
        explanation=(
            f"{where} prices {code} at {price.amount} {price.currency}; "
            f"the ERP item at {reference.amount} {reference.currency}."
        ),
        product_code=code,
        erp_ids=[item.id],
        billing_ids=billing_ids or [],
        catalog_ids=catalog_ids or [],
        amounts={side: price, "erp": reference},
    )
