"""Oracle Fusion connector: the :class:`~apis.system.erp.connector.ErpConnector` over Oracle Fusion Cloud ERP REST.

Speaks Oracle's REST dialect (:mod:`.oracle_fusion_http`): ``/fscmRestApi/resources/<version>/...``
for Financials and Order Management, ``/crmRestApi/resources/<version>/accounts`` for customers,
``REST-Framework-Version``, ``q`` row-match filters, ``limit``/``offset``/``hasMore`` paging,
``onlyData=true``, child resources by ``expand`` or by the item's ``links``, ``Upsert-Mode`` on
accounts, and ``o:errorDetails`` error bodies mapped onto :mod:`core.errors`.

Customers are CX/TCA ``accounts`` (not ``hubOrganizations``): ``accounts`` carries the
``SourceSystem``/``SourceSystemReferenceValue`` pair Strata keys a synced customer by, accepts
``Upsert-Mode`` on its ``PartyNumber`` key, and its ``PartyNumber`` is the number receivables
documents name (``BillToCustomerNumber``, ``CustomerAccountNumber``). Legal entities come from
``legalEntitiesLOV``; each has a business unit (``finBusinessUnitsLOV``) whose primary ledger
(``ledgersLOV``) gives its currency and its periods (``accountingPeriodStatusLOV``, application 222).
A customer belongs to the legal entity whose ledger currency is its currency (else the configured
business unit's).

Exactly-once without an idempotency header, per write (its de-duplication key):

* customer — ``PartyNumber`` (the external id, or a digest): read, then ``POST`` with
  ``Upsert-Mode: true`` (idempotent: retried on its own);
* order-hub order — ``SourceTransactionSystem`` + ``SourceTransactionNumber``;
* invoice and credit memo — ``TransactionNumber`` within the manual-numbering transaction source
  and business unit; payment — ``ReceiptNumber`` within the business unit, and each application by
  the invoice's ``TransactionNumber`` among the receipt's ``receiptApplications``;
* journal entry — ``BatchName`` within the ledger.

Each document create is a check-before-create procedure run whole again after a retryable failure
(:meth:`~.oracle_fusion_http.OracleFusionHttp.retried`): a create whose answer was lost is found by
the next attempt's check; a duplicate refused by Oracle (a concurrent create) is read back.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from apis.canonical import (
    AccountingPeriod,
    CreditMemo,
    CreditMemoCreate,
    CustomerPayment,
    CustomerPaymentCreate,
    ErpCustomer,
    ErpCustomerUpsert,
    Invoice,
    InvoiceCreate,
    Item,
    JournalEntry,
    JournalEntryCreate,
    LegalEntity,
    Page,
    RecognizedRevenue,
    SalesOrder,
    SalesOrderCreate,
)
from apis.system.erp.connectors import oracle_fusion_mapping as of
from apis.system.erp.connectors.oracle_fusion_http import OracleFusionConfig, OracleFusionHttp, page_items
from apis.system.erp.connectors.oracle_fusion_postings import Postings
from apis.system.erp.connectors.oracle_fusion_setup import Setup
from core.errors import NotFound

if TYPE_CHECKING:
    import httpx

    from apis.system.erp.settings import OracleFusionSettings
    from apis.system.kit.link import VendorLink

VENDOR = "oracle_fusion"
"""Its name for the circuit breaker, metrics and traces."""
SYSTEM = "oracle-fusion"
"""Its name in lineage, cross-references and errors (the ``STRATA_ERP_VENDOR`` value)."""


class OracleFusionConnector:
    """One Oracle Fusion pod (all its legal entities), reached through ``client``."""

    vendor = VENDOR
    system = SYSTEM

    def __init__(self, http: OracleFusionHttp, settings: OracleFusionSettings, *, owns_client: bool = True) -> None:
        self.http, self.settings, self._owns_client = http, settings, owns_client
        self.setup = Setup(http, settings)
        self.documents = Postings(http, settings, self.setup)

    async def aclose(self) -> None:
        """Close the HTTP client the connector owns."""
        if self._owns_client:
            await self.http.client.aclose()

    # -- master data -------------------------------------------------------------------------------
    async def list_legal_entities(self) -> list[LegalEntity]:
        """Every legal entity with a business unit, in id order (its currency: the unit's primary ledger's)."""
        self.setup.forget()
        return await self.setup.legal_entities()

    async def list_accounting_periods(self, *, year: int | None = None) -> list[AccountingPeriod]:
        """The default business unit's ledger's Receivables periods in date order."""
        ledger = await self.setup.default_ledger()
        q = f"ApplicationId=222;LedgerId={ledger}" + (f";PeriodYear={year}" if year is not None else "")
        found = await self.http.items(
            f"{self.http.fscm}/accountingPeriodStatusLOV", {"q": q, "orderBy": "StartDate:asc"}
        )
        return [of.accounting_period(record) for record in found]

    async def period_for(self, day: dt.date) -> AccountingPeriod | None:
        """The period containing ``day`` (one filtered read), if Oracle has one."""
        ledger = await self.setup.default_ledger()
        text = of.q_text(day.isoformat())
        q = f"ApplicationId=222 and LedgerId={ledger} and StartDate<={text} and EndDate>={text}"
        found = await self.http.items(f"{self.http.fscm}/accountingPeriodStatusLOV", {"q": q}, limit=1)
        return of.accounting_period(found[0]) if found else None

    async def list_items(self, *, code: str | None, limit: int, position: Any) -> Page[Item]:
        """Items in id order, optionally the one numbered ``code``."""
        currency = await self.setup.default_currency()
        q = f"ItemNumber={of.q_text(code)}" if code else ""
        return await self._page("itemsV2", "ItemId", q, limit, position, lambda r: of.item(r, currency))

    async def get_item(self, item_id: str) -> Item:
        """One item."""
        found = await self.http.items(f"{self.http.fscm}/itemsV2", {"q": f"ItemId={of.number_id(item_id)}"}, limit=1)
        if not found:
            raise NotFound(f"No item {item_id}")
        return of.item(found[0], await self.setup.default_currency())

    # -- customers ---------------------------------------------------------------------------------
    async def upsert_customer(self, external_id: str, upsert: ErpCustomerUpsert) -> tuple[ErpCustomer, bool]:
        """Read by ``PartyNumber``, then ``POST`` with ``Upsert-Mode: true`` (created when none was found)."""
        currency = upsert.currency.upper() if upsert.currency else None
        if upsert.legal_entity_id is not None:
            entity_currency = await self.setup.currency_of_entity(upsert.legal_entity_id)
            currency = currency or entity_currency
        body = of.customer_body(external_id, upsert, currency, self.settings.source_system)
        url = f"{self.http.crm}/accounts"
        existing = await self.http.items(url, {"q": f"PartyNumber={of.q_text(body['PartyNumber'])}"}, limit=1)
        record = await self.http.call("POST", url, json=body, headers={"Upsert-Mode": "true"}, idempotent=True)
        customer = await self._customer(record)
        return customer, not existing

    async def _customer(self, record: Any) -> ErpCustomer:
        entity = await self.setup.entity_for_currency(record.get("CurrencyCode") if isinstance(record, dict) else None)
        return of.customer(record, entity, self.settings.source_system)

    async def get_customer(self, customer_id: str) -> ErpCustomer:
        """One customer by ``PartyId``."""
        record = await self.documents.party(customer_id)
        return await self._customer(record)

    async def search_customers(
        self,
        *,
        name_prefix: str | None,
        tax_id: str | None,
        external_id: str | None,
        limit: int,
        position: Any,
    ) -> Page[ErpCustomer]:
        """Customers matching every given filter, in ``PartyId`` order."""
        clauses = []
        if name_prefix:
            clauses.append(f"OrganizationName LIKE {of.q_text(name_prefix.replace('%', '') + '%')}")
        if tax_id:
            clauses.append(f"TaxpayerIdentificationNumber={of.q_text(tax_id)}")
        if external_id:
            clauses.append(f"SourceSystem={of.q_text(self.settings.source_system)}")
            clauses.append(f"SourceSystemReferenceValue={of.q_text(external_id)}")
        entities = await self.setup.entities_by_currency()
        default = await self.setup.default_entity()
        source = self.settings.source_system
        return await self._page(
            "accounts",
            "PartyId",
            " and ".join(clauses),
            limit,
            position,
            lambda r: of.customer(r, entities.get(str(r.get("CurrencyCode")), default), source),
            root=self.http.crm,
        )

    # -- documents ---------------------------------------------------------------------------------
    async def create_sales_order(self, order: SalesOrderCreate) -> tuple[SalesOrder, bool]:
        """Record the order as the ``order_hub`` setting says (order hub, or a draft receivable)."""
        return await self.documents.create_sales_order(order)

    async def get_sales_order(self, order_id: str) -> SalesOrder:
        """One sales order."""
        return await self.documents.get_sales_order(order_id)

    async def cancel_sales_order(self, order_id: str, *, reason: str) -> SalesOrder:
        """Cancel the order through Order Management (see :meth:`Documents.cancel_sales_order`)."""
        return await self.documents.cancel_sales_order(order_id, reason=reason)

    async def create_invoice(self, invoice: InvoiceCreate) -> tuple[Invoice, bool]:
        """Post the receivables invoice, or return the one carrying its ``TransactionNumber``."""
        return await self.documents.create_invoice(invoice)

    async def list_recognized_revenue(self, period: str) -> list[RecognizedRevenue]:
        """Revenue Oracle's revenue scheduling recognised in ``period`` (see the documents module)."""
        return await self.documents.list_recognized_revenue(period)

    async def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice."""
        return await self.documents.get_invoice(invoice_id)

    async def list_invoices(self, *, customer_id: str | None, limit: int, position: Any) -> Page[Invoice]:
        """Invoices (optionally of one customer) in ``CustomerTransactionId`` order."""
        clauses = []
        if customer_id is not None:
            party = await self.documents.party(customer_id)
            clauses.append(f"BillToCustomerNumber={of.q_text(str(of.required(party, 'PartyNumber')))}")
        if self.settings.order_hub == "draft-receivable":
            clauses.append("InvoiceStatus='Complete'")  # draft orders are no invoices yet
        q = " and ".join(clauses)
        page = await self._page(
            "receivablesInvoices", "CustomerTransactionId", q, limit, position, lambda r: r,
            expand="receivablesInvoiceLines",
        )  # fmt: skip
        invoices = [await self.documents.invoice(record) for record in page.items]
        return Page(items=invoices, next_position=page.next_position)

    async def create_customer_payment(self, payment: CustomerPaymentCreate) -> tuple[CustomerPayment, bool]:
        """A standard receipt, applied to each invoice with ``applyReceipt``."""
        return await self.documents.create_customer_payment(payment)

    async def get_customer_payment(self, payment_id: str) -> CustomerPayment:
        """One payment (the receipt and its applications)."""
        return await self.documents.get_customer_payment(payment_id)

    async def create_credit_memo(self, memo: CreditMemoCreate) -> tuple[CreditMemo, bool]:
        """Post the credit memo (crediting its invoice when given)."""
        return await self.documents.create_credit_memo(memo)

    async def get_credit_memo(self, memo_id: str) -> CreditMemo:
        """One credit memo."""
        return await self.documents.get_credit_memo(memo_id)

    async def create_journal_entry(self, entry: JournalEntryCreate) -> tuple[JournalEntry, bool]:
        """A journal batch in the legal entity's primary ledger."""
        return await self.documents.create_journal_entry(entry)

    async def get_journal_entry(self, entry_id: str) -> JournalEntry:
        """One journal entry (its batch)."""
        return await self.documents.get_journal_entry(entry_id)

    # -- paging --------------------------------------------------------------------------------------
    async def _page(
        self,
        resource: str,
        id_field: str,
        q: str,
        limit: int,
        position: Any,
        mapper: Any,
        *,
        root: str | None = None,
        expand: str | None = None,
    ) -> Page[Any]:
        """One page in id order, keyset-paged (``<id> > last``), so inserts between pages shift nothing."""
        list_tag = of.tag(resource, q)
        after = of.open_position(position, list_tag)
        clauses = [c for c in (q, f"{id_field}>{after}" if after is not None else "") if c]
        params = {"onlyData": "true", "limit": str(limit), "orderBy": f"{id_field}:asc", "totalResults": "false"}
        if clauses:
            params["q"] = " and ".join(clauses)
        if expand:
            params["expand"] = expand
        body = await self.http.call("GET", f"{root or self.http.fscm}/{resource}", params=params, idempotent=True)
        records = page_items(body)
        items = [mapper(record) for record in records]
        more = isinstance(body, dict) and body.get("hasMore") is True and bool(records)
        next_position = of.OraclePosition(k=list_tag, after=int(of.required(records[-1], id_field))) if more else None
        return Page(items=items, next_position=next_position)


