"""A reconciliation's findings (:class:`Mismatch`) and what every comparison looks ids up in (:class:`Links`).

A mismatch names the kind of disagreement, the customer it concerns (the CRM account id when
one is known), the ids on each side, the amounts that differ and a sentence for the person who
fixes it. The kinds, by comparison:

* customers (CRM accounts ↔ ERP customers ↔ billing customers, and the xref store):
  ``customer_missing_in_erp``, ``customer_missing_in_billing``, ``erp_customer_without_crm_account``,
  ``billing_customer_without_crm_account``, ``duplicate_customer``, ``customer_link_mismatch``;
* invoices (billing ↔ ERP, for the period): ``invoice_missing_in_erp``, ``invoice_missing_in_billing``,
  ``invoice_amount_mismatch``, ``invoice_customer_mismatch``, ``invoice_period_mismatch``,
  ``duplicate_invoice``;
* payments (billing ↔ ERP cash applications, for the period): ``payment_missing_in_erp``,
  ``payment_missing_in_billing``, ``payment_amount_mismatch``, ``payment_not_posted_in_erp``;
* catalogue (ERP items ↔ billing prices ↔ product platform SKUs): ``item_missing_in_erp``,
  ``item_code_mismatch``, ``price_mismatch``;
* revenue (ERP revenue recognised in the period ↔ the ratable share of billed service periods, per
  customer): ``revenue_mismatch`` (:mod:`apis.process.reconciliation.revenue`).

A record created through Strata is consistent by construction: its cross-references (written by
the workflows, :mod:`apis.process.xref`) are believed before the ids a vendor record carries itself.
"""

from __future__ import annotations

import re
from collections import defaultdict

import msgspec

from apis.canonical import Customer, Money
from apis.process.reconciliation.snapshot import XrefLink

CANONICAL_CUSTOMER = re.compile(r"^cus_[0-9A-HJKMNP-TV-Z]{26}$")
"""A canonical customer id, ``cus_<ULID>`` (a billing id may start with ``cus_`` too: Stripe's do)."""


class Mismatch(msgspec.Struct, frozen=True, kw_only=True):
    """One disagreement between systems."""

    kind: str
    """What disagrees (see the module docstring)."""
    explanation: str
    """What is wrong, in a sentence."""
    customer_id: str | None = None
    """The CRM account it concerns, when one is known."""
    customer_name: str | None = None
    """The customer's name, as the CRM (else the record) has it."""
    crm_id: str | None = None
    """The CRM record involved (the account)."""
    billing_ids: list[str] = []
    """Billing records involved (customers, invoices, prices, payments)."""
    erp_ids: list[str] = []
    """ERP records involved (customers, invoices, items, payments)."""
    catalog_ids: list[str] = []
    """Product platform records involved (SKUs)."""
    product_code: str | None = None
    """The product code, for catalogue mismatches."""
    amounts: dict[str, Money] = {}
    """The amounts that differ, by side (``billing``, ``erp``, ``product``)."""

    def sort_key(self) -> tuple[str, ...]:
        """Report order: by kind, then customer, product and ids."""
        return (
            self.kind,
            self.customer_id or "",
            self.product_code or "",
            ",".join(self.billing_ids),
            ",".join(self.erp_ids),
            ",".join(self.catalog_ids),
        )


class Links:
    """The xref store and the CRM accounts, indexed for lookups both ways.

    ``crm`` and ``billing`` are those systems' names in the xref store (their services' ``vendor``).
    """

    def __init__(self, xrefs: list[XrefLink], accounts: list[Customer], *, crm: str, billing: str) -> None:
        self.crm, self.billing = crm, billing
        self._canonical: dict[tuple[str, str, str], str] = {}
        self._systems: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        for link in xrefs:
            self._canonical[(link.kind, link.system, link.vendor_id)] = link.canonical_id
            self._systems[(link.kind, link.canonical_id)][link.system] = link.vendor_id
        self.accounts = {account.id: account for account in accounts}
        self._account_by_canonical = {a.external_id: a.id for a in accounts if _canonical_customer(a.external_id)}

    def canonical(self, kind: str, system: str, vendor_id: str) -> str | None:
        """The canonical id the xref store gives a vendor record."""
        return self._canonical.get((kind, system, vendor_id))

    def linked(self, kind: str, system: str, vendor_id: str, other: str) -> str | None:
        """The id in system ``other`` of the object that is ``vendor_id`` in ``system``, per the xref store."""
        canonical = self.canonical(kind, system, vendor_id)
        return self._systems.get((kind, canonical), {}).get(other) if canonical else None

    def linked_to_canonical(self, kind: str, canonical_id: str, system: str) -> str | None:
        """The id in ``system`` of a canonical object, per the xref store."""
        return self._systems.get((kind, canonical_id), {}).get(system)

    def account_of_canonical(self, canonical_id: str) -> str | None:
        """The CRM account of a canonical customer id: linked in the xref store, or carrying it."""
        return self.linked_to_canonical("customer", canonical_id, self.crm) or self._account_by_canonical.get(
            canonical_id
        )

    def account_canonical(self, account_id: str) -> str | None:
        """The canonical id of a CRM account: the xref store's, else the one on the account."""
        found = self.canonical("customer", self.crm, account_id)
        if found:
            return found
        account = self.accounts.get(account_id)
        return account.external_id if account and _canonical_customer(account.external_id) else None

    def name(self, account_id: str | None, fallback: str | None = None) -> str | None:
        """The account's name, else ``fallback``."""
        account = self.accounts.get(account_id) if account_id else None
        return account.name if account else fallback


def _canonical_customer(value: str | None) -> bool:
    return bool(value and CANONICAL_CUSTOMER.match(value))


def canonical_customer_id(value: str | None) -> str | None:
    """``value`` if it is a canonical customer id (``cus_…``), else ``None``."""
    return value if _canonical_customer(value) else None
