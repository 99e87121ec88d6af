"""Catalog-sync: the product platform's catalog carried to billing prices and ERP items, or reported.

Read top to bottom; each step is checkpointed::

    read_catalog   active SKUs of the product platform (the catalog of record)
    read_billing   billing prices
    read_erp       ERP items
    report         findings per SKU in the lineage, strata.catalog.synced               → reported
    check_complete nothing missing → completed; else needs_attention ``catalog_incomplete``

For each active SKU the catalog sells: billing must have an active price with the lookup key
``<code>-<currency>`` (how quote-to-cash finds it), the ERP an item with its code; a price there that differs from the
catalog's (the sandboxes' ``PRICE_DRIFT`` and Stripe ``PRICE_OVERRIDES``) is a ``price_drift``
finding naming both amounts. Only prices in the SKU's currency are compared (converting is a
pricing decision, not a sync).

What is missing is **reported, not created**: the billing system API offers no product or price
create, nor the ERP system API an item create, so each missing record is a ``missing_in_billing``
or ``missing_in_erp`` finding and the run ends ``needs_attention`` (owner: the system lacking
it) for someone to set them up and replay — ``created`` in the event says 0, truthfully.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from ulid import ULID

from apis.canonical import BillingPrice, Item, Money, Sku
from apis.process.customer_sync.findings import Finding, record_findings
from apis.process.engine import workflow
from apis.process.overrides import no_overrides
from apis.process.reconciliation.snapshot import every_page
from apis.process.runtime import ProcessRuntime, runtime
from apis.process.spec import WorkflowSpec
from apis.process.steps import run_step
from apis.process.transactions import COMPLETED, Transaction, transaction_event
from core.errors import BusinessRuleViolation

WORKFLOW = "catalog-sync"
SOURCE = "/strata/process/catalog-sync"
SYNCED_EVENT = "strata.catalog.synced"
PAGE = 100


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """What one run found."""

    skus: int
    missing_in_billing: list[str]
    """SKU codes billing has no active price (lookup key ``<code>-<currency>``) for."""
    missing_in_erp: list[str]
    """SKU codes the ERP has no item for."""
    price_differences: int


@workflow(WORKFLOW)
async def catalog_sync(transaction_id: str, business_key: str) -> dict[str, Any]:
    """One comparison of the catalog with billing and the ERP (workflow id = ``transaction_id``)."""
    skus = await run_step(transaction_id, "read_catalog", runtime().product.vendor, read_catalog)
    billing = await run_step(transaction_id, "read_billing", runtime().billing.vendor, read_billing)
    items = await run_step(transaction_id, "read_erp", runtime().erp_system, read_erp)
    report = await run_step(transaction_id, "report", None, report_findings, transaction_id, skus, billing, items)
    await run_step(transaction_id, "check_complete", None, check_complete, transaction_id, report)
    return msgspec.to_builtins(report)  # type: ignore[no-any-return]


async def read_catalog() -> list[Sku]:
    """Every active SKU of the product platform."""
    product = runtime().product
    skus = await every_page(lambda p: product.list_skus(product_id=None, code=None, limit=PAGE, position=p))
    return [s for s in skus if s.active]


async def read_billing() -> list[BillingPrice]:
    """Every billing price."""
    billing = runtime().billing
    return await every_page(lambda p: billing.list_prices(limit=PAGE, position=p))


async def read_erp() -> list[Item]:
    """Every ERP item."""
    erp = runtime().erp
    return await every_page(lambda p: erp.list_items(limit=PAGE, position=p))


def compare(
    skus: list[Sku], billing: list[BillingPrice], items: list[Item], erp: str, billing_system: str
) -> tuple[Report, list[Finding]]:
    """The report and the findings of one comparison (pure: what the steps read and the systems'
    names go in; no runtime needed)."""
    items_by_code = {item.code: item for item in items}
    findings: list[Finding] = []
    missing_billing: list[str] = []
    missing_erp: list[str] = []
    drift = 0
    for sku in sorted(skus, key=lambda s: s.code):
        wanted = sku.unit_price
        lookup_key = price_lookup_key(sku)
        prices = [
            p
            for p in billing
            if p.active and p.lookup_key == lookup_key and _currency(p.unit_amount) == wanted.currency
        ]
        if not prices:
            missing_billing.append(sku.code)
            findings.append(
                Finding(
                    code="missing_in_billing",
                    subject=sku.code,
                    detail=(
                        f"billing has no active price {lookup_key} for catalog SKU {sku.id}; "
                        "the billing API cannot create it"
                    ),
                )
            )
        for price in prices:
            if price.unit_amount is not None and not _same(price.unit_amount, wanted):
                drift += 1
                findings.append(
                    Finding(
                        code="price_drift",
                        subject=f"{sku.code} {billing_system} {price.id}",
                        detail=f"billing price {price.unit_amount.amount}, catalog {wanted.amount} {wanted.currency}",
                    )
                )
        item = items_by_code.get(sku.code)
        if item is None:
            missing_erp.append(sku.code)
            findings.append(
                Finding(
                    code="missing_in_erp",
                    subject=sku.code,
                    detail=f"{erp} has no item for catalog SKU {sku.id}; the ERP API cannot create it",
                )
            )
        elif (
            item.unit_price is not None
            and item.unit_price.currency == wanted.currency
            and not _same(item.unit_price, wanted)
        ):
            drift += 1
            findings.append(
                Finding(
                    code="price_drift",
                    subject=f"{sku.code} {erp} {item.id}",
                    detail=f"ERP item price {item.unit_price.amount}, catalog {wanted.amount} {wanted.currency}",
                )
            )
    report = Report(
        skus=len(skus), missing_in_billing=missing_billing, missing_in_erp=missing_erp, price_differences=drift
    )
    return report, findings


async def report_findings(
    transaction_id: str, skus: list[Sku], billing: list[BillingPrice], items: list[Item]
) -> Report:
    """Findings in the lineage and ``strata.catalog.synced``, with the state, in the step."""
    process = runtime()
    report, findings = compare(skus, billing, items, process.erp_system, process.billing.vendor)
    await record_findings(transaction_id, WORKFLOW, "report", findings)
    event = transaction_event(
        SYNCED_EVENT,
        transaction_id,
        "report",
        subject=transaction_id,
        source=SOURCE,
        data={
            "transaction_id": transaction_id,
            "skus": report.skus,
            "missing_in_billing": len(report.missing_in_billing),
            "missing_in_erp": len(report.missing_in_erp),
            "price_differences": report.price_differences,
            "created": 0,
        },
    )
    await process.transactions.advance(transaction_id, "reported", step="report", events=[event])
    return report


async def check_complete(transaction_id: str, report: Report) -> None:
    """Completed when nothing is missing; otherwise needs_attention, owned by who lacks records.

    Raises:
        BusinessRuleViolation: ``catalog_incomplete``, listing the codes missing in each system.
    """
    if report.missing_in_billing or report.missing_in_erp:
        parts = []
        if report.missing_in_billing:
            parts.append(f"billing lacks {', '.join(report.missing_in_billing)}")
        if report.missing_in_erp:
            parts.append(f"the ERP lacks {', '.join(report.missing_in_erp)}")
        owner = runtime().billing.vendor if report.missing_in_billing else runtime().erp_system
        raise BusinessRuleViolation(
            "catalog_incomplete",
            f"Catalog SKUs not set up (no system API creates them): {'; '.join(parts)}",
            owner_system=owner,
        )
    await runtime().transactions.advance(transaction_id, COMPLETED, step="check_complete")


def price_lookup_key(sku: Sku) -> str:
    """The lookup key of a SKU's billing price, as quote-to-cash finds it: ``<code>-<currency>``."""
    return f"{sku.code}-{sku.unit_price.currency.lower()}"


def _currency(money: Money | None) -> str | None:
    return money.currency if money is not None else None


def _same(a: Money, b: Money) -> bool:
    return a.currency == b.currency and Decimal(a.amount) == Decimal(b.amount)


async def open_run(process: ProcessRuntime, *, request_id: str | None = None) -> tuple[Transaction, bool]:
    """A new run's transaction, its workflow started."""
    key = f"run:{ULID()}"
    transaction, created = await process.transactions.open(WORKFLOW, key, input={}, request_id=request_id)
    await process.engine.start_once(catalog_sync, transaction.id, transaction.id, key)
    return transaction, created


def step_systems(erp: str) -> dict[str, str | None]:
    """The system each step of catalog-sync talks to."""
    return {
        "read_catalog": runtime().product.vendor,
        "read_billing": runtime().billing.vendor,
        "read_erp": erp,
        "report": None,
        "check_complete": None,
    }


SPEC = WorkflowSpec(
    name=WORKFLOW,
    run=catalog_sync,
    step_systems=step_systems,
    check_overrides=no_overrides(WORKFLOW, "a replay reads the systems again"),
    compensate=None,
)
