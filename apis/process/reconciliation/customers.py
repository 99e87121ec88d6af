"""Customer cross-reference integrity: CRM accounts ↔ ERP customers ↔ billing customers.

Every ERP and billing customer must belong to one CRM account, and no account may have two in
one system. Which account a record belongs to is what the xref store links it to, else what the
record carries itself (the ERP's external id or customer number; billing's ``crm_account_id``);
when both are known and differ, or when the canonical ids on the two sides differ, the link
disagrees. Every CRM account must exist in the ERP (both ERPs keep prospects too); in billing only
accounts that are customers, which the CRM system API does not say yet (:func:`is_customer_account`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Generator, Iterator

from apis.canonical import BillingCustomer, Customer, ErpCustomer
from apis.process.reconciliation.model import Links, Mismatch, canonical_customer_id
from apis.process.reconciliation.snapshot import BillingSide, CrmSide, ErpSide


def is_customer_account(account: Customer) -> bool | None:
    """Whether a CRM account is a customer (billed) rather than a prospect; ``None``: unknown.

    Accounts typed ``customer`` (Salesforce ``Account.Type``) without a billing customer are
    reported; prospects have none by design, and an account without a type is not judged.
    """
    return None if account.account_type is None else account.account_type == "customer"


def compare_customers(crm: CrmSide, erp: ErpSide, billing: BillingSide, links: Links) -> Iterator[Mismatch]:
    """Every customer mismatch between the three systems."""
    erp_by_account: dict[str, list[ErpCustomer]] = defaultdict(list)
    for customer in erp.customers:
        account_id = yield from _erp_account(customer, erp.system, links)
        if account_id is not None:
            erp_by_account[account_id].append(customer)
    billing_by_account: dict[str, list[BillingCustomer]] = defaultdict(list)
    for found in billing.customers:
        account_id = yield from _billing_account(found, links)
        if account_id is not None:
            billing_by_account[account_id].append(found)
    for account in crm.accounts:
        in_erp, in_billing = erp_by_account.get(account.id, []), billing_by_account.get(account.id, [])
        if not in_erp:
            yield _account(account, "customer_missing_in_erp", "The CRM account has no ERP customer.")
        if not in_billing and is_customer_account(account):
            yield _account(
                account, "customer_missing_in_billing", "The CRM account is a customer but has no billing customer."
            )
        if len(in_erp) > 1:
            explanation = f"The CRM account has {len(in_erp)} ERP customers."
            yield _account(account, "duplicate_customer", explanation, erp_ids=sorted(c.id for c in in_erp))
        if len(in_billing) > 1:
            explanation = f"The CRM account has {len(in_billing)} billing customers."
            yield _account(account, "duplicate_customer", explanation, billing_ids=sorted(c.id for c in in_billing))


def _account(
    account: Customer,
    kind: str,
    explanation: str,
    *,
    erp_ids: list[str] | None = None,
    billing_ids: list[str] | None = None,
) -> Mismatch:
    return Mismatch(
        kind=kind,
        explanation=explanation,
        customer_id=account.id,
        customer_name=account.name,
        crm_id=account.id,
        erp_ids=erp_ids or [],
        billing_ids=billing_ids or [],
    )


def _erp_account(customer: ErpCustomer, system: str, links: Links) -> Generator[Mismatch, None, str | None]:
    """Yields the ERP customer's link mismatches; returns its CRM account id (``None``: it has none)."""
    by_xref = links.linked("customer", system, customer.id, links.crm)
    external = customer.external_id or ""
    by_record = external if external in links.accounts else None
    if by_record is None and canonical_customer_id(external):
        by_record = links.account_of_canonical(external)
    claimed = links.canonical("customer", system, customer.id) or canonical_customer_id(external)
    claimed = claimed or canonical_customer_id(customer.number)
    account_id = yield from _resolve(
        by_xref, by_record, claimed, links, name=customer.name, erp_ids=[customer.id], record="ERP customer"
    )
    if account_id is None:
        detail = f"carries {external!r}, which is no CRM account" if external else "carries no CRM account"
        yield Mismatch(
            kind="erp_customer_without_crm_account",
            explanation=f"The ERP customer {detail}, and the xref store links it to none.",
            customer_name=customer.name,
            erp_ids=[customer.id],
        )
    return account_id


def _billing_account(customer: BillingCustomer, links: Links) -> Generator[Mismatch, None, str | None]:
    """Yields the billing customer's link mismatches; returns its CRM account id (``None``: it has none)."""
    by_xref = links.linked("customer", links.billing, customer.id, links.crm)
    by_record = customer.crm_account_id if customer.crm_account_id in links.accounts else None
    if by_record is None and customer.crm_account_id is None and canonical_customer_id(customer.external_id):
        by_record = links.account_of_canonical(customer.external_id or "")
    claimed = links.canonical("customer", links.billing, customer.id) or canonical_customer_id(customer.external_id)
    account_id = yield from _resolve(
        by_xref, by_record, claimed, links, name=customer.name, billing_ids=[customer.id], record="billing customer"
    )
    if account_id is None:
        named = customer.crm_account_id
        detail = f"names the CRM account {named}, which does not exist" if named else "names no CRM account"
        yield Mismatch(
            kind="billing_customer_without_crm_account",
            explanation=f"The billing customer {detail}, and the xref store links it to none.",
            customer_name=customer.name,
            billing_ids=[customer.id],
        )
    return account_id


def _resolve(
    by_xref: str | None,
    by_record: str | None,
    claimed: str | None,
    links: Links,
    *,
    name: str | None,
    record: str,
    erp_ids: list[str] | None = None,
    billing_ids: list[str] | None = None,
) -> Generator[Mismatch, None, str | None]:
    """The account a record belongs to; yields a link mismatch where its links disagree."""
    account_id = by_xref or by_record
    if by_xref and by_record and by_xref != by_record:
        yield Mismatch(
            kind="customer_link_mismatch",
            explanation=f"The {record} names the CRM account {by_record}; the xref store links it to {by_xref}.",
            customer_id=by_xref,
            customer_name=links.name(by_xref, name),
            crm_id=by_xref,
            erp_ids=erp_ids or [],
            billing_ids=billing_ids or [],
        )
        return account_id
    expected = links.account_canonical(account_id) if account_id else None
    if account_id and claimed and expected and claimed != expected:
        yield Mismatch(
            kind="customer_link_mismatch",
            explanation=f"The {record} is the canonical customer {claimed}; its CRM account is {expected}.",
            customer_id=account_id,
            customer_name=links.name(account_id, name),
            crm_id=account_id,
            erp_ids=erp_ids or [],
            billing_ids=billing_ids or [],
        )
    return account_id
