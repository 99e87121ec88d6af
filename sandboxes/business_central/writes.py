"""Inserts, updates and deletes, with the fields BC fills in (numbers, names, amounts, defaults)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sandboxes.business_central.schema import ENTITIES, BcError, dialog
from sandboxes.business_central.store import CURRENCIES, Record, Store, money, now

DOCUMENT_DATE = {"salesOrders": "orderDate", "salesInvoices": "invoiceDate", "salesCreditMemos": "creditMemoDate"}
LINES = {"salesOrders": "salesOrderLines", "salesInvoices": "salesInvoiceLines",
         "salesCreditMemos": "salesCreditMemoLines"}  # fmt: skip
JOURNAL_LINES = {"journals": "journalLines", "customerPaymentJournals": "customerPayments"}
DRAFT = {"salesOrders": "Draft", "salesInvoices": "Draft", "salesCreditMemos": "Draft"}


def _record_not_found(table: str, value: Any) -> BcError:
    return BcError(
        400, "Internal_RecordNotFound", f"The {table} does not exist. Identification fields and values: No.='{value}'"
    )


def create(store: Store, company_id: str, entity_name: str, body: Record) -> Record:
    """Insert a record (with its lines, for a deep insert); returns it."""
    entity = ENTITIES[entity_name]
    if not entity.writable:
        raise BcError(405, "BadRequest_MethodNotAllowed", f"'POST' requests for '{entity_name}' are not allowed.")
    with store.lock:
        values = store.clean(entity, body, creating=True)
        lines = [values.pop(name) for name in list(values) if name in entity.navigation]
        record: Record = dict.fromkeys(entity.fields)
        record.update({k: v for k, v in values.items() if v is not None})
        record["id"] = str(values.get("id") or store.new_id())
        if store.company(company_id)[entity_name].get(record["id"]):
            raise BcError(400, "Internal_EntityWithSameKeyExists", f"A record with id '{record['id']}' already exists.")
        record["_version"], record["lastModifiedDateTime"] = 1, now()
        _defaults(store, company_id, entity_name, record)
        store.check_key(company_id, entity_name, record)
        nav = next(iter(entity.navigation), None)
        if nav is not None:
            record[nav] = []
            for line in lines[0] if lines else []:
                _add_line(store, company_id, entity_name, record, line)
            _totals(entity_name, record)
        store.company(company_id)[entity_name][record["id"]] = record
        store.count_write(entity_name)
        store.save()
        return record


def update(store: Store, company_id: str, entity_name: str, record: Record, body: Record) -> Record:
    """Change properties of a record (If-Match already checked)."""
    entity = ENTITIES[entity_name]
    with store.lock:
        _editable(store, entity_name, record)
        values = store.clean(entity, body, creating=False)
        changed = {**record, **values}
        _defaults(store, company_id, entity_name, changed, updating=True)
        store.check_key(company_id, entity_name, changed)
        if entity.navigation:
            _totals(entity_name, changed)
        record.clear()
        record.update(changed)
        store.touch(record)
        store.count_write(entity_name)
        store.save()
        return record


def delete(store: Store, company_id: str, entity_name: str, record: Record) -> None:
    """Delete a record (If-Match already checked); posted documents cannot be deleted."""
    with store.lock:
        _editable(store, entity_name, record)
        if entity_name == "customers" and _customer_in_use(store, company_id, record["id"]):
            raise dialog(f"You cannot delete customer {record['number']} because there are one or more documents.")
        del store.company(company_id)[entity_name][record["id"]]
        store.count_write(entity_name)
        store.save()


def add_line(store: Store, company_id: str, entity_name: str, document: Record, body: Record) -> Record:
    """POST to a document's (or journal's) navigation: one new line."""
    with store.lock:
        _editable(store, entity_name, document)
        line = _add_line(store, company_id, entity_name, document, body)
        _totals(entity_name, document)
        store.touch(document)
        store.count_write(_line_set(entity_name))
        store.save()
        return line


def update_line(
    store: Store, company_id: str, entity_name: str, document: Record, line: Record, body: Record
) -> Record:
    """PATCH one line of a document (If-Match already checked)."""
    with store.lock:
        _editable(store, entity_name, document, line)
        line_entity = ENTITIES[next(iter(ENTITIES[entity_name].navigation.values()))]
        values = store.clean(line_entity, body, creating=False)
        changed = {**line, **values}
        _line_defaults(store, company_id, entity_name, document, changed)
        line.clear()
        line.update(changed)
        store.touch(line)
        _totals(entity_name, document)
        store.touch(document)
        store.count_write(_line_set(entity_name))
        store.save()
        return line


def delete_line(store: Store, entity_name: str, document: Record, line: Record) -> None:
    """DELETE one line of a document (If-Match already checked)."""
    with store.lock:
        _editable(store, entity_name, document, line)
        nav = next(iter(ENTITIES[entity_name].navigation))
        document[nav] = [other for other in document[nav] if other["id"] != line["id"]]
        _totals(entity_name, document)
        store.touch(document)
        store.count_write(_line_set(entity_name))
        store.save()


def _line_set(entity_name: str) -> str:
    """The entity set of a document's lines (``salesOrders`` → ``salesOrderLines``)."""
    return next(iter(ENTITIES[entity_name].navigation.values()))


