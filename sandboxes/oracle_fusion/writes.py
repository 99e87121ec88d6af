"""Business rules of the Oracle Fusion sandbox: what each POST, PATCH and action checks and computes.

Every function runs under the store's lock and raises :class:`~sandboxes.oracle_fusion.rest.OracleError`
(400) for what Oracle refuses. Error codes of the receivables rules are GUESSED (Oracle's usage notes
list messages, not these codes); the messages say what Oracle's say.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandboxes.oracle_fusion.resources import AR_APPLICATION, GL_APPLICATION, RESOURCES, Resource
from sandboxes.oracle_fusion.rest import OracleError, bad, check_value, decimal
from sandboxes.oracle_fusion.store import Record, Store, now
from sandboxes.revenue_schedule import daily_rate_schedule

TRANSACTION_SOURCES = {"Strata Manual": "manual", "Manual": "manual", "Distributed Order Orchestration": "automatic"}
"""Receivables transaction sources and their numbering (manual: the caller gives ``TransactionNumber``)."""
TRANSACTION_TYPES = {"Invoice", "Credit Memo"}
RECEIPT_METHODS = {"Manual", "Check", "Wire"}
BANK_ACCOUNTS = {"10271-17621-619"}
JOURNAL_SOURCES = {"Strata", "Manual", "Spreadsheet"}
JOURNAL_CATEGORIES = {"Adjustment", "Manual", "Accrual"}
ORDER_SOURCE_SYSTEMS = {"STRATA", "OPS"}
CHART = {"1000", "1200", "2200", "4000", "4100", "6000"}
"""Natural accounts (the last segment of an ``AccountCombination``): the NetSuite seed's chart."""
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """Rounded to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Decimal) -> int | float:
    """A decimal as the JSON number Oracle writes (integral amounts without fraction, as in its examples)."""
    return int(value) if value == value.to_integral_value() else float(value)


# -- validation -----------------------------------------------------------------------------------
def validated(resource: Resource, body: Record, *, creating: bool) -> Record:
    """The body's attributes checked against the resource (children too), read-only ones refused."""
    out: Record = {}
    for name, value in body.items():
        if name in resource.children:
            if not creating or not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise bad(f'The child "{name}" is not valid here.', "ADF_REST_CHILD_INVALID")
            out[name] = [validated(resource.children[name], line, creating=True) for line in value]
            continue
        if name == "links":
            continue
        checked = check_value(resource, name, value)
        if name in resource.read_only:
            raise bad(f'The attribute "{name}" is read-only and cannot be set.', "ADF_REST_ATTR_READONLY")
        out[name] = checked
    return out


def _required(body: Record, *names: str) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise bad(f'The attribute "{name}" is required.', "ADF_REST_ATTR_REQUIRED")


# -- set-up lookups -------------------------------------------------------------------------------
def business_unit(store: Store, name: str) -> Record:
    """The business unit named ``name`` (400 when there is none)."""
    found = store.find("finBusinessUnitsLOV", BusinessUnitName=name)
    if not found:
        raise bad(f"The business unit {name} is not valid.", "AR_INVALID_BUSINESS_UNIT")
    return found[0]


def ledger(store: Store, ledger_id: int) -> Record:
    """The ledger with id ``ledger_id``."""
    return store.data["ledgersLOV"][str(ledger_id)]


def require_open(store: Store, ledger_id: int, application: int, day: str, what: str) -> str:
    """The period name containing ``day`` when open (or future-enterable) for the application; else 400."""
    for period in store.find("accountingPeriodStatusLOV", LedgerId=ledger_id, ApplicationId=application):
        if period["StartDate"] <= day <= period["EndDate"]:
            if period["ClosingStatus"] in ("O", "F"):
                return str(period["PeriodNameId"])
            break
    raise bad(f"The {what} {day} isn't in an open or future-enterable accounting period.", "AR_INVALID_GL_DATE")


