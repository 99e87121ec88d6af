"""The simulated account's metadata: record types, their fields and sublists, and the error type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

# Field kinds. A reference is written ``ref:<record type>`` (or ``ref:<fixed list>``).
TEXT, FLOAT, BOOL, DATE, LINE = "text", "float", "bool", "date", "line"

ERROR_TYPES = {
    400: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1", "Bad Request"),
    401: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2", "Unauthorized"),
    403: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.4", "Forbidden"),
    404: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5", "Not Found"),
    405: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6", "Method Not Allowed"),
    409: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.10", "Conflict"),
    415: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.16", "Unsupported Media Type"),
    429: ("https://www.rfc-editor.org/rfc/rfc6585.html#section-4", "Too Many Requests"),
    500: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1", "Internal Server Error"),
    502: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.3", "Bad Gateway"),
    503: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.4", "Service Unavailable"),
    504: ("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.5", "Gateway Timeout"),
}


class NsError(Exception):
    """An error NetSuite answers as ``{"type","title","status","o:errorDetails":[...]}``."""

    def __init__(
        self, status: int, code: str, detail: str, path: str | None = None, *, where: str = "o:errorPath"
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.path, self.where = status, code, detail, path, where

    def body(self) -> dict[str, Any]:
        """The JSON body NetSuite writes for this error."""
        kind, title = ERROR_TYPES.get(self.status, ERROR_TYPES[500 if self.status >= 500 else 400])
        detail: dict[str, Any] = {"detail": self.detail}
        if self.path is not None:
            detail[self.where] = self.path
        detail["o:errorCode"] = self.code
        return {"type": kind, "title": title, "status": self.status, "o:errorDetails": [detail]}

    def encode(self) -> bytes:
        """The body as JSON bytes."""
        return msgspec.json.encode(self.body())


@dataclass(frozen=True)
class RecordType:
    """One record type: body fields (name -> kind), sublists (name -> line fields), required fields."""

    name: str
    fields: dict[str, str]
    required: tuple[str, ...] = ()
    sublists: dict[str, dict[str, str]] = field(default_factory=dict)
    read_only: tuple[str, ...] = ()
    system_generated: bool = False
    """Made by NetSuite itself (revenue recognition schedules): read and searched, never created by a client."""
    posting: bool = False
    """A posting transaction: refused in a closed accounting period."""
    suiteql_type: str | None = None
    """The ``type`` column of the ``transaction`` SuiteQL table (transactions only)."""

    def all_fields(self) -> dict[str, str]:
        """Body fields plus the system fields every record has."""
        return {**SYSTEM_FIELDS, **self.fields}


SYSTEM_FIELDS = {"id": TEXT, "externalId": TEXT, "dateCreated": TEXT, "lastModifiedDate": TEXT}
SYSTEM_READ_ONLY = ("id", "dateCreated", "lastModifiedDate")

FIXED_LISTS: dict[str, dict[str, str]] = {
    "currency": {"1": "USD", "2": "EUR", "3": "GBP", "4": "CHF"},
    "term": {"1": "Due on receipt", "2": "Net 15", "3": "Net 30", "4": "Net 45", "5": "Net 60", "6": "Net 90"},
    "account": {
        "1": "1000 Checking",
        "2": "1200 Accounts Receivable",
        "3": "2200 Deferred Revenue",
        "4": "4000 Subscription Revenue",
        "5": "4100 Services Revenue",
        "6": "6000 Operating Expenses",
    },
}
"""Lists the account has but this sandbox does not serve as records (currencies, terms, chart of accounts)."""

_LINE = {
    "item": "ref:serviceSaleItem",
    "quantity": FLOAT,
    "rate": FLOAT,
    "amount": FLOAT,
    "description": TEXT,
    "revRecStartDate": DATE,
    "revRecEndDate": DATE,
}
"""A transaction's item line; ``revRecStartDate``/``revRecEndDate`` (the Rev Rec Start and End Date
of the line) make NetSuite's revenue recognition schedule run over those dates instead of the
template's period (Schema Browser, ``revrecschedule.amortizationperiod``)."""
_ORDER_LINE = {"line": LINE, **_LINE, "isClosed": BOOL}
"""A sales order's item line: ``line`` is the sublist's key (NetSuite numbers it), ``isClosed``
closes it ("Use Case For Updating Your Sales Order": PATCH ``{"item": {"items": [{"line": 1,
"isclosed": true}]}}`` — Oracle's example writes the field in lower case; the REST record
browser's camel case ``isClosed`` is used here, GUESSED)."""
_SALE = {
    "entity": "ref:customer",
    "subsidiary": "ref:subsidiary",
    "currency": "ref:currency",
    "tranDate": DATE,
    "tranId": TEXT,
    "memo": TEXT,
    "otherRefNum": TEXT,
    "total": FLOAT,
    "status": TEXT,
}