# -- rules ---------------------------------------------------------------------------------------
def _editable(store: Store, entity_name: str, document: Record, line: Record | None = None) -> None:
    if entity_name in ("salesInvoices", "salesCreditMemos") and document.get("status") != "Draft":
        raise dialog(f"The document {document['number']} is posted; a posted document cannot be changed.")
    if line is not None and line["id"] in store.posted_payments:
        raise dialog("The payment is posted and cannot be changed.")


def _customer_in_use(store: Store, company_id: str, customer_id: str) -> bool:
    tables = store.company(company_id)
    return any(
        document.get("customerId") == customer_id
        for name in ("salesOrders", "salesInvoices", "salesCreditMemos")
        for document in tables[name].values()
    )


def _defaults(store: Store, company_id: str, entity_name: str, record: Record, *, updating: bool = False) -> None:
    """What BC fills in: numbers, customer names and currencies, dates."""
    company = store.company(company_id)
    info = next(iter(company["companyInformation"].values()))
    if entity_name in ("customers", "items") and not record.get("number"):
        record["number"] = store.next_number(company_id, entity_name)
    if entity_name == "customers":
        record["type"] = record.get("type") or "Company"
        code = (record.get("currencyCode") or "").upper()
        if code and code not in CURRENCIES:
            raise _record_not_found("Currency", record["currencyCode"])
        record["currencyCode"] = code or info["currencyCode"]
        if record.get("paymentTermsId") and record["paymentTermsId"] not in company["paymentTerms"]:
            raise _record_not_found("Payment Terms", record["paymentTermsId"])
        record["balanceDue"] = record.get("balanceDue") or 0.0
        record["blocked"] = record.get("blocked") or " "
    if entity_name == "items":
        record["type"] = record.get("type") or "Service"
        record["unitPrice"] = record.get("unitPrice") or 0.0
        record["baseUnitOfMeasureCode"] = record.get("baseUnitOfMeasureCode") or "PCS"
        record["blocked"] = bool(record.get("blocked"))
    if entity_name in DOCUMENT_DATE:
        _document_defaults(store, company_id, entity_name, record, info, updating=updating)
    if entity_name in JOURNAL_LINES:
        record["displayName"] = record.get("displayName") or record.get("code")
    if entity_name == "journals":
        record["templateDisplayName"] = "GENERAL"


def _document_defaults(
    store: Store, company_id: str, entity_name: str, record: Record, info: Record, *, updating: bool
) -> None:
    company = store.company(company_id)
    customer = None
    if record.get("customerId"):
        customer = company["customers"].get(record["customerId"])
    elif record.get("customerNumber"):
        customer = store.find(company_id, "customers", "number", record["customerNumber"])
    if customer is None:
        raise _record_not_found("Customer", record.get("customerNumber") or record.get("customerId"))
    record["customerId"], record["customerNumber"] = customer["id"], customer["number"]
    record["customerName"] = customer["displayName"]
    code = (record.get("currencyCode") or "").upper()
    if code and code not in CURRENCIES:
        raise _record_not_found("Currency", record["currencyCode"])
    record["currencyCode"] = code or customer.get("currencyCode") or info["currencyCode"]
    date_name = DOCUMENT_DATE[entity_name]
    record[date_name] = record.get(date_name) or dt.date.today().isoformat()
    record["postingDate"] = record.get("postingDate") or record[date_name]
    if entity_name in ("salesInvoices", "salesCreditMemos"):
        record["dueDate"] = record.get("dueDate") or _due(company, customer, record[date_name])
    if not updating:
        record["status"] = DRAFT[entity_name]
        record["number"] = store.next_number(company_id, entity_name)
        if entity_name == "salesOrders":
            record["fullyShipped"] = False
    if entity_name == "salesInvoices" and record.get("orderId"):
        order = company["salesOrders"].get(record["orderId"])
        if order is None or order["customerId"] != customer["id"]:
            raise _record_not_found("Sales Header", record["orderId"])
        record["orderNumber"] = order["number"]
    if entity_name == "salesCreditMemos" and record.get("invoiceId"):
        invoice = company["salesInvoices"].get(record["invoiceId"])
        if invoice is None or invoice["customerId"] != customer["id"] or invoice["status"] == "Draft":
            raise _record_not_found("Sales Invoice Header", record["invoiceId"])
        record["invoiceNumber"] = invoice["number"]


