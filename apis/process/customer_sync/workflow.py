"""Customer-sync: a CRM account ↔ its ERP customer ↔ its billing customer, matched before created.

Read top to bottom; one account (``{"account_id"}``) runs as these durable steps::

    read_account           the CRM account and its primary contact (unknown → needs_attention, salesforce)
    match_erp_customer     xref, then the ERP external id, then tax id, then normalised name + domain
                           (two candidates → needs_attention ambiguous_match, nothing written)   → matched
    sync_erp_customer      create, or update the CRM-owned fields; report ERP-owned disagreements
    sync_billing_customer  xref, then the billing customer carrying the CRM id, else create      → customer_synced
    complete               strata.customer.synced, in the state's transaction                    → completed

Every account (``{"all": true}``, or the schedule) reads the CRM's accounts and contacts and the
ERP's customers once (``list_accounts``, ``list_erp_customers``), then runs the same match and
writes per account, one step ``sync:<account id>`` each; an ambiguous account is then a finding
in the lineage, and the others go on.

**Field ownership.** The CRM owns the name and the contacts (the primary contact's e-mail): they
are written to the ERP and billing. The ERP owns the legal entity and the credit terms: they are
never written; where the CRM disagrees (its currency is not the legal entity's), the
disagreement is a finding (:mod:`apis.process.customer_sync.findings`). The CRM carries no
credit terms, so those never disagree.

Exactly-once at the vendors: the ERP write is an upsert by external id; the billing create and
update carry ``<workflow id>:<step>`` as Stripe ``Idempotency-Key``; every match is linked in
the xref store (kind ``customer``), which the next run reads first.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from apis.canonical import BillingCustomerCreate, BillingCustomerPatch, Customer, ErpCustomer, ErpCustomerUpsert
from apis.process.customer_sync.findings import Finding, record_findings
from apis.process.customer_sync.matching import by_name_and_domain, by_tax_id, normalise_tax_id
from apis.process.engine import idempotency_key, workflow
from apis.process.events import CloudEvent, deterministic_event_id, new_event
from apis.process.overrides import no_overrides
from apis.process.reconciliation.snapshot import every_page
from apis.process.runtime import runtime
from apis.process.spec import WorkflowSpec
from apis.process.steps import run_step
from apis.process.transactions import COMPLETED, VendorRecord
from core.errors import BusinessRuleViolation, InvalidInput, NotFound

WORKFLOW = "customer-sync"
SOURCE = "/strata/process/customer-sync"
SYNCED_EVENT = "strata.customer.synced"
STATES = ("accepted", "matched", "customer_synced", "completed")
"""The business states of a one-account sync that goes well, in order."""
PAGE = 200


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """A CRM account and the e-mail of its primary contact (the CRM owns both)."""

    customer: Customer
    email: str | None


class ErpMatch(msgspec.Struct, frozen=True, kw_only=True):
    """The ERP customer an account matched, how, and the candidates when it was ambiguous."""

    customer: ErpCustomer | None
    matched_by: str
    """``xref``, ``external_id``, ``tax_id``, ``name_domain`` or ``none`` (create one)."""
    candidates: list[str] = []
    """The ERP ids of an ambiguous match (then ``customer`` is ``None``)."""


class Synced(msgspec.Struct, frozen=True, kw_only=True):
    """One account after the sync: its ids everywhere and what changed."""

    crm_account_id: str
    customer_id: str
    erp_customer_id: str
    billing_customer_id: str
    matched_by: str
    created: list[str]
    """Systems where the customer was created by this sync."""
    updated: list[str]
    """``<system>.<field>`` written by this sync (CRM-owned fields only)."""
    conflicts: int
    """Disagreements on ERP-owned fields, reported and not written."""


@workflow(WORKFLOW)
async def customer_sync(transaction_id: str, business_key: str) -> dict[str, Any]:
    """The customer sync of one account or of every account (workflow id = ``transaction_id``)."""
    request = await run_step(transaction_id, "read_request", None, read_request, transaction_id)
    if request.get("account_id"):
        synced = [await sync_one(transaction_id, str(request["account_id"]))]
    else:
        accounts = await run_step(transaction_id, "list_accounts", runtime().crm.vendor, list_accounts)
        pool = await run_step(transaction_id, "list_erp_customers", runtime().erp_system, all_erp_customers)
        synced = []
        for account in accounts:
            result = await run_step(
                transaction_id, f"sync:{account.customer.id}", None, sync_in_bulk, transaction_id, account, pool
            )
            if result is not None:
                synced.append(result)
    await run_step(transaction_id, "complete", None, complete, transaction_id, synced)
    return {"synced": [msgspec.to_builtins(s) for s in synced]}


async def sync_one(transaction_id: str, account_id: str) -> Synced:
    """One account, step by step (the ``{"account_id"}`` form)."""
    erp = runtime().erp_system
    account = await run_step(transaction_id, "read_account", runtime().crm.vendor, read_account, account_id)
    match = await run_step(transaction_id, "match_erp_customer", erp, match_erp_customer, transaction_id, account)
    canonical_id, erp_id, created, updated, conflicts = await run_step(
        transaction_id, "sync_erp_customer", erp, sync_erp_customer, transaction_id, account, match, ""
    )
    billing_id, billing_created, billing_updated = await run_step(
        transaction_id,
        "sync_billing_customer",
        runtime().billing.vendor,
        sync_billing_customer,
        transaction_id,
        account,
        canonical_id,
        "",
    )
    return Synced(
        crm_account_id=account_id,
        customer_id=canonical_id,
        erp_customer_id=erp_id,
        billing_customer_id=billing_id,
        matched_by=match.matched_by,
        created=created + billing_created,
        updated=updated + billing_updated,
        conflicts=conflicts,
    )


async def read_request(transaction_id: str) -> dict[str, Any]:
    """The run's request, as stored with the transaction."""
    transaction = await runtime().transactions.get(transaction_id)
    return dict(transaction.input) if transaction else {}


