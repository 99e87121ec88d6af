"""``/system/erp/v1``: canonical customers, items, orders, receivables and journals over the ERP.

Authentication, scopes, request validation, ``Idempotency-Key`` and problem+json belong to the
governance pipeline in front; handlers declare the :class:`~apis.system.erp.service.ErpService`
as the ``erp`` dependency and raise :mod:`core.errors` exceptions.
Creates answer 201 with ``Location``; a create repeating an ``external_id`` answers 200 with the
document that already exists.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from apis.canonical import (
    CreditMemoCreate,
    CustomerPaymentCreate,
    ErpCustomerUpsert,
    InvoiceCreate,
    JournalEntryCreate,
    SalesOrderCancel,
    SalesOrderCreate,
)
from apis.system.erp.service import ErpService
from apis.system.http import Limit, decode_body, json_response, page_response
from apis.system.paging import cursor_position

PREFIX = "/system/erp/v1"
Year = Annotated[int | None, QueryParameter(ge=1900, le=2999, description="Calendar year.")]


def _created(collection: str, document: Any, created: bool) -> Response[bytes]:
    """201 + Location for a new document; 200 for the one its external id already named."""
    headers = {"Location": f"{PREFIX}/{collection}/{document.id}"}
    return json_response(document, 201 if created else 200, headers)


# -- master data -----------------------------------------------------------------------------------
@get("/legal-entities", operation_id="listLegalEntities")
async def list_legal_entities(erp: NamedDependency[ErpService]) -> Response[bytes]:
    """Every legal entity (subsidiary / company)."""
    return json_response({"items": await erp.list_legal_entities(), "next_cursor": None})


@get("/accounting-periods", operation_id="listAccountingPeriods")
async def list_accounting_periods(erp: NamedDependency[ErpService], year: Year = None) -> Response[bytes]:
    """Monthly posting periods with their closed flag, optionally of one year."""
    return json_response({"items": await erp.list_accounting_periods(year), "next_cursor": None})


@get("/items", operation_id="listItems")
async def list_items(
    request: Request[Any, Any, Any],
    erp: NamedDependency[ErpService],
    limit: Limit = 50,
    code: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Items, optionally the one with ``code``."""
    return page_response(
        request, await erp.list_items(code=code, limit=limit, position=cursor_position(request, object))
    )


@get("/items/{item_id:str}", operation_id="getItem")
async def get_item(erp: NamedDependency[ErpService], item_id: FromPath[str]) -> Response[bytes]:
    """One item."""
    return json_response(await erp.get_item(item_id))