def customer(store: Store, party_number: str, attribute: str) -> Record:
    """The customer account numbered ``party_number``."""
    found = store.find("accounts", PartyNumber=party_number)
    if not found:
        raise bad(f"The value of the attribute {attribute} isn't valid: {party_number}.", "AR_INVALID_CUSTOMER")
    return found[0]


def _item(store: Store, item_number: str) -> Record:
    found = store.find("itemsV2", ItemNumber=item_number)
    if not found:
        raise bad(f"The item {item_number} isn't valid.", "AR_INVALID_ITEM")
    return found[0]


def _terms_days(terms: str | None) -> int:
    digits = re.search(r"\d+", terms or "")
    return int(digits.group()) if digits else 30


# -- creates ----------------------------------------------------------------------------------------
def create(store: Store, resource: Resource, raw: Record, *, upsert: bool) -> tuple[Record, bool]:
    """POST of a top-level resource; (record, created). ``upsert`` is ``Upsert-Mode: true``."""
    body = validated(resource, raw, creating=True)
    handler = _CREATES.get(resource.name)
    if handler is None or not resource.writable:
        raise OracleError(405, f"The resource {resource.name} does not support POST.", "ADF_REST_METHOD")
    if resource.name == "accounts":
        return _account(store, body, upsert)
    record = handler(store, body)
    record.setdefault("_version", 1)
    store.count_write(resource.name)
    store.put(resource.name, record)
    return record, True


def patch(store: Store, resource: Resource, record: Record, raw: Record) -> Record:
    """PATCH of an item: only accounts and incomplete transactions change here."""
    body = validated(resource, raw, creating=False)
    if resource.name == "receivablesInvoices":
        if record.get("InvoiceStatus") == "Complete" and set(body) - {"InvoiceStatus"}:
            raise bad("You can't update a completed transaction.", "AR_TRX_COMPLETE")
        if body.get("InvoiceStatus") not in (None, "Complete", "Incomplete"):
            raise bad("The invoice status must be Complete or Incomplete.", "AR_INVALID_STATUS")
        if body.get("InvoiceStatus") == "Complete" and record.get("InvoiceStatus") != "Complete":
            # Completing posts the transaction: its accounting date must be in an open period.
            bu = business_unit(store, record["BusinessUnit"])
            day = body.get("AccountingDate") or body.get("TransactionDate") or record["AccountingDate"]
            require_open(store, bu["PrimaryLedgerId"], AR_APPLICATION, day, "accounting date")
            body.setdefault("AccountingDate", day)
    elif resource.name != "accounts":
        raise OracleError(405, f"The resource {resource.name} does not support PATCH here.", "ADF_REST_METHOD")
    if body.get(resource.key_field) not in (None, record.get(resource.key_field)):
        raise bad(f'The attribute "{resource.key_field}" cannot be changed.', "ADF_REST_ATTR_READONLY")
    record.update(body)
    record["_version"] = int(record.get("_version", 1)) + 1
    if "LastUpdateDate" in resource.fields:
        record["LastUpdateDate"] = now()
    store.count_write(resource.name)
    return record


def _account(store: Store, body: Record, upsert: bool) -> tuple[Record, bool]:
    number = body.get("PartyNumber")
    existing = store.find("accounts", PartyNumber=number) if number else []
    if existing:
        if not upsert:
            raise bad(f"An account with the party number {number} already exists.", "HZ_DUP_PARTY_NUMBER")
        return patch(store, RESOURCES["accounts"], existing[0], body), False
    _required(body, "OrganizationName")
    stamp = now()
    record = {
        **{name: None for name in RESOURCES["accounts"].fields},
        **body,
        "PartyId": store.new_id(),
        "PartyNumber": number or store.next_number("PartyNumber", 100000001),
        "Type": body.get("Type") or "ZCA_CUSTOMER",
        "CreationDate": stamp,
        "LastUpdateDate": stamp,
        "_version": 1,
    }
    store.count_write("accounts")
    return store.put("accounts", record), True


