"""Business rules: deep inserts with SAP's numbering and pricing, the billing run, accounting postings.

* Business partners get the next number of their range; one created with ``to_Customer`` is also
  a customer with the same number (as S/4HANA Cloud's BP-customer synchronisation does).
* Sales orders and credit memo requests are numbered, priced (a ``PPR0`` pricing element of the
  deep insert, else the product's standard price in the sales organisation's company code) and
  checked (sold-to party extended to the sales area, known products).
* **Billing run** (GUESSED: real SAP bills through the billing due list, a scheduled job): an order
  without ``HeaderBillingBlockReason`` is billed at once — an order when it is created unblocked or
  when a MERGE/PATCH removes its block. The billing document (``F2`` invoice, ``G2`` credit memo)
  copies the order's ``PurchaseOrderByCustomer``, takes ``DocumentReferenceID`` from the order's
  ``AccountingDocExternalReference`` and its date from ``RequestedDeliveryDate`` (else the order
  date), and is posted to accounting (``RV``): a customer item on the reconciliation account and
  revenue items. A credit memo referring to an invoice (``ReferenceSDDocument``) carries the
  invoice's accounting document in ``InvoiceReference``. A date in a closed posting period leaves
  the billing document unposted (``AccountingTransferStatus`` ``B``).
* A reason for rejection on an order item (``SalesDocumentRjcnReason``, updatable in the EDMX)
  must be a code of :data:`REJECTION_REASONS` and is refused once the order is billed; the header's
  ``OverallSDDocumentRejectionSts`` follows (A none, B some, C all items rejected). The codes and
  the refusal's message number are GUESSED.
* Journal postings (:mod:`.soap`) are checked (open period ``F5/201``, balance ``F5/702``, known
  G/L account, known customer) and written as ``GLAccountLineItem`` records of ledger ``0L``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sandboxes.sap_s4hana.edmx import EntitySet
from sandboxes.sap_s4hana.odata import Record, SapError, bad_request
from sandboxes.sap_s4hana.store import Store

RECONCILIATION_ACCOUNT = "0000001200"
REVENUE_ACCOUNT = "0000004000"
LEDGER = "0L"


def padded(account: str) -> str:
    """A G/L account number as SAP stores it (ALPHA conversion: zero-padded to 10)."""
    return account.zfill(10) if account.isdigit() else account


def create(store: Store, entity: EntitySet, body: Record, *, deep: bool = False) -> Record:
    """A deep insert into ``entity`` (validated against the EDMX), with SAP's business rules; one write
    of ``entity`` (a deep insert's children are part of it, and may go to sets not creatable alone)."""
    if not entity.creatable and not deep:
        raise SapError(405, "/IWBEP/CM_MGW_RT/101", f"Entity set '{entity.name}' is not creatable")
    values, navigation = store.clean(entity, body, creating=True)
    hook = _BEFORE.get(entity.name)
    if hook is not None:
        hook(store, values, navigation)
    if not deep and entity.name == "A_BusinessPartnerAddress":
        _number_item(entity, values, len(store.where(entity.name, BusinessPartner=values.get("BusinessPartner"))))
    for key in entity.keys:
        if not values.get(key):
            raise bad_request(f"Key property '{key}' of '{entity.name}' is missing", target=key)
    children: list[tuple[EntitySet, Record]] = []
    for nav_name, nav_body in navigation.items():
        target = store.sets[entity.navs[nav_name].target]
        for index, child in enumerate(nav_body if isinstance(nav_body, list) else [nav_body]):
            if not isinstance(child, dict):
                raise bad_request(f"Navigation property '{nav_name}' needs objects")
            child = {**child, **{k: values[k] for k in target.keys if k in values and k in entity.props}}
            if nav_name == "to_Customer":
                child["Customer"] = values["BusinessPartner"]
            _number_item(target, child, index)
            children.append((target, child))
    record = store.insert(entity, values, count=not deep)
    for target, child in children:
        create(store, target, child, deep=True)
    after = _AFTER.get(entity.name)
    if after is not None:
        after(store, record)
    return record


def _number_item(target: EntitySet, child: Record, index: int) -> None:
    for key in ("SalesOrderItem", "CreditMemoRequestItem"):
        if key in target.keys and not child.get(key):
            child[key] = str(10 * (index + 1))
    if "PricingProcedureStep" in target.keys:
        child.setdefault("PricingProcedureStep", str(10 * (index + 1)).zfill(3))
        child.setdefault("PricingProcedureCounter", "001")
    if target.name == "A_BusinessPartnerAddress" and not child.get("AddressID"):
        child["AddressID"] = str(index + 1)  # numbered per partner here (SAP numbers addresses tenant-wide)


def _business_partner(store: Store, values: Record, _navigation: Record) -> None:
    values.setdefault("BusinessPartner", store.next_number("BP", 10100001, 0))
    if not values.get("BusinessPartnerCategory"):
        raise bad_request("Business partner category is missing", "R11/401", "BusinessPartnerCategory")
    name = values.get("OrganizationBPName1") or values.get("LastName") or ""
    values["BusinessPartnerName"] = values["BusinessPartnerFullName"] = name
    values["Customer"] = values["BusinessPartner"]
    values["CreationDate"] = dt.date.today().isoformat()


def _customer(store: Store, values: Record, _navigation: Record) -> None:
    partner = store.where("A_BusinessPartner", BusinessPartner=values.get("Customer"))
    values["CustomerName"] = values["CustomerFullName"] = partner[0]["BusinessPartnerName"] if partner else ""


def _document(number_key: str, date_key: str, first: int, range_name: str) -> Any:
    def before(store: Store, values: Record, navigation: Record) -> None:
        items = navigation.get("to_Item")
        if not isinstance(items, list) or not items:
            raise bad_request("Enter at least one item", "V1/555", "to_Item")
        for item in items:
            material = item.get("Material") if isinstance(item, dict) else None
            if not store.where("A_Product", Product=material):
                raise bad_request(f"Material {material} does not exist", "V1/392", "Material")
        for name in ("SoldToParty", "SalesOrganization", "TransactionCurrency"):
            if not values.get(name):
                raise bad_request(f"Enter a value for field {name}", "V1/045", name)
        areas = store.where("A_CustomerSalesArea", Customer=values["SoldToParty"],
                            SalesOrganization=values["SalesOrganization"])  # fmt: skip
        if not areas:
            raise bad_request(
                f"Sold-to party {values['SoldToParty']} not maintained for sales area "
                f"{values['SalesOrganization']} {values.get('DistributionChannel', '')} "
                f"{values.get('OrganizationDivision', '')}", "V1/390", "SoldToParty",
            )  # fmt: skip
        values.setdefault(date_key, dt.date.today().isoformat())
        values.setdefault("CustomerPaymentTerms", areas[0].get("CustomerPaymentTerms") or "")
        values[number_key] = store.next_number(range_name, first, 0)
        values["OverallSDProcessStatus"] = "A"
        values["TotalNetAmount"] = "0"

    return before


def _priced(header_set: str, item_set: str, price_set: str, number_key: str, item_key: str) -> Any:
    def after(store: Store, order: Record) -> None:
        total = Decimal(0)
        for item in store.where(item_set, **{number_key: order[number_key]}):
            elements = store.where(price_set, **{number_key: order[number_key], item_key: item[item_key]})
            rate = next((Decimal(e["ConditionRateValue"]) for e in elements if e.get("ConditionType") == "PPR0"), None)
            if rate is None:
                valuation = store.where("A_ProductValuation", Product=item["Material"],
                                        ValuationArea=order["SalesOrganization"])  # fmt: skip
                rate = Decimal(valuation[0]["StandardPrice"]) if valuation else Decimal(0)
            net = (Decimal(item.get("RequestedQuantity") or "0") * rate).quantize(Decimal("0.01"))
            item["NetAmount"], item["TransactionCurrency"] = format(net, "f"), order["TransactionCurrency"]
            item.setdefault("RequestedQuantityUnit", "EA")
            total += net
        order["TotalNetAmount"] = format(total, "f")
        if not order.get("HeaderBillingBlockReason"):
            bill(store, header_set, order)

    return after


def bill(store: Store, header_set: str, order: Record) -> Record | None:
    """The billing run over one order (or credit memo request): its billing document, posted."""
    credit = header_set == "A_CreditMemoRequest"
    number_key = "CreditMemoRequest" if credit else "SalesOrder"
    item_set = "A_CreditMemoRequestItem" if credit else "A_SalesOrderItem"
    item_key = "CreditMemoRequestItem" if credit else "SalesOrderItem"
    if order.get("OverallSDProcessStatus") == "C" or order.get("OverallSDDocumentRejectionSts") == "C":
        return None  # billed already, or every item rejected: nothing to bill
    company = order["SalesOrganization"]  # the tenant's sales organisations bear their company code's number
    day = order.get("RequestedDeliveryDate") or order.get("CreditMemoRequestDate") or order.get("SalesOrderDate")
    number = store.next_number("BILLING", 90000001, 0)
    reference = ""
    if credit and order.get("ReferenceSDDocument"):
        invoices = store.where("A_BillingDocument", BillingDocument=order["ReferenceSDDocument"])
        reference = invoices[0].get("AccountingDocument", "") if invoices else ""
    header = {
        "BillingDocument": number, "SDDocumentCategory": "O" if credit else "M", "BillingDocumentCategory": "L",
        "BillingDocumentType": "G2" if credit else "F2", "CreationDate": dt.date.today().isoformat(),
        "SalesOrganization": company, "DistributionChannel": order.get("DistributionChannel", ""),
        "Division": order.get("OrganizationDivision", ""), "BillingDocumentDate": day,
        "BillingDocumentIsCancelled": False, "CancelledBillingDocument": "",
        "TotalNetAmount": order["TotalNetAmount"], "TaxAmount": "0", "TotalGrossAmount": order["TotalNetAmount"],
        "TransactionCurrency": order["TransactionCurrency"], "PayerParty": order["SoldToParty"],
        "SoldToParty": order["SoldToParty"], "CompanyCode": company, "FiscalYear": str(day)[:4],
        "AccountingDocument": "", "DocumentReferenceID": order.get("AccountingDocExternalReference", ""),
        "PurchaseOrderByCustomer": order.get("PurchaseOrderByCustomer", ""),
        "CustomerPaymentTerms": order.get("CustomerPaymentTerms", ""), "OverallBillingStatus": "C",
        "AccountingPostingStatus": "", "AccountingTransferStatus": "", "InvoiceClearingStatus": "",
    }  # fmt: skip
    items = store.where(item_set, **{number_key: order[number_key]})
    record = store.insert(store.sets["A_BillingDocument"], header)
    for position, item in enumerate(items, start=1):
        store.insert(store.sets["A_BillingDocumentItem"], count=False, record={
            "BillingDocument": number, "BillingDocumentItem": str(10 * position), "Material": item["Material"],
            "BillingDocumentItemText": item.get("SalesOrderItemText") or item.get("CreditMemoRequestItemText") or "",
            "BillingQuantity": item.get("RequestedQuantity"), "BillingQuantityUnit": item.get("RequestedQuantityUnit"),
            "NetAmount": item["NetAmount"], "GrossAmount": item["NetAmount"], "TaxAmount": "0",
            "TransactionCurrency": order["TransactionCurrency"], "ReferenceSDDocument": order[number_key],
            "ReferenceSDDocumentItem": item[item_key], "SalesDocument": "" if credit else order[number_key],
            "SalesDocumentItem": "" if credit else item[item_key],
        })  # fmt: skip
    order["OverallSDProcessStatus"] = "C"
    sign = Decimal(-1) if credit else Decimal(1)
    lines = [{"GLAccount": RECONCILIATION_ACCOUNT, "Amount": sign * Decimal(order["TotalNetAmount"]),
              "Customer": order["SoldToParty"], "InvoiceReference": reference}]  # fmt: skip
    lines += [{"GLAccount": REVENUE_ACCOUNT, "Amount": -sign * Decimal(i["NetAmount"])} for i in items]
    try:
        document = post(
            store, company, str(day), "RV", lines, reference_document=number,
            assignment=header["DocumentReferenceID"], sales_document="" if credit else order[number_key],
        )  # fmt: skip
    except SapError:
        record["AccountingTransferStatus"] = "B"  # not posted: the posting period is closed
        return record
    record.update(AccountingDocument=document, AccountingPostingStatus="C", AccountingTransferStatus="C")
    return record


def cancel(store: Store, number: str) -> Record:
    """``Cancel``: a cancellation document (``S1``/``S2``) reversing the billing document's posting."""
    original = store.get("A_BillingDocument", {"BillingDocument": number})
    if original["BillingDocumentIsCancelled"]:
        raise bad_request(f"Billing document {number} is already cancelled", "VF/012")
    today = dt.date.today().isoformat()
    cancellation = dict(original, BillingDocument=store.next_number("BILLING", 90000001, 0),
                        BillingDocumentType="S1" if original["BillingDocumentType"] == "F2" else "S2",
                        CancelledBillingDocument=number, BillingDocumentDate=today)  # fmt: skip
    cancellation.pop("_version", None)
    store.insert(store.sets["A_BillingDocument"], cancellation)
    original["BillingDocumentIsCancelled"] = True
    store.touch(store.sets["A_BillingDocument"], original)
    if original.get("AccountingDocument"):
        items = store.where("GLAccountLineItem", AccountingDocument=original["AccountingDocument"],
                            CompanyCode=original["CompanyCode"])  # fmt: skip
        lines = [{"GLAccount": i["GLAccount"], "Amount": -Decimal(i["AmountInTransactionCurrency"]),
                  "Customer": i.get("Customer", ""), "InvoiceReference": original["AccountingDocument"]
                  if i.get("Customer") else ""} for i in items]  # fmt: skip
        post(store, original["CompanyCode"], today, "RV", lines, reference_document=cancellation["BillingDocument"])
    return cancellation


REJECTION_REASONS = {"00", "01", "02", "03", "04", "05", "10", "11"}
"""Reasons for rejection of the tenant's customizing (SAP's standard set; GUESSED for this tenant)."""


def reject_item(store: Store, item: Record, reason: Any) -> None:
    """A change of an order item's ``SalesDocumentRjcnReason``: a known code (or blank, to take the
    rejection back), refused on a billed order (GUESSED message: SAP says so in V1 messages)."""
    if reason not in (None, "") and reason not in REJECTION_REASONS:
        raise bad_request(f"Reason for rejection {reason} is not defined", "V1/086", "SalesDocumentRjcnReason")
    order = store.get("A_SalesOrder", {"SalesOrder": item["SalesOrder"]})
    if order.get("OverallSDProcessStatus") == "C":
        raise bad_request(
            f"Item {item['SalesOrderItem']} of sales order {item['SalesOrder']} is completely processed; "
            "it cannot be rejected",
            "V1/087",
            "SalesDocumentRjcnReason",
        )


def rejection_status(store: Store, number: str) -> None:
    """The header's ``OverallSDDocumentRejectionSts``: A none, B some, C every item rejected."""
    order = store.get("A_SalesOrder", {"SalesOrder": number})
    rejected = [bool(i.get("SalesDocumentRjcnReason")) for i in store.where("A_SalesOrderItem", SalesOrder=number)]
    order["OverallSDDocumentRejectionSts"] = "C" if rejected and all(rejected) else "B" if any(rejected) else "A"


def period_open(store: Store, company: str, day: str) -> bool:
    """Whether the posting period of ``day`` is open in ``company`` (no period: closed)."""
    rows = store.where("YY1_PostingPeriod", CompanyCode=company, FiscalYear=day[:4], FiscalPeriod=day[5:7].zfill(3))
    return bool(rows) and bool(rows[0]["PostingPeriodIsOpen"])


def post(store: Store, company: str, day: str, doc_type: str, lines: list[Record], *, reference_document: str = "",
         assignment: str = "", header_text: str = "", sales_document: str = "") -> str:  # fmt: skip
    """Post a journal entry in ledger ``0L``; its accounting document number. Raises SapError with SAP's
    message (``F5/201`` closed period, ``F5/702`` unbalanced, ``FH/032`` unknown account)."""
    codes = store.where("A_CompanyCode", CompanyCode=company)
    if not codes:
        raise bad_request(f"Company code {company} does not exist", "F5/165")
    if not period_open(store, company, day):
        raise bad_request(f"Posting period {day[5:7].zfill(3)} {day[:4]} is not open", "F5/201")
    total = sum((Decimal(line["Amount"]) for line in lines), Decimal(0))
    if total != 0 or len(lines) < 2:
        raise bad_request(f"Balance in transaction currency {codes[0]['Currency']}: {total}", "F5/702")
    for line in lines:
        account = padded(str(line["GLAccount"]))
        if not store.where("A_GLAccountInChartOfAccounts", GLAccount=account):
            raise bad_request(f"G/L account {line['GLAccount']} is not defined in chart of accounts YCOA", "FH/032")
        if line.get("Customer") and not store.where("A_Customer", Customer=line["Customer"]):
            raise bad_request(f"Customer {line['Customer']} is not defined in company code {company}", "F5/104")
    year = day[:4]
    document = store.next_number(f"ACC-{company}-{year}-{doc_type}", 100000001 if doc_type == "SA" else 90000001
                                 if doc_type == "RV" else 1400000001)  # fmt: skip
    currency = codes[0]["Currency"]
    for position, line in enumerate(lines, start=1):
        amount = Decimal(line["Amount"]).quantize(Decimal("0.01"))
        item = str(position).zfill(6)
        store.insert(store.sets["GLAccountLineItem"], count=False, record={
            "ID": f"{LEDGER}{company}{year}{document}{item}", "SourceLedger": LEDGER, "Ledger": LEDGER,
            "CompanyCode": company, "FiscalYear": year, "AccountingDocument": document, "LedgerGLLineItem": item,
            "LedgerFiscalYear": year, "GLRecordType": "2", "ChartOfAccounts": "YCOA",
            "GLAccount": padded(str(line["GLAccount"])),
            "ReferenceDocumentType": "VBRK" if doc_type == "RV" else "BKPFF",
            "ReferenceDocument": reference_document or document, "TransactionCurrency": currency,
            "AmountInTransactionCurrency": format(amount, "f"), "CompanyCodeCurrency": currency,
            "AmountInCompanyCodeCurrency": format(amount, "f"), "DebitCreditCode": "S" if amount >= 0 else "H",
            "FiscalPeriod": day[5:7].zfill(3), "FiscalYearVariant": "K4",
            "FiscalYearPeriod": f"{year}{day[5:7].zfill(3)}",
            "PostingDate": day, "DocumentDate": day, "AccountingDocumentType": doc_type,
            "AccountingDocumentItem": str(position).zfill(3),
            "AssignmentReference": line.get("Assignment") or assignment,
            "DocumentItemText": line.get("Text") or header_text, "Customer": line.get("Customer") or "",
            "FinancialAccountType": "D" if line.get("Customer") else "S",
            "InvoiceReference": line.get("InvoiceReference") or "",
            "InvoiceReferenceFiscalYear": line.get("InvoiceReferenceFiscalYear") or "",
            "SalesDocument": sales_document if line.get("Customer") else "", "ClearingAccountingDocument": "",
            "IsReversal": False, "IsReversed": False,
        })  # fmt: skip
    return document


_BEFORE = {
    "A_BusinessPartner": _business_partner,
    "A_Customer": _customer,
    "A_SalesOrder": _document("SalesOrder", "SalesOrderDate", 1, "SALES_ORDER"),
    "A_CreditMemoRequest": _document("CreditMemoRequest", "CreditMemoRequestDate", 60000001, "CREDIT_MEMO_REQUEST"),
}
_AFTER = {
    "A_SalesOrder": _priced("A_SalesOrder", "A_SalesOrderItem", "A_SalesOrderItemPrElement", "SalesOrder",
                            "SalesOrderItem"),
    "A_CreditMemoRequest": _priced("A_CreditMemoRequest", "A_CreditMemoRequestItem",
                                   "A_CreditMemoReqItemPrcgElmnt", "CreditMemoRequest", "CreditMemoRequestItem"),
}  # fmt: skip