async def list_accounts() -> list[Account]:
    """Every CRM account with its primary contact's e-mail, in id order (two paged lists, not 2×N reads)."""
    crm = runtime().crm
    customers = await every_page(lambda p: crm.list_accounts(limit=PAGE, position=p))
    emails: dict[str, str] = {}
    for contact in await every_page(lambda p: crm.list_contacts(limit=PAGE, position=p)):
        if contact.account_id and contact.email:
            emails.setdefault(contact.account_id, contact.email)
    return [Account(customer=c, email=emails.get(c.id)) for c in customers]


async def read_account(account_id: str) -> Account:
    """The CRM account and its primary contact's e-mail (the first contact that has one).

    Raises:
        BusinessRuleViolation: the CRM has no such account (``unknown_account``, salesforce's to fix).
    """
    crm = runtime().crm
    try:
        customer = await crm.get_account(account_id)
    except (NotFound, InvalidInput):
        raise BusinessRuleViolation(
            "unknown_account", f"The CRM has no account {account_id}", owner_system=runtime().crm.vendor
        ) from None
    contacts = await crm.list_contacts(account_id=account_id, limit=PAGE)
    email = next((c.email for c in contacts.items if c.email), None)
    return Account(customer=customer, email=email)


async def match_erp_customer(
    transaction_id: str,
    account: Account,
    *,
    prefix: str = "",
    ambiguous_stops: bool = True,
    customers: list[ErpCustomer] | None = None,
) -> ErpMatch:
    """The account's ERP customer: xref, external id, tax id, normalised name + domain — or none.

    Raises:
        BusinessRuleViolation: two or more ERP customers fit at one level (``ambiguous_match``,
            listing their ids; the ERP's to merge), when ``ambiguous_stops``.
    """
    process = runtime()
    erp, crm_id = process.erp_system, account.customer.id
    canonical_id = await process.xref.canonical_id("customer", process.crm.vendor, crm_id)
    linked = await process.xref.vendor_id("customer", canonical_id, erp) if canonical_id else None
    if linked is not None:
        match = ErpMatch(customer=await process.erp.get_customer(linked), matched_by="xref")
    else:
        match = await _search(account, customers)
    if match.candidates and ambiguous_stops:
        detail = (
            f"CRM account {crm_id} ({account.customer.name}) matches {len(match.candidates)} ERP customers "
            f"by {match.matched_by}: {', '.join(match.candidates)}; nothing was written"
        )
        raise BusinessRuleViolation(
            "ambiguous_match",
            detail,
            owner_system=erp,
            field_errors=[{"pointer": "/account_id", "detail": detail}],
        )
    records = [VendorRecord(system=erp, object="customer", id=match.customer.id)] if match.customer else []
    await process.transactions.advance(
        transaction_id,
        "matched",
        step=f"{prefix}match_erp_customer",
        records=records,
        customer_id=None if prefix else crm_id,
    )
    return match