def _lines(store: Store, resource: Resource, lines: list[Record], *, item_field: str) -> tuple[list[Record], Decimal]:
    out, total = [], Decimal(0)
    for position, line in enumerate(lines, start=1):
        _required(line, "Quantity", "UnitSellingPrice")
        if line.get(item_field):
            _item(store, str(line[item_field]))
        amount = cents(decimal(line["Quantity"]) * decimal(line["UnitSellingPrice"]))
        total += amount
        out.append(
            {
                **{name: None for name in resource.fields},
                "LineNumber": position,
                **line,
                resource.id_field: store.new_id(),
                "LineAmount": number(amount),
            }
        )
    return out, total


def _transaction(store: Store, resource: Resource, body: Record, *, credit: bool) -> Record:
    _required(body, "BusinessUnit", "TransactionSource", "TransactionType", "BillToCustomerNumber", "TransactionDate")
    bu = business_unit(store, body["BusinessUnit"])
    if TRANSACTION_SOURCES.get(body["TransactionSource"]) is None:
        raise bad(f"The transaction source {body['TransactionSource']} isn't valid.", "AR_INVALID_SOURCE")
    if body["TransactionType"] not in TRANSACTION_TYPES:
        raise bad(f"The transaction type {body['TransactionType']} isn't valid.", "AR_INVALID_TYPE")
    if TRANSACTION_SOURCES[body["TransactionSource"]] == "manual":
        _required(body, "TransactionNumber")
    else:
        body["TransactionNumber"] = store.next_number("TransactionNumber", 10001)
    party = customer(store, body["BillToCustomerNumber"], "BillToCustomerNumber")
    duplicate = [
        r
        for r in store.all("receivablesInvoices") + store.all("receivablesCreditMemos")
        if r["TransactionNumber"] == body["TransactionNumber"]
        and r["TransactionSource"] == body["TransactionSource"]
        and r["BusinessUnit"] == bu["BusinessUnitName"]
    ]
    if duplicate:
        raise bad(
            f"The transaction number {body['TransactionNumber']} already exists for the transaction source "
            f"{body['TransactionSource']}.",
            "AR_DUP_TRX_NUMBER",
        )
    book = ledger(store, bu["PrimaryLedgerId"])
    accounting = body.get("AccountingDate") or body["TransactionDate"]
    require_open(store, book["LedgerId"], AR_APPLICATION, accounting, "accounting date")
    child = "receivablesCreditMemoLines" if credit else "receivablesInvoiceLines"
    if not body.get(child):
        raise bad("The transaction needs at least one line.", "AR_NO_LINES")
    lines, total = _lines(store, resource.children[child], body[child], item_field="ItemNumber")
    if credit and total >= 0:
        raise bad("The credit memo amount must be negative.", "AR_CM_POSITIVE")
    if not credit and total < 0:
        raise bad("The invoice amount must not be negative.", "AR_INV_NEGATIVE")
    stamp = now()
    record = {
        **{name: None for name in resource.fields},
        **body,
        child: lines,
        resource.id_field: store.new_id(),
        "AccountingDate": accounting,
        "EnteredAmount": number(total),
        "BillToCustomerName": party["OrganizationName"],
        "CreationDate": stamp,
    }
    currency_field = "CreditMemoCurrency" if credit else "InvoiceCurrencyCode"
    record[currency_field] = body.get(currency_field) or book["CurrencyCode"]
    if credit:
        record["CreditMemoStatus"] = "Complete"
        if body.get("CreditedTransactionNumber"):
            invoice = next(
                (
                    i
                    for i in store.find(
                        "receivablesInvoices",
                        TransactionNumber=body["CreditedTransactionNumber"],
                        BusinessUnit=bu["BusinessUnitName"],
                    )
                    if i["BillToCustomerNumber"] == party["PartyNumber"]
                ),
                None,
            )
            if invoice is None:
                raise bad(
                    f"The credited transaction {body['CreditedTransactionNumber']} isn't valid.",
                    "AR_INVALID_CREDITED_TRX",
                )
            invoice["InvoiceBalanceAmount"] = number(decimal(invoice["InvoiceBalanceAmount"]) + total)
            invoice["_version"] = int(invoice.get("_version", 1)) + 1
        return record
    terms = body.get("PaymentTerms") or party.get("PaymentTerms") or "30 NET"
    due = dt.date.fromisoformat(body["TransactionDate"]) + dt.timedelta(days=_terms_days(terms))
    record.update(
        {
            "PaymentTerms": terms,
            "DueDate": body.get("DueDate") or due.isoformat(),
            "BillingDate": body.get("BillingDate") or body["TransactionDate"],
            "InvoiceStatus": body.get("InvoiceStatus") or "Complete",
            "InvoiceBalanceAmount": number(total),
            "LastUpdateDate": stamp,
            "LegalEntityIdentifier": _legal_identifier(store, bu),
        }
    )
    return record


