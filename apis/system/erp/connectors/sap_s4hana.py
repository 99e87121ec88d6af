"""SAP S/4HANA Cloud connector: the :class:`~apis.system.erp.connector.ErpConnector` over its A2X APIs.

OData V2 (:mod:`.sap_s4hana_http`: CSRF, Basic or OAuth, ``d`` envelopes, SAP Gateway errors) for
business partners (``API_BUSINESS_PARTNER``), products (``API_PRODUCT_SRV``), sales orders
(``API_SALES_ORDER_SRV``), credit memo requests (``API_CREDIT_MEMO_REQUEST_SRV``), billing documents
(``API_BILLING_DOCUMENT_SRV``, read only: invoices come from SAP's billing run), G/L line items
(``API_GLACCOUNTLINEITEM``), company codes (``API_JOURNALENTRYITEMBASIC_SRV``) and posting periods
(a custom CDS view, ``YY1_POSTINGPERIOD_CDS``); SOAP ``JournalEntryCreateRequestConfirmation_In``
(:mod:`.sap_s4hana_soap`) for journal entries and payments.

Exactly-once without an idempotency header, each create is a check-before-create procedure on a
de-duplication key, retried as a whole after a retryable failure (a write whose answer was lost is
found by the next attempt's check): customers by ``BusinessPartnerIDByExtSystem`` (20 chars), sales
orders by ``PurchaseOrderByCustomer`` (35), invoices by the billing document's ``DocumentReferenceID``
(16, from the order's ``AccountingDocExternalReference``), credit memos by the credit memo request's
``PurchaseOrderByCustomer``, journal entries and payments by the line items' ``AssignmentReference``
(18). Longer external ids are cut to the field with a digest (:func:`.sap_s4hana_mapping.key`).
An order is created with billing block ``BILLING_BLOCK`` so the billing run leaves it alone until it
is invoiced: invoicing sets the invoice's key and date on the order and removes the block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from apis.canonical import (
    AccountingPeriod,
    DocumentLineInput,
    ErpCustomer,
    ErpCustomerUpsert,
    ErpDocumentStatus,
    Item,
    LegalEntity,
    Page,
    SalesOrder,
    SalesOrderCreate,
)
from apis.system.erp.connectors import sap_s4hana_mapping as sap
from apis.system.erp.connectors.sap_s4hana_documents import SapDocuments
from apis.system.erp.connectors.sap_s4hana_http import SapConfig, SapHttp
from core.cursors import InvalidCursor
from core.errors import Conflict, InvalidInput, NotFound, UpstreamContractViolation

if TYPE_CHECKING:
    from apis.system.erp.settings import SapS4HanaSettings
    from apis.system.kit.link import VendorLink

VENDOR = "sap_s4hana"
SYSTEM = "sap-s4hana"
BP, SO, BILL, CMR = (
    "API_BUSINESS_PARTNER",
    "API_SALES_ORDER_SRV",
    "API_BILLING_DOCUMENT_SRV",
    "API_CREDIT_MEMO_REQUEST_SRV",
)
GL, JEIB, PRODUCT, PERIODS = (
    "API_GLACCOUNTLINEITEM",
    "API_JOURNALENTRYITEMBASIC_SRV",
    "API_PRODUCT_SRV",
    "YY1_POSTINGPERIOD_CDS",
)
BILLING_BLOCK = "02"
"""The header billing block new orders carry until Strata invoices them (customizing of the tenant)."""
REJECTION_REASON = "00"
"""The reason for rejection a cancel sets on each item (SAP's standard "assigned by the system"; a
code of the tenant's customizing, like the billing block)."""
BP_EXPAND = (
    "to_Customer/to_CustomerCompany,to_Customer/to_CustomerSalesArea,to_BusinessPartnerAddress,to_BusinessPartnerTax"
)
BANK_ACCOUNT = "1000"


def _position(position: Any) -> int:
    if position is None:
        return 0
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise InvalidCursor()
    return position


def _field(detail: str, pointer: str) -> InvalidInput:
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


class SapS4HanaConnector(SapDocuments):
    """One S/4HANA Cloud tenant (its company codes), reached through ``http``."""

    vendor = VENDOR
    system = SYSTEM

    def __init__(self, http: SapHttp, *, company_code: str, distribution_channel: str, division: str,
                 sales_organization: str = "") -> None:  # fmt: skip
        self.http = http
        self.company_code, self.channel, self.division = company_code, distribution_channel, division
        self.sales_organization = sales_organization
        self._codes: dict[str, dict[str, Any]] | None = None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    def _sales_org(self, company: str) -> str:
        # SAP's best-practice configuration numbers a sales organisation as its company code.
        return self.sales_organization if self.sales_organization and company == self.company_code else company

    async def _company_codes(self) -> dict[str, dict[str, Any]]:
        if self._codes is None:
            body = await self.http.odata("GET", JEIB, "A_CompanyCode", idempotent=True)
            self._codes = {str(r["CompanyCode"]): r for r in sap.results(body)}
        return self._codes

    async def _currency(self, company: str) -> str:
        codes = await self._company_codes()
        if company not in codes:
            raise NotFound(f"No legal entity {company}")
        return str(codes[company]["Currency"])

    # -- master data -----------------------------------------------------------------------------
    async def list_legal_entities(self) -> list[LegalEntity]:
        """Every company code, in code order."""
        self._codes = None
        return [sap.legal_entity(r) for _, r in sorted((await self._company_codes()).items())]

    async def list_accounting_periods(self, *, year: int | None = None) -> list[AccountingPeriod]:
        """The default company code's posting periods (monthly), optionally of one year."""
        query = f"CompanyCode eq {sap.text(self.company_code)}" + (f" and FiscalYear eq '{year}'" if year else "")
        body = await self.http.odata("GET", PERIODS, "YY1_PostingPeriod", params={"$filter": query}, idempotent=True)
        periods = [
            AccountingPeriod(
                id=f"{r['CompanyCode']}-{r['FiscalYear']}-{r['FiscalPeriod']}",
                name=f"{r['FiscalPeriod']}/{r['FiscalYear']}",
                start_date=sap.date(r["FiscalPeriodStartDate"]), end_date=sap.date(r["FiscalPeriodEndDate"]),
                closed=not r.get("PostingPeriodIsOpen"),
            )
            for r in sap.results(body)
        ]  # fmt: skip
        return sorted(periods, key=lambda p: p.start_date)

    async def period_for(self, day: dt.date) -> AccountingPeriod | None:
        """The posting period containing ``day``."""
        return next(
            (p for p in await self.list_accounting_periods(year=day.year) if p.start_date <= day <= p.end_date), None
        )

    async def list_items(self, *, code: str | None, limit: int, position: Any) -> Page[Item]:
        """Products in product order, optionally the one numbered ``code``."""
        skip = _position(position)
        params = {"$expand": "to_Description,to_Valuation", "$top": str(limit), "$skip": str(skip),
                  "$inlinecount": "allpages", "$orderby": "Product"}  # fmt: skip
        if code:
            params["$filter"] = f"Product eq {sap.text(code)}"
        body = await self.http.odata("GET", PRODUCT, "A_Product", params=params, idempotent=True)
        records = sap.results(body)
        total = int(body.get("__count") or 0) if isinstance(body, dict) else 0
        items = [sap.item(r, self.company_code) for r in records]
        return Page(items=items, next_position=skip + len(items) if skip + len(items) < total else None)

    async def get_item(self, item_id: str) -> Item:
        """One product."""
        path = f"A_Product({sap.text(item_id)})"
        record = await self.http.odata("GET", PRODUCT, path, params={"$expand": "to_Description,to_Valuation"},
                                       idempotent=True)  # fmt: skip
        return sap.item(record, self.company_code)

    # -- customers -------------------------------------------------------------------------------
    async def _partner_by_key(self, key: str) -> dict[str, Any] | None:
        params = {"$filter": f"BusinessPartnerIDByExtSystem eq {sap.text(key)}", "$expand": BP_EXPAND}
        found = sap.results(await self.http.odata("GET", BP, "A_BusinessPartner", params=params, idempotent=True))
        return found[0] if found else None

    async def upsert_customer(self, external_id: str, upsert: ErpCustomerUpsert) -> tuple[ErpCustomer, bool]:
        """Business partner (organization) with the customer role, keyed by ``BusinessPartnerIDByExtSystem``."""
        key = sap.key(external_id, 20)
        codes = await self._company_codes()
        if upsert.legal_entity_id is not None and upsert.legal_entity_id not in codes:
            raise _field("is not a company code of the tenant", "/legal_entity_id")
        company = upsert.legal_entity_id or next(
            (c for c, r in sorted(codes.items()) if upsert.currency and r["Currency"] == upsert.currency.upper()),
            self.company_code,
        )
        currency = (upsert.currency or codes[company]["Currency"]).upper()
        terms = sap.TERMS.get(upsert.payment_terms) if upsert.payment_terms else None
        name1, name2 = upsert.name[:40], upsert.name[40:80]
        address = upsert.billing_address
        sent: list[bool] = []

        async def procedure() -> tuple[ErpCustomer, bool]:
            found = await self._partner_by_key(key)
            if found is None:
                body: dict[str, Any] = {
                    "BusinessPartnerCategory": "2", "BusinessPartnerGrouping": "BP02", "OrganizationBPName1": name1,
                    "OrganizationBPName2": name2, "SearchTerm1": upsert.name[:20].upper(),
                    "BusinessPartnerIDByExtSystem": key,
                    "to_BusinessPartnerRole": [{"BusinessPartnerRole": "FLCU00"}, {"BusinessPartnerRole": "FLCU01"}],
                    "to_Customer": {
                        "to_CustomerCompany": [{"CompanyCode": company, "PaymentTerms": terms or "",
                                                "ReconciliationAccount": "0000001200"}],
                        "to_CustomerSalesArea": [{"SalesOrganization": self._sales_org(company),
                                                  "DistributionChannel": self.channel, "Division": self.division,
                                                  "Currency": currency, "CustomerPaymentTerms": terms or ""}],
                    },
                }  # fmt: skip
                if address is not None:
                    body["to_BusinessPartnerAddress"] = [_address(address)]
                if upsert.tax_id:
                    country = address.country if address and address.country else codes[company]["Country"]
                    body["to_BusinessPartnerTax"] = [{"BPTaxType": f"{country}0", "BPTaxNumber": upsert.tax_id[:20]}]
                sent.append(True)
                await self.http.odata("POST", BP, "A_BusinessPartner", json=body, idempotent=False)
                created = await self._partner_by_key(key)
                if created is None:
                    raise UpstreamContractViolation("SAP S/4HANA Cloud created a business partner it cannot find")
                return sap.customer(created, external_id), True
            await self._update_partner(found, upsert, company)
            fresh = await self._partner_by_key(key)
            return sap.customer(fresh or found, external_id), bool(sent)

        result: tuple[ErpCustomer, bool] = await self.http.retried(procedure, writes=6)
        return result

    async def _update_partner(self, found: dict[str, Any], upsert: ErpCustomerUpsert, company: str) -> None:
        """MERGE what differs: names, the sales areas' currency and terms, the company codes' terms, the
        first address, the tax number (each with the ETag just read)."""
        number = found["BusinessPartner"]
        name1, name2 = upsert.name[:40], upsert.name[40:80]
        if (found.get("OrganizationBPName1"), found.get("OrganizationBPName2") or "") != (name1, name2):
            await self._merge(BP, f"A_BusinessPartner({sap.text(number)})", found,
                              {"OrganizationBPName1": name1, "OrganizationBPName2": name2})  # fmt: skip
        customer = found.get("to_Customer") or {}
        terms = sap.TERMS.get(upsert.payment_terms) if upsert.payment_terms else None
        area_changes = {**({"Currency": upsert.currency.upper()} if upsert.currency else {}),
                        **({"CustomerPaymentTerms": terms} if terms else {})}  # fmt: skip
        for area in sap.results(customer.get("to_CustomerSalesArea")):
            await self._merge(BP, area["__metadata"]["uri"], area, area_changes)
        for company_data in sap.results(customer.get("to_CustomerCompany")):
            await self._merge(
                BP, company_data["__metadata"]["uri"], company_data, {"PaymentTerms": terms} if terms else {}
            )
        addresses = sap.results(found.get("to_BusinessPartnerAddress"))
        if upsert.billing_address is not None:
            wanted = _address(upsert.billing_address)
            if addresses:
                await self._merge(BP, addresses[0]["__metadata"]["uri"], addresses[0], wanted)
            else:
                body = {"BusinessPartner": number, **wanted}
                await self.http.odata("POST", BP, "A_BusinessPartnerAddress", json=body, idempotent=False)
        if upsert.tax_id:
            taxes = sap.results(found.get("to_BusinessPartnerTax"))
            if taxes:
                await self._merge(BP, taxes[0]["__metadata"]["uri"], taxes[0], {"BPTaxNumber": upsert.tax_id[:20]})
            else:
                country = (upsert.billing_address.country if upsert.billing_address else None) or (
                    (await self._company_codes())[company]["Country"])  # fmt: skip
                body = {"BusinessPartner": number, "BPTaxType": f"{country}0", "BPTaxNumber": upsert.tax_id[:20]}
                await self.http.odata("POST", BP, "A_BusinessPartnerTaxNumber", json=body, idempotent=False)

    async def _merge(self, service: str, path: str, record: dict[str, Any], changes: dict[str, Any]) -> None:
        """PATCH the properties of ``changes`` that differ from ``record`` (If-Match: its ETag)."""
        changed = {k: v for k, v in changes.items() if record.get(k) != v}
        if changed:
            etag = record["__metadata"]["etag"]
            await self.http.odata("PATCH", service, path, json=changed, headers={"If-Match": etag}, idempotent=False)

    async def get_customer(self, customer_id: str) -> ErpCustomer:
        """One business partner with the customer role."""
        path = f"A_BusinessPartner({sap.text(customer_id)})"
        record = await self.http.odata("GET", BP, path, params={"$expand": BP_EXPAND}, idempotent=True)
        if not isinstance(record, dict) or not record.get("Customer"):
            raise NotFound(f"No customer {customer_id}")
        return sap.customer(record)

    async def search_customers(self, *, name_prefix: str | None, tax_id: str | None, external_id: str | None,
                               limit: int, position: Any) -> Page[ErpCustomer]:  # fmt: skip
        """Organizations with the customer role matching every filter, in number order."""
        skip = _position(position)
        clauses = ["BusinessPartnerCategory eq '2'", "Customer ne ''"]
        if name_prefix:
            clauses.append(f"startswith(OrganizationBPName1,{sap.text(name_prefix)}) eq true")
        if external_id:
            clauses.append(f"BusinessPartnerIDByExtSystem eq {sap.text(sap.key(external_id, 20))}")
        if tax_id:
            params = {"$filter": f"BPTaxNumber eq {sap.text(tax_id)}"}
            taxes = sap.results(await self.http.odata("GET", BP, "A_BusinessPartnerTaxNumber", params=params,
                                                      idempotent=True))  # fmt: skip
            if not taxes:
                return Page(items=[], next_position=None)
            clauses.append(
                "(" + " or ".join(f"BusinessPartner eq {sap.text(t['BusinessPartner'])}" for t in taxes) + ")"
            )
        params = {"$filter": " and ".join(clauses), "$expand": BP_EXPAND, "$top": str(limit), "$skip": str(skip),
                  "$inlinecount": "allpages", "$orderby": "BusinessPartner"}  # fmt: skip
        body = await self.http.odata("GET", BP, "A_BusinessPartner", params=params, idempotent=True)
        records = sap.results(body)
        total = int(body.get("__count") or 0)
        items = [sap.customer(r, external_id) for r in records]
        return Page(items=items, next_position=skip + len(items) if skip + len(items) < total else None)

    async def _customer_ref(self, customer_id: str) -> tuple[str, str, str]:
        """(business partner, company code, currency) of an existing customer."""
        customer = await self.get_customer(customer_id)
        if customer.legal_entity_id is None:
            raise NotFound(f"Customer {customer_id} is not extended to a company code")
        return (
            customer.id,
            customer.legal_entity_id,
            customer.currency or await self._currency(customer.legal_entity_id),
        )

    # -- sales orders ------------------------------------------------------------------------------
    def _items(self, lines: Sequence[DocumentLineInput], currency: str, text_field: str) -> list[dict[str, Any]]:
        out = []
        for index, line in enumerate(lines):
            pricing = {"ConditionType": "PPR0", "ConditionRateValue": line.unit_price, "ConditionCurrency": currency}
            entry: dict[str, Any] = {
                "Material": line.item_id,
                "RequestedQuantity": line.quantity,
                "to_PricingElement": [pricing],
            }
            if line.description:
                entry[text_field] = line.description[:40]
            if not line.item_id or len(line.item_id) > 40:
                raise _field("is not a product number", f"/lines/{index}/item_id")
            out.append(entry)
        return out

    async def _order_by(self, field: str, value: str) -> dict[str, Any] | None:
        params = {"$filter": f"{field} eq {sap.text(value)}", "$expand": "to_Item"}
        found = sap.results(await self.http.odata("GET", SO, "A_SalesOrder", params=params, idempotent=True))
        return found[0] if found else None

    async def _create_order(
        self,
        partner: str,
        company: str,
        key: str,
        day: dt.date,
        currency: str,
        lines: Sequence[DocumentLineInput],
        *,
        invoice_key: str | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "SalesOrderType": "OR", "SalesOrganization": self._sales_org(company), "DistributionChannel": self.channel,
            "OrganizationDivision": self.division, "SoldToParty": partner, "PurchaseOrderByCustomer": key,
            "SalesOrderDate": sap.sap_date(day), "TransactionCurrency": currency,
            "to_Item": self._items(lines, currency, "SalesOrderItemText"),
        }  # fmt: skip
        if invoice_key is None:
            body["HeaderBillingBlockReason"] = BILLING_BLOCK
        else:
            body.update(AccountingDocExternalReference=invoice_key, RequestedDeliveryDate=sap.sap_date(day))
        return dict(await self.http.odata("POST", SO, "A_SalesOrder", json=body, idempotent=False))

    async def create_sales_order(self, order: SalesOrderCreate) -> tuple[SalesOrder, bool]:
        """Deep insert ``A_SalesOrder`` + ``to_Item`` unless an order carries its key."""
        partner, company, _currency = await self._customer_ref(order.customer_id)
        key = sap.key(order.external_id, 35)
        sent: list[bool] = []

        async def procedure() -> tuple[SalesOrder, bool]:
            existing = await self._order_by("PurchaseOrderByCustomer", key)
            if existing is not None:
                return self._sales_order(existing, company), bool(sent)
            sent.append(True)
            await self._create_order(partner, company, key, order.date, order.currency, order.lines, invoice_key=None)
            created = await self._order_by("PurchaseOrderByCustomer", key)
            if created is None:
                raise UpstreamContractViolation("SAP S/4HANA Cloud created a sales order it cannot find")
            return self._sales_order(created, company), True

        result: tuple[SalesOrder, bool] = await self.http.retried(procedure, writes=1)
        return result

    def _sales_order(self, record: dict[str, Any], company: str) -> SalesOrder:
        currency = str(record.get("TransactionCurrency") or "")
        status: ErpDocumentStatus = "billed" if record.get("OverallSDProcessStatus") == "C" else "open"
        if status == "open" and record.get("OverallSDDocumentRejectionSts") == "C":
            status = "void"  # every item rejected: the order is cancelled
        return SalesOrder(
            id=str(record["SalesOrder"]), external_id=sap.external_id_of(record.get("PurchaseOrderByCustomer")),
            number=str(record["SalesOrder"]), customer_id=str(record.get("SoldToParty") or ""),
            legal_entity_id=company, date=sap.date(record.get("SalesOrderDate")), currency=currency, status=status,
            lines=sap.lines(sap.results(record.get("to_Item")), currency, "RequestedQuantity", "SalesOrderItemText"),
            total=sap.money(record.get("TotalNetAmount") or "0", currency),
        )  # fmt: skip

    async def cancel_sales_order(self, order_id: str, *, reason: str) -> SalesOrder:
        """Reject every item (``SalesDocumentRjcnReason`` = ``REJECTION_REASON``, a PATCH of each
        ``A_SalesOrderItem`` with If-Match; the EDMX marks the property updatable); SAP then shows
        the order's rejection status C (canonical ``void``). Items rejected already are left alone,
        so a repeat or a retry after a lost answer writes nothing more. A billed order (processing
        status C) is refused (409). SAP keeps a reason code, not the text: ``reason`` is not sent."""
        del reason
        path = f"A_SalesOrder({sap.text(order_id)})"

        async def procedure() -> SalesOrder:
            record = await self.http.odata("GET", SO, path, params={"$expand": "to_Item"}, idempotent=True)
            company = str(record.get("SalesOrganization") or "")
            if record.get("OverallSDProcessStatus") == "C":
                raise Conflict(f"Sales order {order_id} is billed; SAP rejects only items not yet billed. "
                               "Cancel the billing document instead.", vendor_code="order_billed")  # fmt: skip
            pending = [i for i in sap.results(record.get("to_Item")) if not i.get("SalesDocumentRjcnReason")]
            for item in pending:
                key = ",".join(f"{name}={sap.text(str(item[name]))}" for name in ("SalesOrder", "SalesOrderItem"))
                await self._merge(SO, f"A_SalesOrderItem({key})", item, {"SalesDocumentRjcnReason": REJECTION_REASON})
            if pending:
                record = await self.http.odata("GET", SO, path, params={"$expand": "to_Item"}, idempotent=True)
            return self._sales_order(record, company)

        result: SalesOrder = await self.http.retried(procedure, writes=2)
        return result

    async def get_sales_order(self, order_id: str) -> SalesOrder:
        """One sales order."""
        record = await self.http.odata("GET", SO, f"A_SalesOrder({sap.text(order_id)})",
                                       params={"$expand": "to_Item"}, idempotent=True)  # fmt: skip
        return self._sales_order(record, str(record.get("SalesOrganization") or ""))


def _address(address: Any) -> dict[str, Any]:
    return {k: v for k, v in {"StreetName": (address.line1 or "")[:60], "CityName": (address.city or "")[:40],
                              "PostalCode": (address.postal_code or "")[:10], "Region": (address.region or "")[:3],
                              "Country": (address.country or "")[:3]}.items() if v}  # fmt: skip


def build_sap_s4hana_connector(link: VendorLink[Any], settings: SapS4HanaSettings) -> SapS4HanaConnector:
    """The connector to the tenant ``link`` reaches (the real one, or the sandbox)."""
    config = SapConfig(
        timeout_seconds=settings.timeout_ms / 1000, max_retries=settings.max_retries,
        backoff_base_seconds=settings.backoff_base_ms / 1000, backoff_max_seconds=settings.backoff_max_ms / 1000,
    )  # fmt: skip
    credentials = link.credentials
    base = link.base_url.rstrip("/")
    if settings.auth == "oauth2":
        # The composition root names the token endpoint (link.auth_url: the configured one for the real
        # tenant, none for the embedded sandbox, which serves SAP's default path).
        token_url = link.auth_url or f"{base}/sap/bc/sec/oauth2/token"
        http = SapHttp(link.client, base, basic=None, oauth=(token_url, credentials.client_id,
                       credentials.client_secret), config=config, breaker=link.breaker)  # fmt: skip
    else:
        http = SapHttp(link.client, base, basic=(credentials.username, credentials.password), oauth=None,
                       config=config, breaker=link.breaker)  # fmt: skip
    return SapS4HanaConnector(
        http,
        company_code=settings.company_code,
        distribution_channel=settings.distribution_channel,
        division=settings.division,
        sales_organization=settings.sales_organization,
    )