async def _search(account: Account, customers: list[ErpCustomer] | None) -> ErpMatch:
    process = runtime()
    found = (await process.erp.search_customers(external_id=account.customer.id, limit=2)).items
    if found:
        return _one_of(found, "external_id")
    pool = customers if customers is not None else await all_erp_customers()
    for matched_by, select in (("tax_id", by_tax_id), ("name_domain", by_name_and_domain)):
        # One linked to another account already is that account's (a duplicate in the CRM), not a candidate.
        candidates = [
            c
            for c in select(account.customer, pool)
            if await process.xref.canonical_id("customer", process.erp_system, c.id) is None
        ]
        if candidates:
            return _one_of(candidates, matched_by)
    return ErpMatch(customer=None, matched_by="none")


def _one_of(candidates: list[ErpCustomer], matched_by: str) -> ErpMatch:
    if len(candidates) == 1:
        return ErpMatch(customer=candidates[0], matched_by=matched_by)
    return ErpMatch(customer=None, matched_by=matched_by, candidates=sorted(c.id for c in candidates))


async def all_erp_customers() -> list[ErpCustomer]:
    """Every ERP customer (the pool tax id and name matching look in)."""
    erp = runtime().erp
    customers: list[ErpCustomer] = []
    position: Any = None
    while True:
        page = await erp.search_customers(limit=PAGE, position=position)
        customers.extend(page.items)
        position = page.next_position
        if position is None:
            return customers


async def sync_erp_customer(
    transaction_id: str, account: Account, match: ErpMatch, prefix: str
) -> tuple[str, str, list[str], list[str], int]:
    """Create the ERP customer, or write the CRM-owned fields onto the matched one; link it.

    Returns (canonical id, ERP id, systems created in, fields updated, ERP-owned conflicts).
    """
    process = runtime()
    erp, customer = process.erp_system, account.customer
    canonical_id = await canonical_customer(customer)
    created: list[str] = []
    updated: list[str] = []
    findings: list[Finding] = []
    if match.customer is None:
        made, _ = await process.erp.upsert_customer(
            customer.id,
            ErpCustomerUpsert(
                name=customer.name,
                currency=customer.currency,
                tax_id=customer.tax_id,
                email=account.email,
                domain=customer.domain,
                billing_address=customer.billing_address,
            ),
        )
        erp_id = made.id
        created.append(erp)
    else:
        existing = match.customer
        erp_id = existing.id
        findings = await ownership_findings(customer, existing)
        changes = {
            field: value
            for field, value, current in (
                ("name", customer.name, existing.name),
                ("email", account.email, existing.email),
            )
            if value and value != current
        }
        if changes and existing.external_id:
            # Only the CRM-owned fields are sent: the ERP keeps legal entity, currency and terms.
            await process.erp.upsert_customer(
                existing.external_id,
                ErpCustomerUpsert(name=changes.get("name", existing.name), email=changes.get("email")),
            )
            updated.extend(f"{erp}.{field}" for field in changes)
        elif changes:
            findings.append(
                Finding(
                    code="erp_update_unsupported",
                    subject=f"{erp} customer {erp_id}",
                    detail=f"has no external id, so the ERP API cannot update it; not written: {', '.join(changes)}",
                )
            )
    await process.xref.link("customer", canonical_id, erp, erp_id)
    await record_findings(transaction_id, WORKFLOW, f"{prefix}sync_erp_customer", findings)
    await process.transactions.advance(
        transaction_id,
        "matched",
        step=f"{prefix}sync_erp_customer",
        records=[VendorRecord(system=erp, object="customer", id=erp_id)],
    )
    return canonical_id, erp_id, created, updated, sum(f.code == "ownership_conflict" for f in findings)