def _legal_identifier(store: Store, bu: Record) -> str | None:
    entity = store.data["legalEntitiesLOV"].get(str(bu["LegalEntityId"]))
    return str(entity["LegalEntityIdentifier"]) if entity else None


REVENUE_SCHEDULING_RULES = ("Daily Revenue Rate, Partial Periods",)
"""Revenue scheduling rules set up in the sandbox: Oracle's daily-rate rule over the line's dates."""
INVOICING_RULES = ("In Advance Invoice", "Advance Invoice", "In Arrears Invoice")
RECEIVABLE_ACCOUNT, REVENUE_ACCOUNT = "101.10.12100.000", "101.10.41000.000"


def _distributions(store: Store, record: Record) -> list[Record]:
    """Receivable and revenue distributions, as Revenue Recognition leaves them: a line with a revenue
    scheduling rule gets one revenue distribution per period of its schedule (daily rate, partial periods)."""
    lines = record.get("receivablesInvoiceLines") or []
    ruled = [line for line in lines if line.get("AccountingRule")]
    if ruled and record.get("InvoicingRule") not in INVOICING_RULES:
        raise bad("You must provide an invoicing rule when you provide a revenue scheduling rule.", "AR_NO_INV_RULE")
    total = sum((decimal(line["LineAmount"]) for line in lines), Decimal(0))
    rows = [{"InvoiceLineNumber": None, "AccountClass": "Receivable", "AccountCombination": RECEIVABLE_ACCOUNT,
             "Amount": number(total), "Percent": 100, "AccountingDate": record["AccountingDate"]}]  # fmt: skip
    for line in lines:
        amount = decimal(line["LineAmount"])
        periods = [(dt.date.fromisoformat(record["AccountingDate"]), amount)]
        if line.get("AccountingRule"):
            if line["AccountingRule"] not in REVENUE_SCHEDULING_RULES:
                raise bad(f"The revenue scheduling rule {line['AccountingRule']} isn't valid.", "AR_INVALID_RULE")
            if not line.get("RuleStartDate") or not line.get("RuleEndDate"):
                raise bad("A daily revenue rate rule needs a rule start date and a rule end date.", "AR_RULE_DATES")
            start, end = dt.date.fromisoformat(line["RuleStartDate"]), dt.date.fromisoformat(line["RuleEndDate"])
            periods = daily_rate_schedule(amount, start, end)
        for day, share in periods:
            percent = (share * 100 / amount).quantize(Decimal("0.0001")) if amount else Decimal(0)
            rows.append({"InvoiceLineNumber": line["LineNumber"], "AccountClass": "Revenue",
                         "AccountCombination": REVENUE_ACCOUNT, "Amount": number(share), "Percent": number(percent),
                         "AccountingDate": day.isoformat()})  # fmt: skip
    return [{**row, "DistributionId": store.new_id()} for row in rows]


