"""Billing invoices against the ERP invoices posted from them, in the month they were finalized.

The seed has no billing invoices; here billing customers get subscriptions (their first invoice is
a draft), some invoices are finalized and some posted to the ERP (external id = the billing
invoice id), one with another amount, and one ERP invoice names a billing invoice that does not
exist. Exactly those disagreements are reported, on top of the seed's documented ones: the invoices'
and, for the invoices posted with their service period, the revenue each month recognises.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from apis.canonical import (
    BillingInvoice,
    InvoiceCreate,
    InvoiceLineInput,
    SubscriptionCreate,
    SubscriptionItemInput,
    billed_service_period,
    share_in,
)
from apis.process.runtime import runtime
from tests.apis.process.reconciliation.expected import expected_mismatches, key_of
from tests.apis.process.reconciliation.support import RUNS, SCOPES, finished, reconciliation_gateway


async def _finalized_invoice(customer_id: str, price_id: str, *, finalize: bool = True) -> BillingInvoice:
    billing = runtime().billing
    subscription = await billing.create_subscription(
        SubscriptionCreate(customer_id=customer_id, items=[SubscriptionItemInput(price_id=price_id, quantity=1)]),
        key=f"test-subscription-{customer_id}",
    )
    assert subscription.latest_invoice_id is not None
    if not finalize:
        return await billing.get_invoice(subscription.latest_invoice_id)
    return await billing.finalize_invoice(subscription.latest_invoice_id, key=f"test-finalize-{customer_id}")


async def _post(
    invoice_external_id: str,
    crm_account_id: str,
    unit_price: str,
    item_id: str,
    day: object,
    service: tuple[dt.date, dt.date] | None = None,
) -> str:
    """An ERP invoice of one line (billed over ``service``, as invoice-to-ledger posts a subscription's)."""
    erp = runtime().erp
    (customer,) = (await erp.search_customers(external_id=crm_account_id)).items
    period = {"service_start": service[0], "service_end": service[1]} if service else {}
    created, _ = await erp.create_invoice(
        InvoiceCreate(
            external_id=invoice_external_id,
            customer_id=customer.id,
            date=day,  # type: ignore[arg-type]
            currency="USD",
            lines=[InvoiceLineInput(item_id=item_id, quantity="1", unit_price=unit_price, **period)],
        )
    )
    return created.id


def _service(invoice: BillingInvoice) -> tuple[dt.date, dt.date]:
    (line,) = invoice.lines
    service = billed_service_period(line)
    assert service is not None, "a subscription invoice bills a service period"
    return service


async def test_invoices_pair_by_billing_id_and_disagreements_are_reported(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        process = runtime()
        (price,) = (await process.billing.list_prices(lookup_key="STRATA-CORE-usd")).items
        (item,) = (await process.erp.list_items(code="STRATA-CORE")).items
        listed = (await process.billing.list_customers(limit=100)).items
        customers = [c for c in listed if (c.currency or "").upper() == "USD"]
        posted, wrong_amount, unposted, draft = [c for c in customers if c.crm_account_id][:4]

        good = await _finalized_invoice(posted.id, price.id)
        assert good.finalized_at is not None
        day = good.finalized_at.date()
        period = f"{day.year:04d}-{day.month:02d}"
        good_erp = await _post(good.id, str(posted.crm_account_id), good.total.amount, item.id, day, _service(good))
        off = await _finalized_invoice(wrong_amount.id, price.id)
        higher = str(Decimal(off.total.amount) + 100)
        off_erp = await _post(off.id, str(wrong_amount.crm_account_id), higher, item.id, day, _service(off))
        missing = await _finalized_invoice(unposted.id, price.id)
        await _finalized_invoice(draft.id, price.id, finalize=False)
        orphan_erp = await _post("in_1NoSuchBillingInvoice0", str(posted.crm_account_id), "10.00", item.id, day)

        started = await gateway.client.post(RUNS, json={"period": period}, headers=headers)
        report = await finished(gateway, started.headers["Location"], headers)

        assert report["status"] == "completed", report["error"]
        seeded = {k for k in expected_mismatches("netsuite")}
        extra = sorted(
            (m["kind"], m["customer_id"], tuple(m["billing_ids"]), tuple(m["erp_ids"]))
            for m in report["mismatches"]
            if key_of(m) not in seeded
        )
        assert extra == sorted(
            [
                ("invoice_amount_mismatch", wrong_amount.crm_account_id, (off.id,), (off_erp,)),
                ("invoice_missing_in_erp", unposted.crm_account_id, (missing.id,), ()),
                ("invoice_missing_in_billing", posted.crm_account_id, ("in_1NoSuchBillingInvoice0",), (orphan_erp,)),
                # The ERP recognises the higher amount's share; the unposted invoice's share is recognised nowhere.
                ("revenue_mismatch", wrong_amount.crm_account_id, (off.id,), (off_erp,)),
                ("revenue_mismatch", unposted.crm_account_id, (missing.id,), ()),
            ]
        )
        (over,) = [m for m in report["mismatches"] if m["kind"] == "revenue_mismatch" and m["erp_ids"] == [off_erp]]
        share = share_in(Decimal(higher) - Decimal(off.total.amount), *_service(off), period)
        billed, recognised = Decimal(over["amounts"]["billing"]["amount"]), Decimal(over["amounts"]["erp"]["amount"])
        assert abs(recognised - billed - share) <= Decimal("0.01")  # the extra 100, ratably: rounding apart
        assert good_erp not in {i for m in report["mismatches"] for i in m["erp_ids"]}
        totals = {t["customer_id"]: (t["billing_count"], t["erp_count"]) for t in report["summary"]["invoice_totals"]}
        assert totals == {
            posted.crm_account_id: (1, 2),
            wrong_amount.crm_account_id: (1, 1),
            unposted.crm_account_id: (1, 0),
        }