async def ownership_findings(customer: Customer, existing: ErpCustomer) -> list[Finding]:
    """Where the CRM disagrees with what the ERP owns (legal entity, currency; terms the CRM lacks)."""
    process = runtime()
    findings: list[Finding] = []
    subject = f"{process.erp_system} customer {existing.id}"
    if customer.currency and existing.legal_entity_id:
        entities = await process.master_data.get("legal_entities", process.erp.list_legal_entities) or []
        entity = next((e for e in entities if e.id == existing.legal_entity_id), None)
        if entity is not None and entity.currency != customer.currency:
            findings.append(
                Finding(
                    code="ownership_conflict",
                    subject=subject,
                    detail=(
                        f"legal_entity: the CRM account {customer.id} is in {customer.currency}, the ERP's legal "
                        f"entity {entity.id} ({entity.name}) sells in {entity.currency}; the ERP owns it, not written"
                    ),
                )
            )
    if customer.currency and existing.currency and customer.currency != existing.currency:
        findings.append(
            Finding(
                code="ownership_conflict",
                subject=f"{subject} currency",
                detail=f"currency: CRM {customer.currency}, ERP {existing.currency}; the ERP owns it, not written",
            )
        )
    ours, theirs = normalise_tax_id(customer.tax_id), normalise_tax_id(existing.tax_id)
    if ours and theirs and ours != theirs:
        findings.append(
            Finding(
                code="tax_id_differs",
                subject=f"{subject} tax id",
                detail=f"CRM {customer.tax_id}, ERP {existing.tax_id}; not written",
            )
        )
    return findings


async def sync_billing_customer(
    transaction_id: str, account: Account, canonical_id: str, prefix: str
) -> tuple[str, list[str], list[str]]:
    """The billing customer: the xref's, or the one carrying the CRM id (name and e-mail brought
    up to the CRM's), else a new one; linked. Returns (billing id, created in, fields updated)."""
    process = runtime()
    customer = account.customer
    step_name = f"{prefix}sync_billing_customer"
    billing_id = await process.xref.vendor_id("customer", canonical_id, process.billing.vendor)
    found = await process.billing.get_customer(billing_id) if billing_id else None
    if found is None:
        found = await process.billing.find_existing_customer(customer.id)
    created: list[str] = []
    updated: list[str] = []
    if found is None:
        # Made by this step (ensure_customer: a retry never makes a second).
        transaction = await process.transactions.get(transaction_id)
        started = transaction.created_at if transaction is not None else time.time()
        made = await process.billing.ensure_customer(
            BillingCustomerCreate(
                name=customer.name,
                email=account.email,
                external_id=canonical_id,
                crm_account_id=customer.id,
                billing_address=customer.billing_address,
            ),
            key=idempotency_key(step_name),
            first_attempt=started,
        )
        billing_id = made.id
        created.append(process.billing.vendor)
    else:
        billing_id = found.id
        changes = {
            field: value
            for field, value, current in (("name", customer.name, found.name), ("email", account.email, found.email))
            if value and value != current
        }
        if changes:
            await process.billing.update_customer(
                billing_id,
                BillingCustomerPatch(name=changes.get("name"), email=changes.get("email")),
                key=idempotency_key(f"{step_name}:update"),
            )
            updated.extend(f"{process.billing.vendor}.{field}" for field in changes)
    await process.xref.link("customer", canonical_id, process.billing.vendor, billing_id)
    await process.transactions.advance(
        transaction_id,
        "customer_synced",
        step=step_name,
        records=[VendorRecord(system=process.billing.vendor, object="customer", id=billing_id)],
    )
    return billing_id, created, updated