def _invoice(store: Store, body: Record) -> Record:
    record = _transaction(store, RESOURCES["receivablesInvoices"], body, credit=False)
    record["receivablesInvoiceDistributions"] = _distributions(store, record)
    if record.get("InvoiceStatus") == "Complete":
        # GUESSED: an order's invoice closes it (Oracle closes an order once its lines are fulfilled and
        # invoiced; there is no fulfilment here, so the invoice naming the order in SalesOrder does it).
        named = {
            str(line["SalesOrder"]) for line in record.get("receivablesInvoiceLines") or [] if line.get("SalesOrder")
        }
        for order in store.all("salesOrdersForOrderHub"):
            if str(order["OrderNumber"]) in named and order["StatusCode"] == "OPEN":
                order["StatusCode"] = "CLOSED"
    return record


def _credit_memo(store: Store, body: Record) -> Record:
    return _transaction(store, RESOURCES["receivablesCreditMemos"], body, credit=True)


def _receipt(store: Store, body: Record) -> Record:
    _required(
        body, "ReceiptNumber", "ReceiptMethod", "BusinessUnit", "Amount", "Currency", "RemittanceBankAccountNumber"
    )
    bu = business_unit(store, body["BusinessUnit"])
    if body["ReceiptMethod"] not in RECEIPT_METHODS:
        raise bad(f"The receipt method {body['ReceiptMethod']} isn't valid.", "AR_INVALID_RECEIPT_METHOD")
    if body["RemittanceBankAccountNumber"] not in BANK_ACCOUNTS:
        raise bad("The remittance bank account isn't valid.", "AR_INVALID_REMIT_BANK")
    if decimal(body["Amount"]) <= 0:
        raise bad("The receipt amount must be greater than zero.", "AR_INVALID_AMOUNT")
    if store.find("standardReceipts", ReceiptNumber=body["ReceiptNumber"], BusinessUnit=bu["BusinessUnitName"]):
        raise bad(f"The receipt number {body['ReceiptNumber']} already exists.", "AR_DUP_RECEIPT_NUMBER")
    party = (
        customer(store, body["CustomerAccountNumber"], "CustomerAccountNumber")
        if body.get("CustomerAccountNumber")
        else None
    )
    day = body.get("ReceiptDate") or dt.date.today().isoformat()
    accounting = body.get("AccountingDate") or day
    require_open(store, bu["PrimaryLedgerId"], AR_APPLICATION, accounting, "accounting date")
    amount = str(cents(decimal(body["Amount"])))
    return {
        **{name: None for name in RESOURCES["standardReceipts"].fields},
        **body,
        "StandardReceiptId": store.new_id(),
        "ReceiptDate": day,
        "AccountingDate": accounting,
        "Amount": amount,
        "UnappliedAmount": amount,
        "Status": "UNAPP",
        "State": "CLEARED",
        "CustomerName": party["OrganizationName"] if party else None,
        "RemittanceBankDepositDate": day,
        "MaturityDate": day,
        "RemittanceBankAllowOverride": body.get("RemittanceBankAllowOverride") or "N",
        "receiptApplications": [],
    }


