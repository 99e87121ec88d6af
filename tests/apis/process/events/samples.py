"""One realistic ``data`` struct per registered event type, for the event tests."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from apis.canonical import Money
from apis.process.event_types import (
    AlertFired,
    AlertResolved,
    BilledUsage,
    CatalogSynced,
    ContractActivated,
    CreditMemoIssued,
    CustomerSynced,
    InvoicePosted,
    KeptObject,
    PaymentApplied,
    ReconciliationCompleted,
    SubscriptionChanged,
    SubscriptionChangeItem,
    TransactionCompensated,
    TransactionNeedsAttention,
    UndoneObject,
    UsageBilled,
    event_data,
)
from apis.process.events import CloudEvent, deterministic_event_id, new_event
from apis.process.xref import new_canonical_id

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

SAMPLES: dict[str, msgspec.Struct] = {
    "strata.contract.activated": ContractActivated(
        transaction_id="quote-to-cash:006Dn000004XyZ1IAK",
        opportunity_id="006Dn000004XyZ1IAK",
        customer_id=new_canonical_id("customer"),
        crm_account_id="001Dn00000Q8rT2IAJ",
        erp_customer_id="1234",
        billing_customer_id="cus_QmX8fJ2kLp0aBc",
        subscription_id="sub_1Q2w3E4r5T6y7U8i",
        sales_order_id="SO-10042",
        total=Money.of(Decimal("12000.00"), "EUR"),
        activated_at="2026-11-30T14:05:09.123Z",
    ),
    "strata.subscription.changed": SubscriptionChanged(
        transaction_id="txn_01JDQ5Z8X9K2M3N4P5Q6R7S8T9",
        subscription_id="sub_1Q2w3E4r5T6y7U8i",
        crm_account_id="001Dn00000Q8rT2IAJ",
        opportunity_id=None,
        kind="downgrade",
        rule="downgrade",
        effective="period_end",
        effective_at="2027-11-30T14:05:09.000Z",
        proration="none",
        items_before=[
            SubscriptionChangeItem(product_code="STRATA-CORE", quantity=2),
            SubscriptionChangeItem(product_code="STRATA-ERP-CONNECTOR", quantity=1),
        ],
        items_after=[SubscriptionChangeItem(product_code="STRATA-CORE", quantity=2)],
        recurring_before=Money.of(Decimal("26400.00"), "USD"),
        recurring_after=Money.of(Decimal("24000.00"), "USD"),
        schedule_id="sub_sched_1Q2w3E4r5T6y7U8i",
        sales_order_id=None,
    ),
    "strata.transaction.needs_attention": TransactionNeedsAttention(
        transaction_id="quote-to-cash:006Dn000004XyZ2IAK",
        workflow="quote-to-cash",
        business_key="006Dn000004XyZ2IAK",
        reason_code="mapping",
        reason="ERP has no subsidiary for country XK",
        owner_system="erp",
        failed_step="create_erp_customer",
    ),
    "strata.transaction.compensated": TransactionCompensated(
        transaction_id="quote-to-cash:006Dn000004XyZ3IAK",
        workflow="quote-to-cash",
        business_key="006Dn000004XyZ3IAK",
        undone=[
            UndoneObject(system="billing", object="subscription", id="sub_1Q2w3E4r5T6y7U8j"),
            UndoneObject(system="erp", object="customer", id="1235"),
        ],
        kept=[KeptObject(system="erp", object="sales_order", id="SO-1042", reason="the order is invoiced")],
    ),
    "strata.reconciliation.completed": ReconciliationCompleted(
        run_id="rec_01JDA0Q5R8S1T4V7W0X3Y6Z9A2",
        period="2026-11",
        mismatches=3,
        by_kind={"missing_in_erp": 2, "amount_differs": 1},
    ),
    "strata.customer.synced": CustomerSynced(
        transaction_id="txn_01JDA0Q5R8S1T4V7W0X3Y6Z9A3",
        crm_account_id="001Dn00000Q8rT2IAJ",
        customer_id=new_canonical_id("customer"),
        erp_customer_id="1234",
        billing_customer_id="cus_QmX8fJ2kLp0aBc",
        matched_by="tax_id",
        created=["stripe"],
        updated=["netsuite.name"],
        conflicts=1,
    ),
    "strata.catalog.synced": CatalogSynced(
        transaction_id="txn_01JDA0Q5R8S1T4V7W0X3Y6Z9A4",
        skus=12,
        missing_in_billing=1,
        missing_in_erp=0,
        price_differences=2,
        created=0,
    ),
    "strata.usage.billed": UsageBilled(
        transaction_id="txn_01JDA0Q5R8S1T4V7W0X3Y6Z9A5",
        subscription_id="sub_1Q2w3E4r5T6y7U8k",
        billing_customer_id="cus_QmX8fJ2kLp0aBc",
        period="2026-11",
        usage=[BilledUsage(event_name="api_calls", period="2026-11", value=1200)],
        events=3,
        duplicates=1,
        late=0,
    ),
    "strata.invoice.posted": InvoicePosted(
        transaction_id="txn_01JDA0Q5R8S1T4V7W0X3Y6Z9A3",
        billing_invoice_id="in_1Q2w3E4r5T6y7U8k",
        invoice_number="A1B2C3D4-0001",
        billing_customer_id="cus_QmX8fJ2kLp0aBc",
        erp_customer_id="1234",
        erp_invoice_id="5678",
        legal_entity_id="2",
        posting_date="2026-11-30",
        total=Money.of(Decimal("2000.00"), "USD"),
        tax_total=Money.of(Decimal("205.00"), "USD"),
    ),
    "strata.payment.applied": PaymentApplied(
        transaction_id="txn_01JDA0Q5R8S1T4V7W0X3Y6Z9A4",
        billing_invoice_id="in_1Q2w3E4r5T6y7U8k",
        erp_invoice_id="5678",
        erp_payment_id="5690",
        erp_customer_id="1234",
        amount=Money.of(Decimal("2000.00"), "USD"),
        payment_date="2026-12-01",
        opportunity_id="006Dn000004XyZ1IAK",
    ),
    "strata.credit_memo.issued": CreditMemoIssued(
        transaction_id="txn_01JDA0Q5R8S1T4V7W0X3Y6Z9A5",
        source="credit_note",
        source_id="cn_1Q2w3E4r5T6y7U8l",
        billing_invoice_id="in_1Q2w3E4r5T6y7U8k",
        erp_invoice_id="5678",
        erp_credit_memo_id="5701",
        erp_customer_id="1234",
        amount=Money.of(Decimal("500.00"), "USD"),
        credit_date="2026-12-02",
    ),
    "strata.alert.fired": AlertFired(
        alert_id="alr_01JDA0Q5R8S1T4V7W0X3Y6Z9A6",
        rule="vendor-down",
        kind="circuit_open",
        severity="critical",
        subject="netsuite",
        summary="netsuite: circuit not closed for 12 min in 2 gateway process(es)",
        detail={"vendor": "netsuite", "processes": 2, "open_minutes": 12.0},
        since="2026-12-02T08:00:00.000Z",
        notification=2,
    ),
    "strata.alert.resolved": AlertResolved(
        alert_id="alr_01JDA0Q5R8S1T4V7W0X3Y6Z9A6",
        rule="vendor-down",
        kind="circuit_open",
        severity="critical",
        subject="netsuite",
        summary="netsuite: circuit not closed for 70 min in 2 gateway process(es)",
        fired_at="2026-12-02T08:10:00.000Z",
        resolved_at="2026-12-02T09:10:00.000Z",
    ),
}


def sample_event(event_type: str, n: int = 0) -> CloudEvent:
    """An envelope of ``event_type`` around its sample data; ``n`` varies the (deterministic) id."""
    data = event_data(SAMPLES[event_type])
    return new_event(
        event_type,
        event_id=deterministic_event_id(f"sample:{n}", "emit", event_type),
        data=data,
        subject=f"sample-{n}",
        source="/strata/process/quote-to-cash",
        correlation_id=f"corr-{n}",
        traceparent=TRACEPARENT,
    )
