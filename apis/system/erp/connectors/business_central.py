"""Business Central connector: the :class:`~apis.system.erp.connector.ErpConnector` over BC API v2.0.

Speaks BC's dialect (see ``docs/vendors.md``): an Entra client-credentials token cached
until it expires, ``companies(<id>)/<entity set>`` OData resources, ``@odata.nextLink`` paging
(with ``Prefer: odata.maxpagesize``) carried in a list position of ours, ``If-Match`` etags on PATCH
and DELETE, bound actions ``Microsoft.NAV.post``, and ``{"error": {"code", "message"}}`` mapped
onto :mod:`core.errors` by :mod:`.business_central_http`. Canonical mapping and the id scheme
(company GUID digits + entity GUID digits) live in :mod:`.business_central_mapping`.

Exactly-once: BC has no idempotency header, so every create is a check-before-create procedure
keyed by the document's business key (``externalDocumentNumber``; the customer ``number``; a
journal batch code derived from the key for payments and journal entries). A procedure is
retried as a whole after a retryable failure of one of its writes (each write step gets the
policy's retries) — a create whose answer was lost is found by the next attempt's check instead
of being made twice, and is still reported as created by this call (``created`` is False only
when the key existed before the call). Reads retry on their own. Customers are upserted
read-then-patch with the etag just read; a 412 (someone changed it in between) reads and patches
once more. Documents are posted after the insert; a posting refused for a closed period deletes
the unposted draft and raises :class:`~core.errors.PeriodClosed`.

Legal entities are BC companies; a new customer goes to the company of its currency (else the
configured default company, as do items and periods). A line naming an item of another company is matched by the
item number in the document's company.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import msgspec

from apis.canonical import (
    AccountingPeriod,
    CreditMemo,
    CreditMemoCreate,
    CustomerPayment,
    CustomerPaymentCreate,
    DocumentLineInput,
    ErpCustomer,
    ErpCustomerUpsert,
    Invoice,
    InvoiceCreate,
    Item,
    JournalEntry,
    JournalEntryCreate,
    LegalEntity,
    Money,
    Page,
    RecognizedRevenue,
    SalesOrder,
    SalesOrderCreate,
)
from apis.system.erp.connectors import business_central_mapping as bc
from apis.system.erp.connectors.business_central_cancel import CancelledOrders, delete_order
from apis.system.erp.connectors.business_central_http import (
    NOTHING_TO_POST,
    BusinessCentralConfig,
    BusinessCentralHttp,
)
from apis.system.erp.connectors.business_central_paging import ODataPages
from apis.system.erp.connectors.business_central_paging import values as records_of
from apis.system.erp.connectors.business_central_posting import by_key, post_document, post_journal
from core.errors import Conflict, InvalidInput, NotFound, PeriodClosed, UpstreamContractViolation, UpstreamRejected

if TYPE_CHECKING:
    from apis.system.erp.settings import BusinessCentralSettings
    from apis.system.kit.circuit_breaker import CircuitBreaker
    from apis.system.kit.link import ClientSecret, VendorLink

VENDOR = "business_central"
"""Its name for the circuit breaker, metrics and traces."""
SYSTEM = "business-central"
"""Its name in lineage, cross-references and errors (the ``STRATA_ERP_VENDOR`` value)."""
NIL = "00000000-0000-0000-0000-000000000000"
JOURNAL_NAME_LENGTH = 100
DEFERRAL_ACCOUNT = "2200"
"""G/L account the deferral templates defer sales revenue to (the chart's Deferred Revenue)."""
"""A journal batch's ``displayName`` (Description, Text[100])."""


class BusinessCentralConnector:
    """One BC environment (all its companies), reached through ``client``."""

    vendor = VENDOR
    system = SYSTEM

    def __init__(
        self,
        client: httpx.AsyncClient,
        api_base: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        default_company: str = "",
        config: BusinessCentralConfig | None = None,
        breaker: CircuitBreaker | None = None,
        owns_client: bool = True,
    ) -> None:
        self.http = BusinessCentralHttp(
            client, api_base, token_url, client_id, client_secret, config or BusinessCentralConfig(), breaker
        )
        self.pages = ODataPages(self.http)
        self._default_name, self._owns_client = default_company, owns_client
        self._companies: list[dict[str, Any]] | None = None
        self._information: dict[str, dict[str, Any]] = {}
        self._terms: dict[str, dict[str, str]] = {}
        self._customer_currency: dict[tuple[str, str], str] = {}
        """(company, customer) → its currency, as last read."""
        self._item_twins: dict[tuple[str, str, str], str] = {}
        """(company, item, other company) → the item with the same number in the other company."""
        self._cancelled = CancelledOrders()

    async def aclose(self) -> None:
        """Close the HTTP client the connector owns."""
        if self._owns_client:
            await self.http.client.aclose()

    # -- companies ---------------------------------------------------------------------------------
    async def _company_list(self) -> list[dict[str, Any]]:
        if self._companies is None:
            body = await self.http.call("GET", "/companies", idempotent=True)
            companies = sorted(records_of(body), key=lambda c: str(bc.required(c, "id")))
            self._companies = companies
        return self._companies

    async def _company_ids(self) -> list[str]:
        return [str(c["id"]).lower() for c in await self._company_list()]

    async def _default_company(self) -> str:
        companies = await self._company_list()
        if not companies:
            raise UpstreamContractViolation("Business Central environment has no company")
        wanted = self._default_name.lower()
        chosen = next(
            (c for c in companies if wanted in (str(c.get("name")).lower(), str(c.get("displayName")).lower())), None
        )
        return str((chosen or companies[0])["id"]).lower()

    async def _company_for_currency(self, currency: str | None) -> str:
        """The company whose local currency is ``currency`` (the default company when none is)."""
        if currency:
            for company in await self._company_ids():
                if await self._currency(company) == currency.upper():
                    return company
        return await self._default_company()

    async def _known_company(self, company_id: str) -> str:
        if company_id.lower() not in await self._company_ids():
            raise NotFound(f"No legal entity {company_id}")
        return company_id.lower()

    async def _info(self, company_id: str) -> dict[str, Any]:
        if company_id not in self._information:
            body = await self.http.call("GET", f"/companies({company_id})/companyInformation", idempotent=True)
            values = records_of(body)
            if not values:
                raise UpstreamContractViolation("Business Central company without companyInformation")
            self._information[company_id] = values[0]
        return self._information[company_id]

    async def _currency(self, company_id: str) -> str:
        return str(bc.required(await self._info(company_id), "currencyCode")).upper()

    async def _payment_terms(self, company_id: str) -> dict[str, str]:
        """Payment-terms id → ``dueDateCalculation`` of a company."""
        if company_id not in self._terms:
            body = await self.http.call("GET", f"/companies({company_id})/paymentTerms", idempotent=True)
            self._terms[company_id] = {str(t["id"]): str(t.get("dueDateCalculation") or "") for t in records_of(body)}
        return self._terms[company_id]

    # -- master data -------------------------------------------------------------------------------
    async def list_legal_entities(self) -> list[LegalEntity]:
        """Every company of the environment, in id order."""
        self._companies = None  # read afresh: a company may have been added since
        return [bc.legal_entity(c, await self._info(str(c["id"]).lower())) for c in await self._company_list()]

    async def list_accounting_periods(self, *, year: int | None = None) -> list[AccountingPeriod]:
        """The default company's periods in date order, optionally of one calendar year."""
        company = await self._default_company()
        records = await self.pages.all(f"/companies({company})/accountingPeriods", {})
        if not records:
            return []
        last_start = max(bc.date(r, "startingDate") for r in records)
        last_day = dt.date(last_start.year + last_start.month // 12, last_start.month % 12 + 1, 1) - dt.timedelta(1)
        periods = bc.accounting_periods(company, records, last_day)
        return [p for p in periods if year is None or p.start_date.year == year]

    async def period_for(self, day: dt.date) -> AccountingPeriod | None:
        """The period containing ``day``, if BC has one."""
        periods = await self.list_accounting_periods(year=day.year)
        return next((p for p in periods if p.start_date <= day <= p.end_date), None)

    async def list_items(self, *, code: str | None, limit: int, position: Any) -> Page[Item]:
        """The default company's items, optionally the one numbered ``code``."""
        company = await self._default_company()
        currency = await self._currency(company)
        odata_filter = f"number eq {bc.odata_text(code)}" if code else None
        return await self.pages.page(
            "items", "items", odata_filter, None, limit, position, [company], lambda c, r: bc.item(c, r, currency)
        )

    async def get_item(self, item_id: str) -> Item:
        """One item."""
        company, key = await self._locate(item_id, "items")
        record = await self.http.call("GET", f"/companies({company})/items({key})", idempotent=True)
        return bc.item(company, record, await self._currency(company))

    # -- customers ---------------------------------------------------------------------------------
    async def upsert_customer(self, external_id: str, upsert: ErpCustomerUpsert) -> tuple[ErpCustomer, bool]:
        """Read-then-patch by the customer number carrying ``external_id``; insert when none has it."""
        number = bc.customer_number(external_id)
        target = await self._known_company(upsert.legal_entity_id) if upsert.legal_entity_id else None
        companies = [target] if target else await self._company_ids()

        sent: list[bool] = []  # an insert of ours went out: a record found later is the one it made

        async def procedure() -> tuple[ErpCustomer, bool]:
            found = None
            for company in companies:
                path = f"/companies({company})/customers"
                body = await self.http.call(
                    "GET", path, params={"$filter": f"number eq {bc.odata_text(number)}"}, idempotent=True
                )
                if records_of(body):
                    found = (company, records_of(body)[0])
                    break
            if found is None:
                company = target or await self._company_for_currency(upsert.currency)
                values = {"number": number, **bc.customer_body(upsert, await self._terms_id(company, upsert))}
                sent.append(True)
                record = await self.http.call("POST", f"/companies({company})/customers", json=values, idempotent=False)
                return await self._customer(company, record, external_id), True
            company, record = found
            values = bc.customer_body(upsert, await self._terms_id(company, upsert))
            record = await self._patch_customer(company, record, values)
            return await self._customer(company, record, external_id), bool(sent)

        result: tuple[ErpCustomer, bool] = await self.http.retried(procedure, writes=1)
        return result

    async def _patch_customer(self, company: str, record: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        path = f"/companies({company})/customers({record['id']})"
        try:
            return dict(await self._patch(path, record, values))
        except Conflict as error:
            if error.vendor_code != "Request_EntityChanged":
                raise
            fresh = await self.http.call("GET", path, idempotent=True)
            return dict(await self._patch(path, fresh, values))

    async def _patch(self, path: str, record: dict[str, Any], values: dict[str, Any]) -> Any:
        etag = record.get("@odata.etag")
        if not isinstance(etag, str):
            raise UpstreamContractViolation("Business Central entity lacks @odata.etag")
        return await self.http.call("PATCH", path, json=values, headers={"If-Match": etag}, idempotent=False)

    async def _terms_id(self, company: str, upsert: ErpCustomerUpsert) -> str | None:
        if upsert.payment_terms is None:
            return None
        formula = bc.TERMS_DAYS[upsert.payment_terms]
        terms = await self._payment_terms(company)
        found = next((term_id for term_id, value in terms.items() if value == formula), None)
        if found is None:
            raise UpstreamRejected(f"Business Central company has no payment terms of {formula}")
        return found

    async def _customer(self, company: str, record: Any, external_id: str | None = None) -> ErpCustomer:
        if not isinstance(record, dict):
            raise UpstreamContractViolation("Business Central customer is not an object")
        return bc.customer(company, record, await self._payment_terms(company), external_id)

    async def get_customer(self, customer_id: str) -> ErpCustomer:
        """One customer by id."""
        company, key = await self._locate(customer_id, "customers")
        record = await self.http.call("GET", f"/companies({company})/customers({key})", idempotent=True)
        return await self._customer(company, record)

    async def search_customers(
        self,
        *,
        name_prefix: str | None,
        tax_id: str | None,
        external_id: str | None,
        limit: int,
        position: Any,
    ) -> Page[ErpCustomer]:
        """Customers of every company matching every given filter, in id order."""
        clauses = []
        if name_prefix:
            clauses.append(f"startswith(displayName,{bc.odata_text(name_prefix)})")
        if tax_id:
            clauses.append(f"taxRegistrationNumber eq {bc.odata_text(tax_id)}")
        if external_id:
            clauses.append(f"number eq {bc.odata_text(bc.customer_number(external_id))}")
        terms = {company: await self._payment_terms(company) for company in await self._company_ids()}
        return await self.pages.page(
            "customers",
            "customers",
            " and ".join(clauses) or None,
            None,
            limit,
            position,
            await self._company_ids(),
            lambda c, r: bc.customer(c, r, terms[c], external_id),
        )

    # -- sales orders --------------------------------------------------------------------------------
    async def create_sales_order(self, order: SalesOrderCreate) -> tuple[SalesOrder, bool]:
        """Insert the order with its lines (deep insert), unless one carries its external id."""
        company, customer = await self._customer_ref(order.customer_id)
        lines = await self._lines(company, order.lines)
        key = bc.document_key(order.external_id)
        path = f"/companies({company})/salesOrders"
        expand = {"$expand": "salesOrderLines"}
        currency = await self._currency(company)

        sent: list[bool] = []  # an insert of ours went out: an order found later is the one it made

        async def procedure() -> tuple[SalesOrder, bool]:
            existing = await by_key(self.http, path, key, expand)
            if existing is not None:
                return bc.sales_order(company, existing, currency, invoiced=False, external_id=None), bool(sent)
            body = {
                "customerId": customer,
                "externalDocumentNumber": key,
                "orderDate": order.date.isoformat(),
                "currencyCode": order.currency,
                "salesOrderLines": lines,
            }
            sent.append(True)
            record = await self.http.call("POST", path, params=expand, json=body, idempotent=False)
            return bc.sales_order(company, record, currency, invoiced=False, external_id=order.external_id), True

        result: tuple[SalesOrder, bool] = await self.http.retried(procedure, writes=1)
        return result

    async def get_sales_order(self, order_id: str) -> SalesOrder:
        """One order, found by its number; once ``shipAndInvoice`` has invoiced it fully BC has deleted
        it, and it is read back (``billed``) from the posted invoice naming it in ``orderNumber``."""
        company, number = await self._order_number(order_id)
        currency = await self._currency(company)
        order = await self._order(company, number)
        invoice = await self._order_invoice(company, number)
        if order is not None:
            return bc.sales_order(company, order, currency, invoiced=invoice is not None)
        if invoice is None:
            raise NotFound(f"No sales order {order_id}")
        billed = {
            "number": number, "customerId": invoice.get("customerId"), "orderDate": invoice.get("invoiceDate"),
            "currencyCode": invoice.get("currencyCode"), "salesOrderLines": invoice.get("salesInvoiceLines") or [],
            "totalAmountExcludingTax": invoice.get("totalAmountExcludingTax"),
        }  # fmt: skip
        return bc.sales_order(company, billed, currency, invoiced=True)

    async def cancel_sales_order(self, order_id: str, *, reason: str) -> SalesOrder:
        """Delete the unposted order (:mod:`.business_central_cancel`); BC keeps no reason for it."""
        del reason  # BC's delete takes none; the API's audit log keeps it
        remembered = self._cancelled.get(order_id)
        company, number = await self._order_number(order_id)
        if remembered is not None and await self._order(company, number) is None:
            return remembered
        order = await delete_order(
            self.http, company, number, await self._currency(company), self._order, self._order_invoice
        )
        self._cancelled.add(order)
        return order

    async def _order_number(self, order_id: str) -> tuple[str, str]:
        """(company, order number) of one of our order ids; NotFound when it cannot be one."""
        company, token = await self._locate(order_id, "salesOrders", guid=False)
        return company, bc.order_number(token)

    async def _order(self, company: str, number: str) -> dict[str, Any] | None:
        """The sales order numbered ``number`` (with its lines), while BC still has it."""
        params = {"$filter": f"number eq {bc.odata_text(number)}", "$expand": "salesOrderLines"}
        found = records_of(
            await self.http.call("GET", f"/companies({company})/salesOrders", params=params, idempotent=True)
        )
        return next((o for o in found if bc.same_code(o.get("number"), number)), None)

    async def _order_invoice(self, company: str, number: str) -> dict[str, Any] | None:
        """The posted invoice of the order numbered ``number`` (BC's ``orderNumber``), if there is one."""
        params = {"$filter": f"orderNumber eq {bc.odata_text(number)}", "$expand": "salesInvoiceLines"}
        found = records_of(
            await self.http.call("GET", f"/companies({company})/salesInvoices", params=params, idempotent=True)
        )
        return next(
            (i for i in found if bc.same_code(i.get("orderNumber"), number) and i.get("status") != "Draft"), None
        )

    # -- posted documents ------------------------------------------------------------------------------
    async def create_invoice(self, invoice: InvoiceCreate) -> tuple[Invoice, bool]:
        """Post the invoice: an order's through ``shipAndInvoice``, else a draft inserted and posted,
        unless its key (or its order's invoice) is posted already."""
        company, customer = await self._customer_ref(invoice.customer_id)
        currency = await self._currency(company)
        if invoice.sales_order_id is not None:
            record, created = await self._invoice_order(company, customer, invoice, invoice.sales_order_id)
            return bc.invoice(company, record, currency, invoice.external_id), created
        body: dict[str, Any] = {
            "customerId": customer,
            "externalDocumentNumber": bc.document_key(invoice.external_id),
            "invoiceDate": invoice.date.isoformat(),
            "currencyCode": invoice.currency,
            "salesInvoiceLines": await self._lines(company, invoice.lines),
        }
        if invoice.due_date is not None:
            body["dueDate"] = invoice.due_date.isoformat()
        record, created = await post_document(self.http, company, "salesInvoices", "salesInvoiceLines", body)
        return bc.invoice(company, record, currency, invoice.external_id), created

    async def _invoice_order(
        self, company: str, customer: str, invoice: InvoiceCreate, order_id: str
    ) -> tuple[dict[str, Any], bool]:
        """``salesOrders(<id>)/Microsoft.NAV.shipAndInvoice``, exactly once.

        BC posts the invoice from the order (its lines, not the request's) and deletes the order
        once it is fully invoiced, so the check-before-create is "has the order a posted invoice"
        (``orderNumber``). Before shipping, the order's posting date is set to the invoice's date
        and its ``externalDocumentNumber`` to the invoice's key, which the posted invoice inherits.
        A refused posting (a closed period) leaves the order otherwise as it was.
        """
        try:
            order_company, number = await self._order_number(order_id)
        except NotFound:
            order_company, number = "", ""
        if order_company != company:
            detail = "is not an order of the customer's legal entity"
            raise InvalidInput(detail, field_errors=[{"in": "body", "pointer": "/sales_order_id", "detail": detail}])
        key = bc.document_key(invoice.external_id)
        sent: list[bool] = []  # shipAndInvoice went out: an invoice found later is the one it made

        async def procedure() -> tuple[dict[str, Any], bool]:
            posted = await self._order_invoice(company, number)
            if posted is not None:
                return posted, bool(sent)
            order = await self._order(company, number)
            if order is None or order.get("customerId") != customer:
                raise NotFound(f"No sales order {order_id} of this customer")
            path = f"/companies({company})/salesOrders({bc.required(order, 'id')})"
            changes = {"postingDate": invoice.date.isoformat(), "externalDocumentNumber": key}
            if any(order.get(name) != value for name, value in changes.items()):
                await self._patch(path, order, changes)
            sent.append(True)
            await self.http.call("POST", f"{path}/Microsoft.NAV.shipAndInvoice", idempotent=False)
            found = await self._order_invoice(company, number)
            if found is None:
                raise UpstreamContractViolation(f"Business Central shipped order {number} but shows no posted invoice")
            return found, True

        result: tuple[dict[str, Any], bool] = await self.http.retried(procedure, writes=2)
        return result

    async def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice."""
        company, key = await self._locate(invoice_id, "salesInvoices")
        path = f"/companies({company})/salesInvoices({key})"
        record = await self.http.call("GET", path, params={"$expand": "salesInvoiceLines"}, idempotent=True)
        return bc.invoice(company, record, await self._currency(company))

    async def list_invoices(self, *, customer_id: str | None, limit: int, position: Any) -> Page[Invoice]:
        """Invoices (optionally of one customer), company by company, in id order."""
        companies = await self._company_ids()
        odata_filter = None
        if customer_id is not None:
            company, customer = await self._locate(customer_id, "customers")
            companies, odata_filter = [company], f"customerId eq {customer}"
        currencies = {company: await self._currency(company) for company in companies}
        return await self.pages.page(
            "invoices",
            "salesInvoices",
            odata_filter,
            "salesInvoiceLines",
            limit,
            position,
            companies,
            lambda c, r: bc.invoice(c, r, currencies[c]),
        )

    async def create_credit_memo(self, memo: CreditMemoCreate) -> tuple[CreditMemo, bool]:
        """Insert a draft credit memo (applied to its invoice when given) and post it."""
        company, customer = await self._customer_ref(memo.customer_id)
        body: dict[str, Any] = {
            "customerId": customer,
            "externalDocumentNumber": bc.document_key(memo.external_id),
            "creditMemoDate": memo.date.isoformat(),
            "currencyCode": memo.currency,
            "salesCreditMemoLines": await self._lines(company, memo.lines),
        }
        if memo.invoice_id is not None:
            body["invoiceId"] = await self._same_company(company, memo.invoice_id)
        currency = await self._currency(company)
        record, created = await post_document(self.http, company, "salesCreditMemos", "salesCreditMemoLines", body)
        return bc.credit_memo(company, record, currency, memo.external_id), created

    async def get_credit_memo(self, memo_id: str) -> CreditMemo:
        """One credit memo."""
        company, key = await self._locate(memo_id, "salesCreditMemos")
        path = f"/companies({company})/salesCreditMemos({key})"
        record = await self.http.call("GET", path, params={"$expand": "salesCreditMemoLines"}, idempotent=True)
        return bc.credit_memo(company, record, await self._currency(company))

    # -- payments and journal entries ----------------------------------------------------------------
    async def create_customer_payment(self, payment: CustomerPaymentCreate) -> tuple[CustomerPayment, bool]:
        """The payment as lines of a payment journal batch of its own, posted through ``journals``.

        API v2.0 defines no action on ``customerPaymentJournals``: the lines are written to
        ``customerPaymentJournals(<id>)/customerPayments`` (``appliesToInvoiceId`` per invoice)
        and the batch is posted with ``journals(<same id>)/Microsoft.NAV.post`` (the journals
        page finds a batch by id alone; unverified against a live tenant). When BC refuses that
        posting for any other reason than a closed period, the payment stays recorded, awaiting
        posting (``posted`` False); the same call again posts it.
        """
        company, customer = await self._customer_ref(payment.customer_id)
        currency = self._customer_currency[(company, customer)]
        if payment.currency.upper() != currency:
            detail = f"must be the customer's currency {currency} (BC pays in the customer's currency)"
            raise InvalidInput(detail, field_errors=[{"in": "body", "pointer": "/currency", "detail": detail}])
        amount = _decimal("amount", payment.amount)
        code = bc.batch_code("P", payment.external_id)
        key = bc.document_key(payment.external_id)
        base = {"customerId": customer, "postingDate": payment.date.isoformat(), "documentNumber": code,
                "externalDocumentNumber": key}  # fmt: skip
        lines, applied = [], Decimal(0)
        for index, application in enumerate(payment.applications):
            share = _decimal(f"applications/{index}/amount", application.amount)
            applied += share
            invoice = await self._same_company(company, application.invoice_id)
            lines.append({**base, "amount": float(share), "appliesToInvoiceId": invoice})
        if applied > amount:
            detail = "applied amounts exceed the payment amount"
            raise InvalidInput(detail, field_errors=[{"in": "body", "pointer": "/applications", "detail": detail}])
        if amount > applied:
            lines.append({**base, "amount": float(amount - applied)})
        for number, line in enumerate(lines, start=1):
            line["lineNumber"] = 10_000 * number
        path = f"/companies({company})/customerPaymentJournals"
        expand = {"$expand": "customerPayments"}
        sent: list[bool] = []  # a write of ours went out: a batch found later is the one it made

        async def procedure() -> tuple[dict[str, Any], bool, bool]:
            query = {"$filter": f"code eq {bc.odata_text(code)}", **expand}
            found = records_of(await self.http.call("GET", path, params=query, idempotent=True))
            batch = next((b for b in found if bc.same_code(b.get("code"), code)), None)
            if batch is None:
                sent.append(True)
                body = {"code": code, "displayName": key}
                batch = dict(await self.http.call("POST", path, json=body, idempotent=False))
            batch_path = f"{path}({bc.required(batch, 'id')})"
            recorded = {r.get("lineNumber") for r in batch.get("customerPayments") or []}
            for line in lines:
                if line["lineNumber"] not in recorded:
                    sent.append(True)
                    await self.http.call("POST", f"{batch_path}/customerPayments", json=line, idempotent=False)
            posted = await self._post_payment_batch(company, str(batch["id"]), code)
            record = dict(await self.http.call("GET", batch_path, params=expand, idempotent=True))
            return record, posted, bool(sent)

        record, posted, created = await self.http.retried(procedure, writes=2 + len(lines))
        return bc.customer_payment(company, record, payment.currency, payment.external_id, posted=posted), created

    async def _post_payment_batch(self, company: str, batch_id: str, code: str) -> bool:
        """Post a payment batch through ``journals(<id>)/Microsoft.NAV.post``; False when BC refuses.

        Posted already (G/L entries carry its document number, or BC has nothing left to post) is
        True; a closed period deletes the batch (a later call starts afresh) and raises.
        """
        if await self._payment_posted(company, code):
            return True
        try:
            await self.http.call(
                "POST", f"/companies({company})/journals({batch_id})/Microsoft.NAV.post", idempotent=False
            )
        except PeriodClosed:
            batch = f"/companies({company})/customerPaymentJournals({batch_id})"
            await self.http.call("DELETE", batch, headers={"If-Match": "*"}, idempotent=False)
            raise
        except (NotFound, UpstreamRejected) as error:
            return NOTHING_TO_POST in error.detail.lower()  # refused otherwise: recorded, awaiting posting
        return True

    async def list_recognized_revenue(self, period: str) -> list[RecognizedRevenue]:
        """What Business Central's deferral schedules released to revenue in ``period`` (``YYYY-MM``).

        BC's invoice lines (API v2.0) carry no deferral field: the item's ``Default Deferral Template
        Code`` defers a line when the invoice posts (the preflight checks the templates are set), and
        each period of the deferral schedule is posted to the G/L in its own period: a debit of the
        deferral account against revenue, under the invoice's document number. Those debits are read
        from ``generalLedgerEntries`` (in each company's currency) and traced to the posted invoice,
        and so to its customer, by document number.
        """
        first = dt.date.fromisoformat(f"{period}-01")
        last = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1) - dt.timedelta(days=1)
        account = bc.odata_text(DEFERRAL_ACCOUNT)
        found: list[RecognizedRevenue] = []
        for company in await self._company_ids():
            ledger = {"$filter": f"accountNumber eq {account} and postingDate ge {first} and postingDate le {last} "
                                 "and debitAmount gt 0"}  # fmt: skip
            entries = await self.pages.all(f"/companies({company})/generalLedgerEntries", ledger)
            released: dict[str, Decimal] = {}
            for entry in entries:
                number = str(entry.get("documentNumber") or "")
                released[number] = released.get(number, Decimal(0)) + Decimal(str(entry.get("debitAmount") or 0))
            currency = await self._currency(company)
            for number, amount in sorted(released.items()):
                query = {"$filter": f"number eq {bc.odata_text(number)}", "$select": "id,customerId"}
                invoices = await self.pages.all(f"/companies({company})/salesInvoices", query)
                if not invoices:
                    continue  # a deferral of another document (a purchase, a journal): not sales revenue
                found.append(
                    RecognizedRevenue(
                        period=period,
                        customer_id=bc.compose(company, str(invoices[0]["customerId"])),
                        invoice_id=bc.compose(company, str(invoices[0]["id"])),
                        amount=Money(amount=format(amount.quantize(Decimal("0.01")), "f"), currency=currency),
                    )
                )
        return found

    async def _payment_posted(self, company: str, code: str) -> bool:
        ledger = {"$filter": f"documentNumber eq {bc.odata_text(code)}", "$top": "1", "$select": "id"}
        path = f"/companies({company})/generalLedgerEntries"
        return bool(records_of(await self.http.call("GET", path, params=ledger, idempotent=True)))

    async def get_customer_payment(self, payment_id: str) -> CustomerPayment:
        """One payment (its journal batch and lines); ``posted`` once the G/L has its entries."""
        company, key = await self._locate(payment_id, "customerPaymentJournals")
        path = f"/companies({company})/customerPaymentJournals({key})"
        record = await self.http.call("GET", path, params={"$expand": "customerPayments"}, idempotent=True)
        customer = (record.get("customerPayments") or [{}])[0].get("customerId") if isinstance(record, dict) else None
        currency = await self._currency(company)
        if customer:
            found = await self.http.call("GET", f"/companies({company})/customers({customer})", idempotent=True)
            currency = bc.currency_of(found, currency)
        posted = (
            await self._payment_posted(company, str(record.get("code") or "")) if isinstance(record, dict) else True
        )
        return bc.customer_payment(company, record, currency, posted=posted)

    async def create_journal_entry(self, entry: JournalEntryCreate) -> tuple[JournalEntry, bool]:
        """A general journal batch of its own with the entry's lines, posted to the G/L."""
        company = await self._known_company(entry.legal_entity_id)
        currency = await self._currency(company)
        if entry.currency.upper() != currency:
            raise InvalidInput(
                f"Business Central posts journal lines in the company's currency {currency}",
                field_errors=[{"in": "body", "pointer": "/currency", "detail": f"must be {currency}"}],
            )
        code = bc.batch_code("J", entry.external_id)
        key = bc.document_key(entry.external_id)
        lines = []
        for index, line in enumerate(entry.lines):
            if (line.debit is None) == (line.credit is None):
                detail = "set exactly one of debit and credit"
                pointer = f"/lines/{index}"
                raise InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])
            signed = (
                _decimal(f"lines/{index}/debit", line.debit)
                if line.debit is not None
                else -_decimal(f"lines/{index}/credit", line.credit or "0")
            )
            lines.append({"accountNumber": line.account, "postingDate": entry.date.isoformat(), "documentNumber": code,
                          "externalDocumentNumber": key, "amount": float(signed),
                          "description": line.memo or entry.memo or ""})  # fmt: skip
        ledger_query = {"$filter": f"documentNumber eq {bc.odata_text(code)}", "$top": "1"}
        # The batch's name (Text[100], case kept) carries the external id: API v2.0's G/L entries
        # have no externalDocumentNumber to read it back from.
        name = entry.external_id if len(entry.external_id) <= JOURNAL_NAME_LENGTH else code
        journal_body = {"code": code, "displayName": name, "journalLines": lines}
        _record, created = await post_journal(
            self.http, company, "journals", "journalLines", journal_body, ledger_query
        )
        result = await self.get_journal_entry(bc.compose(company, code))
        return msgspec.structs.replace(result, external_id=entry.external_id), created

    async def get_journal_entry(self, entry_id: str) -> JournalEntry:
        """One posted journal entry: the G/L entries of its document number."""
        company, number = await self._locate(entry_id, "generalLedgerEntries", guid=False)
        entries = await self.pages.all(
            f"/companies({company})/generalLedgerEntries", {"$filter": f"documentNumber eq {bc.odata_text(number)}"}
        )
        journal_query = {"$filter": f"code eq {bc.odata_text(number)}", "$select": "id,code,displayName"}
        journals = records_of(
            await self.http.call("GET", f"/companies({company})/journals", params=journal_query, idempotent=True)
        )
        external_id = next(
            (str(j["displayName"]) for j in journals if j.get("displayName") not in (None, "", number)), None
        )
        descriptions = {str(e.get("description") or "") for e in entries}
        memo = descriptions.pop() if len(descriptions) == 1 else None  # the entry's memo: every line has it
        return bc.journal_entry(company, number, entries, await self._currency(company), memo or None, external_id)

    # -- helpers ---------------------------------------------------------------------------------------
    async def _customer_ref(self, customer_id: str) -> tuple[str, str]:
        """(company, customer GUID) of an existing customer; NotFound otherwise."""
        company, key = await self._locate(customer_id, "customers")
        path = f"/companies({company})/customers({key})"
        record = await self.http.call("GET", path, params={"$select": "id,currencyCode"}, idempotent=True)
        self._customer_currency[(company, key)] = bc.currency_of(record, await self._currency(company))
        return company, key

    async def _locate(self, value: str, entity_set: str, *, guid: bool = True) -> tuple[str, str]:
        """(company, key) of one of our ids. An id that cannot be ours is still put to the vendor (as the
        nil GUID of the default company), so it answers 404, or 503/504 while BC is down, like any id."""
        try:
            company, key = bc.split(value, guid=guid)
            if company in await self._company_ids():
                return company, key
        except NotFound:
            pass
        default = await self._default_company()
        path = f"/companies({default})/{entity_set}({NIL})"
        await self.http.call("GET", path, params={"$select": "id"}, idempotent=True)
        raise NotFound(f"No object with id {value}")

    async def _same_company(self, company: str, document_id: str) -> str:
        other, key = await self._locate(document_id, "salesInvoices")
        if other != company:
            raise NotFound(f"No document {document_id} in the customer's legal entity")
        return key

    async def _lines(self, company: str, lines: Sequence[DocumentLineInput]) -> list[dict[str, Any]]:
        """Line bodies; an item of another company is matched by number in ``company``."""
        bodies = []
        for index, line in enumerate(lines):
            item_company, item = await self._locate(line.item_id, "items")
            if item_company != company and (item_company, item, company) in self._item_twins:
                item = self._item_twins[(item_company, item, company)]
            elif item_company != company:
                original = item
                source = await self.http.call("GET", f"/companies({item_company})/items({item})", idempotent=True)
                number = bc.odata_text(str(bc.required(source, "number")))
                matches = records_of(
                    await self.http.call(
                        "GET",
                        f"/companies({company})/items",
                        params={"$filter": f"number eq {number}"},
                        idempotent=True,
                    )
                )
                if not matches:
                    raise NotFound(f"Item {line.item_id} is not sold by the customer's legal entity")
                item = self._item_twins[(item_company, original, company)] = str(matches[0]["id"])
            body: dict[str, Any] = {
                "itemId": item,
                "quantity": float(_decimal(f"lines/{index}/quantity", line.quantity)),
                "unitPrice": float(_decimal(f"lines/{index}/unit_price", line.unit_price)),
            }
            if line.description:
                body["description"] = line.description[:100]
            bodies.append(body)
        return bodies


def _decimal(field: str, value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise InvalidInput(f"{field} is not a decimal", field_errors=[
            {"in": "body", "pointer": f"/{field}", "detail": "must be a decimal string"}])  # fmt: skip
    return number


def build_business_central_connector(
    link: VendorLink[ClientSecret], settings: BusinessCentralSettings
) -> BusinessCentralConnector:
    """The connector to the BC environment ``link`` reaches (the real one, or the sandbox).

    The API is ``<base>/v2.0/<tenant>/<environment>/api/v2.0`` and the token comes from
    ``<authority>/<tenant>/oauth2/v2.0/token``: the authority is Entra ID's login URL for the real
    service, the sandbox itself in process (the composition root sets ``link.auth_url``).
    """
    tenant, environment = quote(settings.tenant_id, safe=""), quote(settings.environment, safe="")
    config = BusinessCentralConfig(
        timeout_seconds=settings.timeout_ms / 1000,
        max_retries=settings.max_retries,
        backoff_base_seconds=settings.backoff_base_ms / 1000,
        backoff_max_seconds=settings.backoff_max_ms / 1000,
    )
    return BusinessCentralConnector(
        link.client,
        f"{link.base_url.rstrip('/')}/v2.0/{tenant}/{environment}/api/v2.0",
        f"{link.authority}/{tenant}/oauth2/v2.0/token",
        link.credentials.client_id,
        link.credentials.client_secret,
        default_company=settings.company,
        config=config,
        breaker=link.breaker,
    )