def apply_receipt(store: Store, receipt: Record, raw: Record) -> Record:
    """``standardReceipts/{id}/action/applyReceipt``: apply part of the receipt to one invoice (GUESSED shape)."""
    body = validated(RESOURCES["standardReceipts"].children["receiptApplications"], raw, creating=True)
    _required(body, "TransactionNumber", "AmountApplied")
    amount = cents(decimal(body["AmountApplied"]))
    invoice = next(
        iter(
            store.find(
                "receivablesInvoices", TransactionNumber=body["TransactionNumber"], BusinessUnit=receipt["BusinessUnit"]
            )
        ),
        None,
    )
    if invoice is None or (receipt.get("CustomerAccountNumber") not in (None, invoice["BillToCustomerNumber"])):
        raise bad(f"The transaction {body['TransactionNumber']} isn't valid for this receipt.", "AR_INVALID_TRX")
    if amount <= 0 or amount > decimal(receipt["UnappliedAmount"]):
        raise bad("The amount applied exceeds the unapplied amount of the receipt.", "AR_OVERAPPLY_RECEIPT")
    day = body.get("ApplicationDate") or receipt["ReceiptDate"]
    bu = business_unit(store, receipt["BusinessUnit"])
    require_open(store, bu["PrimaryLedgerId"], AR_APPLICATION, body.get("AccountingDate") or day, "accounting date")
    invoice["InvoiceBalanceAmount"] = number(decimal(invoice["InvoiceBalanceAmount"]) - amount)
    invoice["_version"] = int(invoice.get("_version", 1)) + 1
    unapplied = decimal(receipt["UnappliedAmount"]) - amount
    application = {
        "ReceivableApplicationId": store.new_id(),
        "TransactionNumber": invoice["TransactionNumber"],
        "CustomerTransactionId": invoice["CustomerTransactionId"],
        "AmountApplied": str(amount),
        "ApplicationDate": day,
        "AccountingDate": body.get("AccountingDate") or day,
    }
    receipt["receiptApplications"].append(application)
    receipt.update({"UnappliedAmount": str(cents(unapplied)), "Status": "APP" if unapplied == 0 else "UNAPP"})
    receipt["_version"] = int(receipt.get("_version", 1)) + 1
    store.count_write("standardReceipts/applyReceipt")
    return {"result": "SUCCESS"}