async def sync_in_bulk(transaction_id: str, account: Account, pool: list[ErpCustomer]) -> Synced | None:
    """One account of an every-account run, in one step; an ambiguous one is a finding (``None``).

    ``pool`` is the ERP's customers as the run found them: those it creates carry their CRM id as
    external id (and are linked), so they are found without it.
    """
    account_id = account.customer.id
    prefix = f"{account_id}:"
    match = await match_erp_customer(transaction_id, account, prefix=prefix, ambiguous_stops=False, customers=pool)
    if match.candidates:
        finding = Finding(
            code="ambiguous_match",
            subject=f"CRM account {account_id}",
            detail=f"matches ERP customers {', '.join(match.candidates)} by {match.matched_by}; nothing was written",
        )
        await record_findings(transaction_id, WORKFLOW, f"sync:{account_id}", [finding])
        return None
    canonical_id, erp_id, created, updated, conflicts = await sync_erp_customer(transaction_id, account, match, prefix)
    billing_id, billing_created, billing_updated = await sync_billing_customer(
        transaction_id, account, canonical_id, prefix
    )
    return Synced(
        crm_account_id=account_id,
        customer_id=canonical_id,
        erp_customer_id=erp_id,
        billing_customer_id=billing_id,
        matched_by=match.matched_by,
        created=created + billing_created,
        updated=updated + billing_updated,
        conflicts=conflicts,
    )


async def complete(transaction_id: str, synced: list[Synced]) -> None:
    """``strata.customer.synced`` per account, and the transaction completed, in one transaction."""
    process = runtime()
    transaction = await process.transactions.get(transaction_id)
    correlation_id = transaction.correlation_id if transaction else transaction_id
    events = [synced_event(transaction_id, correlation_id, s) for s in synced]
    await process.transactions.advance(transaction_id, COMPLETED, step="complete", events=events)


def synced_event(transaction_id: str, correlation_id: str, synced: Synced) -> CloudEvent:
    """The ``strata.customer.synced`` event of one account."""
    return new_event(
        SYNCED_EVENT,
        event_id=deterministic_event_id(transaction_id, synced.crm_account_id, SYNCED_EVENT),
        subject=synced.customer_id,
        source=SOURCE,
        correlation_id=correlation_id,
        data={"transaction_id": transaction_id, **msgspec.to_builtins(synced)},
    )


async def canonical_customer(customer: Customer) -> str:
    """The canonical id of a CRM account (its ``Strata_Id__c`` when it has one, as quote-to-cash)."""
    xref = runtime().xref
    known = await xref.canonical_id("customer", runtime().crm.vendor, customer.id)
    if known is not None:
        return known
    if customer.external_id and customer.external_id.startswith("cus_"):
        await xref.link("customer", customer.external_id, runtime().crm.vendor, customer.id)
        return customer.external_id
    canonical_id, _ = await xref.canonical_id_for("customer", runtime().crm.vendor, customer.id)
    return canonical_id


def step_systems(erp: str) -> dict[str, str | None]:
    """The system each step of customer-sync talks to."""
    return {
        "read_request": None,
        "list_accounts": runtime().crm.vendor,
        "read_account": runtime().crm.vendor,
        "match_erp_customer": erp,
        "sync_erp_customer": erp,
        "sync_billing_customer": runtime().billing.vendor,
        "list_erp_customers": erp,
        "complete": None,
    }


SPEC = WorkflowSpec(
    name=WORKFLOW,
    run=customer_sync,
    step_systems=step_systems,
    check_overrides=no_overrides(WORKFLOW, "a replay reads the systems again"),
    compensate=None,
)