def _due(company: dict[str, dict[str, Record]], customer: Record, day: str) -> str:
    terms = company["paymentTerms"].get(customer.get("paymentTermsId") or "")
    days = int((terms or {}).get("dueDateCalculation", "0D").rstrip("D") or 0)
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def _add_line(store: Store, company_id: str, entity_name: str, document: Record, body: Record) -> Record:
    nav, line_set = next(iter(ENTITIES[entity_name].navigation.items()))
    line_entity = ENTITIES[line_set]
    values = store.clean(line_entity, body, creating=True)
    line: Record = dict.fromkeys(line_entity.fields)
    line.update({k: v for k, v in values.items() if v is not None})
    line["id"] = str(values.get("id") or store.new_id())
    line["_version"], line["lastModifiedDateTime"] = 1, now()
    if entity_name in JOURNAL_LINES:
        line["journalId"], line["journalDisplayName"] = document["id"], document["displayName"]
        line["lineNumber"] = line.get("lineNumber") or 10000 * (len(document[nav]) + 1)
    else:
        line["documentId"] = document["id"]
        line["sequence"] = line.get("sequence") or 10000 * (len(document[nav]) + 1)
    _line_defaults(store, company_id, entity_name, document, line)
    document[nav].append(line)
    return line


def _line_defaults(store: Store, company_id: str, entity_name: str, document: Record, line: Record) -> None:
    company = store.company(company_id)
    if entity_name == "journals":
        account = company["accounts"].get(line.get("accountId") or "") or (
            store.find(company_id, "accounts", "number", line["accountNumber"]) if line.get("accountNumber") else None
        )
        if account is None:
            raise _record_not_found("G/L Account", line.get("accountNumber") or line.get("accountId"))
        line["accountType"] = "G/L Account"
        line["accountId"], line["accountNumber"] = account["id"], account["number"]
        line["postingDate"] = line.get("postingDate") or dt.date.today().isoformat()
        line["amount"] = line.get("amount") or 0.0
        return
    if entity_name == "customerPaymentJournals":
        customer = company["customers"].get(line.get("customerId") or "") or (
            store.find(company_id, "customers", "number", line["customerNumber"])
            if line.get("customerNumber")
            else None
        )
        if customer is None:
            raise _record_not_found("Customer", line.get("customerNumber") or line.get("customerId"))
        line["customerId"], line["customerNumber"] = customer["id"], customer["number"]
        line["postingDate"] = line.get("postingDate") or dt.date.today().isoformat()
        line["amount"] = line.get("amount") or 0.0
        if line.get("appliesToInvoiceId") or line.get("appliesToInvoiceNumber"):
            invoice = company["salesInvoices"].get(line.get("appliesToInvoiceId") or "") or store.find(
                company_id, "salesInvoices", "number", line.get("appliesToInvoiceNumber") or "\x00"
            )
            if invoice is None or invoice["status"] == "Draft":
                raise _record_not_found("Cust. Ledger Entry", line.get("appliesToInvoiceNumber") or "")
            line["appliesToInvoiceId"], line["appliesToInvoiceNumber"] = invoice["id"], invoice["number"]
        return
    item = company["items"].get(line.get("itemId") or "") or (
        store.find(company_id, "items", "number", line["lineObjectNumber"]) if line.get("lineObjectNumber") else None
    )
    if item is None:
        raise _record_not_found("Item", line.get("lineObjectNumber") or line.get("itemId"))
    line["lineType"], line["itemId"], line["lineObjectNumber"] = "Item", item["id"], item["number"]
    line["description"] = line.get("description") or item["displayName"]
    quantity = Decimal(str(line.get("quantity") if line.get("quantity") is not None else 1))
    if quantity <= 0:
        raise dialog("Quantity must be positive.")
    price = Decimal(str(line["unitPrice"] if line.get("unitPrice") is not None else item["unitPrice"]))
    amount = quantity * price - Decimal(str(line.get("discountAmount") or 0))
    line["quantity"], line["unitPrice"] = float(quantity), float(price)
    line["discountAmount"] = float(line.get("discountAmount") or 0)
    # No sales tax is computed (tax is the tax API's job): tax 0, amounts with and without tax agree.
    line["amountExcludingTax"] = line["netAmount"] = line["amountIncludingTax"] = money(amount)
    line["totalTaxAmount"] = 0.0


def _totals(entity_name: str, document: Record) -> None:
    if entity_name not in LINES:
        return
    total = sum((Decimal(str(line["amountExcludingTax"])) for line in document[LINES[entity_name]]), Decimal(0))
    document["totalAmountExcludingTax"] = document["totalAmountIncludingTax"] = money(total)
    document["totalTaxAmount"] = 0.0
    document["discountAmount"] = document.get("discountAmount") or 0.0
    if entity_name in ("salesInvoices", "salesCreditMemos") and document.get("status") == "Draft":
        document["remainingAmount"] = money(total)