def cancel_order(store: Store, order: Record, raw: Record) -> Record:
    """``salesOrdersForOrderHub/{OrderKey}/action/cancelSalesOrder`` (GUESSED: Oracle documents cancelling
    orders through Order Management, in bulk through Sales Order Action Requests, but no single-order
    action shape was found; name, body ``{"CancelReason"}`` and result are this sandbox's guess).

    An OPEN order becomes CANCELED, keeping the reason; a CANCELED or CLOSED one is refused."""
    unknown = set(raw) - {"CancelReason"}
    if unknown:
        raise bad(f'The attribute "{sorted(unknown)[0]}" is not valid for the action cancelSalesOrder.')
    reason = raw.get("CancelReason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 240):
        raise bad("CancelReason must be text of at most 240 characters.", "ADF_REST_INVALID_VALUE")
    if order["StatusCode"] in ("CANCELED", "CLOSED"):
        raise bad(f"The sales order {order['OrderNumber']} is {order['StatusCode'].lower()} and can't be canceled.",
                  "DOO_ORDER_NOT_CANCELABLE")  # fmt: skip
    order.update(StatusCode="CANCELED", _cancel_reason=reason)
    order["_version"] = int(order.get("_version", 1)) + 1
    store.count_write("salesOrdersForOrderHub/cancelSalesOrder")
    return {"result": "SUCCESS"}


def _journal(store: Store, body: Record) -> Record:
    _required(body, "BatchName", "LedgerName", "AccountingDate", "CurrencyCode", "JournalSource", "JournalCategory")
    book = next(iter(store.find("ledgersLOV", Name=body["LedgerName"])), None)
    if book is None:
        raise bad(f"The ledger {body['LedgerName']} isn't valid.", "GL_INVALID_LEDGER")
    if body["JournalSource"] not in JOURNAL_SOURCES or body["JournalCategory"] not in JOURNAL_CATEGORIES:
        raise bad("The journal source or category isn't valid.", "GL_INVALID_SOURCE")
    if body["CurrencyCode"] != book["CurrencyCode"]:
        raise bad(f"The journal currency must be the ledger currency {book['CurrencyCode']}.", "GL_INVALID_CURRENCY")
    if store.find("journalBatches", BatchName=body["BatchName"], LedgerName=book["Name"]):
        raise bad(f"The batch name {body['BatchName']} already exists.", "GL_DUP_BATCH_NAME")
    period = require_open(store, book["LedgerId"], GL_APPLICATION, body["AccountingDate"], "accounting date")
    lines, debits, credits = [], Decimal(0), Decimal(0)
    for position, line in enumerate(body.get("journalLines") or [], start=1):
        _required(line, "AccountCombination")
        if str(line["AccountCombination"]).rsplit("-", 1)[-1] not in CHART:
            raise bad(f"The account {line['AccountCombination']} isn't valid.", "GL_INVALID_ACCOUNT")
        debit, credit = line.get("EnteredDebitAmount"), line.get("EnteredCreditAmount")
        if (debit is None) == (credit is None):
            raise bad("Enter either a debit or a credit amount on each line.", "GL_DR_CR_BOTH")
        debits, credits = debits + decimal(debit), credits + decimal(credit)
        lines.append(
            {
                **{name: None for name in RESOURCES["journalBatches"].children["journalLines"].fields},
                "JeLineNumber": position,
                **line,
                "JeLineId": store.new_id(),
            }
        )
    if len(lines) < 2:
        raise bad("A journal needs at least two lines.", "GL_TOO_FEW_LINES")
    if cents(debits) != cents(credits):
        raise bad(f"The journal is unbalanced: debits {debits} and credits {credits}.", "GL_UNBALANCED")
    return {
        **{name: None for name in RESOURCES["journalBatches"].fields},
        **body,
        "journalLines": lines,
        "JeBatchId": store.new_id(),
        "AccountingPeriodName": period,
        "Status": "P",
        "PostedDate": dt.date.today().isoformat(),
    }


def _order(store: Store, body: Record) -> Record:
    _required(
        body,
        "SourceTransactionNumber",
        "SourceTransactionSystem",
        "BusinessUnitName",
        "BuyingPartyNumber",
        "TransactionalCurrencyCode",
    )
    business_unit(store, body["BusinessUnitName"])
    if body["SourceTransactionSystem"] not in ORDER_SOURCE_SYSTEMS:
        raise bad(f"The source system {body['SourceTransactionSystem']} isn't valid.", "DOO_INVALID_SOURCE")
    if store.find(
        "salesOrdersForOrderHub",
        SourceTransactionNumber=body["SourceTransactionNumber"],
        SourceTransactionSystem=body["SourceTransactionSystem"],
    ):
        raise bad(
            f"An order with the source transaction number {body['SourceTransactionNumber']} already exists.",
            "DOO_DUP_SOURCE_ORDER",
        )
    party = customer(store, body["BuyingPartyNumber"], "BuyingPartyNumber")
    source_id = body.get("SourceTransactionId") or body["SourceTransactionNumber"]
    if not body.get("lines"):
        raise bad("The order needs at least one line.", "DOO_NO_LINES")
    lines, total = [], Decimal(0)
    for line in body["lines"]:
        _required(line, "SourceTransactionLineId", "ProductNumber", "OrderedQuantity", "UnitSellingPrice")
        _item(store, str(line["ProductNumber"]))
        amount = cents(decimal(line["OrderedQuantity"]) * decimal(line["UnitSellingPrice"]))
        total += amount
        lines.append(
            {
                **{name: None for name in RESOURCES["salesOrdersForOrderHub"].children["lines"].fields},
                **line,
                "LineId": store.new_id(),
                "ExtendedAmount": number(amount),
            }
        )
    return {
        **{name: None for name in RESOURCES["salesOrdersForOrderHub"].fields},
        **body,
        "lines": lines,
        "HeaderId": store.new_id(),
        "OrderNumber": store.next_number("OrderNumber", 520001),
        "BuyingPartyName": party["OrganizationName"],
        "StatusCode": "OPEN",
        "TotalAmount": number(total),
        "TransactionOn": body.get("TransactionOn") or now(),
        "OrderKey": f"{body['SourceTransactionSystem']}:{source_id}",
    }


_CREATES: dict[str, Any] = {
    "receivablesInvoices": _invoice,
    "receivablesCreditMemos": _credit_memo,
    "standardReceipts": _receipt,
    "journalBatches": _journal,
    "salesOrdersForOrderHub": _order,
    "accounts": _account,
}