# -- customers ---------------------------------------------------------------------------------------
@get("/customers", operation_id="searchCustomers")
async def search_customers(
    request: Request[Any, Any, Any],
    erp: NamedDependency[ErpService],
    limit: Limit = 50,
    name_prefix: FromQuery[str | None] = None,
    tax_id: FromQuery[str | None] = None,
    external_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Customers by name prefix, tax id and external id."""
    page = await erp.search_customers(
        name_prefix=name_prefix,
        tax_id=tax_id,
        external_id=external_id,
        limit=limit,
        position=cursor_position(request, object),
    )
    return page_response(request, page)


@get("/customers/{customer_id:str}", operation_id="getCustomer")
async def get_customer(erp: NamedDependency[ErpService], customer_id: FromPath[str]) -> Response[bytes]:
    """One customer."""
    return json_response(await erp.get_customer(customer_id))


@put("/customers/by-external-id/{external_id:str}", operation_id="upsertCustomerByExternalId")
async def upsert_customer(
    request: Request[Any, Any, Any], erp: NamedDependency[ErpService], external_id: FromPath[str]
) -> Response[bytes]:
    """Create (201) or update (200) the customer carrying this external id."""
    customer, created = await erp.upsert_customer(external_id, await decode_body(request, ErpCustomerUpsert))
    return _created("customers", customer, created)


# -- documents ---------------------------------------------------------------------------------------
@post("/sales-orders", operation_id="createSalesOrder")
async def create_sales_order(request: Request[Any, Any, Any], erp: NamedDependency[ErpService]) -> Response[bytes]:
    """Create a sales order."""
    order, created = await erp.create_sales_order(await decode_body(request, SalesOrderCreate))
    return _created("sales-orders", order, created)


@get("/sales-orders/{order_id:str}", operation_id="getSalesOrder")
async def get_sales_order(erp: NamedDependency[ErpService], order_id: FromPath[str]) -> Response[bytes]:
    """One sales order."""
    return json_response(await erp.get_sales_order(order_id))


@post("/sales-orders/{order_id:str}/cancel", operation_id="cancelSalesOrder", status_code=200)
async def cancel_sales_order(
    request: Request[Any, Any, Any], erp: NamedDependency[ErpService], order_id: FromPath[str]
) -> Response[bytes]:
    """Cancel a sales order the ERP's way; a repeat answers the cancelled order again."""
    return json_response(await erp.cancel_sales_order(order_id, await decode_body(request, SalesOrderCancel)))


@post("/invoices", operation_id="createInvoice")
async def create_invoice(request: Request[Any, Any, Any], erp: NamedDependency[ErpService]) -> Response[bytes]:
    """Post a receivable invoice."""
    invoice, created = await erp.create_invoice(await decode_body(request, InvoiceCreate))
    return _created("invoices", invoice, created)


@get("/invoices", operation_id="listInvoices")
async def list_invoices(
    request: Request[Any, Any, Any],
    erp: NamedDependency[ErpService],
    limit: Limit = 50,
    customer_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Invoices, optionally of one customer."""
    return page_response(
        request,
        await erp.list_invoices(customer_id=customer_id, limit=limit, position=cursor_position(request, object)),
    )


@get("/invoices/{invoice_id:str}", operation_id="getInvoice")
async def get_invoice(erp: NamedDependency[ErpService], invoice_id: FromPath[str]) -> Response[bytes]:
    """One invoice."""
    return json_response(await erp.get_invoice(invoice_id))


@get("/recognized-revenue", operation_id="listRecognizedRevenue")
async def list_recognized_revenue(
    erp: NamedDependency[ErpService], period: FromQuery[str], customer_id: FromQuery[str | None] = None
) -> Response[bytes]:
    """Revenue the ERP recognised in one month over service periods, per customer and invoice."""
    found = await erp.list_recognized_revenue(period, customer_id=customer_id)
    return json_response({"items": found, "next_cursor": None})


@post("/customer-payments", operation_id="createCustomerPayment")
async def create_customer_payment(request: Request[Any, Any, Any], erp: NamedDependency[ErpService]) -> Response[bytes]:
    """Record a customer payment applied to invoices."""
    payment, created = await erp.create_customer_payment(await decode_body(request, CustomerPaymentCreate))
    return _created("customer-payments", payment, created)


@get("/customer-payments/{payment_id:str}", operation_id="getCustomerPayment")
async def get_customer_payment(erp: NamedDependency[ErpService], payment_id: FromPath[str]) -> Response[bytes]:
    """One customer payment."""
    return json_response(await erp.get_customer_payment(payment_id))


@post("/credit-memos", operation_id="createCreditMemo")
async def create_credit_memo(request: Request[Any, Any, Any], erp: NamedDependency[ErpService]) -> Response[bytes]:
    """Post a credit memo."""
    memo, created = await erp.create_credit_memo(await decode_body(request, CreditMemoCreate))
    return _created("credit-memos", memo, created)


@get("/credit-memos/{memo_id:str}", operation_id="getCreditMemo")
async def get_credit_memo(erp: NamedDependency[ErpService], memo_id: FromPath[str]) -> Response[bytes]:
    """One credit memo."""
    return json_response(await erp.get_credit_memo(memo_id))


@post("/journal-entries", operation_id="createJournalEntry")
async def create_journal_entry(request: Request[Any, Any, Any], erp: NamedDependency[ErpService]) -> Response[bytes]:
    """Post a balanced journal entry."""
    entry, created = await erp.create_journal_entry(await decode_body(request, JournalEntryCreate))
    return _created("journal-entries", entry, created)


@get("/journal-entries/{entry_id:str}", operation_id="getJournalEntry")
async def get_journal_entry(erp: NamedDependency[ErpService], entry_id: FromPath[str]) -> Response[bytes]:
    """One journal entry."""
    return json_response(await erp.get_journal_entry(entry_id))


router = Router(
    path=PREFIX,
    route_handlers=[
        list_legal_entities,
        list_accounting_periods,
        list_items,
        get_item,
        search_customers,
        get_customer,
        upsert_customer,
        create_sales_order,
        get_sales_order,
        cancel_sales_order,
        create_invoice,
        list_invoices,
        get_invoice,
        list_recognized_revenue,
        create_customer_payment,
        get_customer_payment,
        create_credit_memo,
        get_credit_memo,
        create_journal_entry,
        get_journal_entry,
    ],
)