RECORD_TYPES: dict[str, RecordType] = {
    record.name: record
    for record in (
        RecordType(
            "subsidiary",
            {"name": TEXT, "currency": "ref:currency", "country": TEXT, "isInactive": BOOL},
            required=("name",),
        ),
        RecordType(
            "accountingPeriod",
            {"periodName": TEXT, "startDate": DATE, "endDate": DATE, "closed": BOOL, "isQuarter": BOOL, "isYear": BOOL},
            required=("periodName", "startDate", "endDate"),
        ),
        RecordType(
            "customer",
            {
                "entityId": TEXT,
                "companyName": TEXT,
                "subsidiary": "ref:subsidiary",
                "currency": "ref:currency",
                "email": TEXT,
                "phone": TEXT,
                "url": TEXT,
                "vatRegNumber": TEXT,
                "city": TEXT,
                "country": TEXT,
                "parent": "ref:customer",
                "terms": "ref:term",
                "isInactive": BOOL,
                "comments": TEXT,
            },
            required=("companyName", "subsidiary"),
        ),
        RecordType(
            "serviceSaleItem",
            {
                "itemId": TEXT,
                "displayName": TEXT,
                "description": TEXT,
                "basePrice": FLOAT,
                "subsidiary": "ref:subsidiary",
                "isInactive": BOOL,
            },
            required=("itemId",),
        ),
        RecordType(
            "salesOrder",
            _SALE,
            required=("entity",),
            sublists={"item": _ORDER_LINE},
            read_only=("total", "status"),
            suiteql_type="SalesOrd",
        ),
        RecordType(
            "invoice",
            {**_SALE, "createdFrom": "ref:salesOrder", "dueDate": DATE, "amountRemaining": FLOAT},
            required=("entity",),
            sublists={"item": _LINE},
            read_only=("total", "status", "amountRemaining"),
            posting=True,
            suiteql_type="CustInvc",
        ),
        RecordType(
            "creditMemo",
            {**_SALE, "createdFrom": "ref:invoice"},
            required=("entity",),
            sublists={"item": _LINE},
            read_only=("total", "status"),
            posting=True,
            suiteql_type="CustCred",
        ),
        RecordType(
            "customerPayment",
            {
                "customer": "ref:customer",
                "subsidiary": "ref:subsidiary",
                "currency": "ref:currency",
                "tranDate": DATE,
                "tranId": TEXT,
                "memo": TEXT,
                "payment": FLOAT,
            },
            required=("customer", "payment"),
            sublists={"apply": {"doc": "ref:invoice", "amount": FLOAT, "apply": BOOL}},
            posting=True,
            suiteql_type="CustPymt",
        ),
        RecordType(
            "journalEntry",
            {
                "subsidiary": "ref:subsidiary",
                "currency": "ref:currency",
                "tranDate": DATE,
                "tranId": TEXT,
                "memo": TEXT,
            },
            required=("subsidiary",),
            sublists={"line": {"account": "ref:account", "debit": FLOAT, "credit": FLOAT, "memo": TEXT}},
            posting=True,
            suiteql_type="Journal",
        ),
        RecordType(
            "revRecSchedule",
            {
                "name": TEXT,
                "sourceTran": "ref:invoice",
                "entity": "ref:customer",
                "item": "ref:serviceSaleItem",
                "revRecStartDate": DATE,
                "revRecEndDate": DATE,
                "totalAmount": FLOAT,
            },
            sublists={
                "recurrence": {
                    "postingPeriod": "ref:accountingPeriod",
                    "incomeAccount": "ref:account",
                    "amount": FLOAT,
                    "jdate": DATE,
                }
            },
            read_only=("name", "sourceTran", "entity", "item", "revRecStartDate", "revRecEndDate", "totalAmount"),
            system_generated=True,
        ),
    )
}
"""``revRecSchedule``: the Revenue Recognition Schedule NetSuite generates for an item line sold with
a template (Help Center "Revenue Recognition Schedule": system-generated, read and searched only).
Its ``recurrence`` sublist holds the amount of each posting period. Field names beyond the schedule's
internal ids are GUESSED from the Schema Browser's ``revrecschedule`` and ``recurrence`` entries."""

TRANSFORMS = {("salesOrder", "invoice"), ("invoice", "creditMemo"), ("invoice", "customerPayment")}
"""(source, target) pairs ``!transform`` serves."""


def get_record_type(name: str) -> RecordType:
    """The record type, or 404 as NetSuite answers an unknown record type."""
    found = RECORD_TYPES.get(name) or next((r for r in RECORD_TYPES.values() if r.name.lower() == name.lower()), None)
    if found is None:
        raise NsError(404, "NONEXISTENT_ID", f"Record type '{name}' does not exist.")
    return found