def build_oracle_fusion_connector(link: VendorLink[Any], settings: OracleFusionSettings) -> OracleFusionConnector:
    """The connector to the pod ``link`` reaches (the real one, or the sandbox).

    With ``oauth2`` the token comes from ``oracle_fusion_token_url`` (the identity domain), else
    from ``<base>/oauth2/v1/token`` (the sandbox's own endpoint).
    """
    config = OracleFusionConfig(
        timeout_seconds=settings.timeout_ms / 1000,
        max_retries=settings.max_retries,
        backoff_base_seconds=settings.backoff_base_ms / 1000,
        backoff_max_seconds=settings.backoff_max_ms / 1000,
    )
    credentials = link.credentials
    basic = oauth = None
    if settings.auth == "oauth2":
        token_url = link.auth_url or f"{link.base_url.rstrip('/')}/oauth2/v1/token"
        oauth = (token_url, credentials.client_id, credentials.client_secret, settings.scope)
    else:
        basic = (credentials.username, credentials.password)
    client: httpx.AsyncClient = link.client
    http = OracleFusionHttp(
        client,
        link.base_url,
        settings.api_version,
        settings.framework_version,
        basic=basic,
        oauth=oauth,
        config=config,
        breaker=link.breaker,
    )
    return OracleFusionConnector(http, settings)
