"""The entities the Business Central sandbox serves: properties, kinds, navigation, actions, errors.

Property kinds: ``guid``, ``text:<n>`` (case kept), ``code:<n>`` (BC's Code fields: compared
case-insensitively), ``decimal``, ``int``, ``bool``, ``date`` (``YYYY-MM-DD``), ``datetime``.
Read-only properties are computed by the sandbox; writing one answers 400
``BadRequest`` as BC does for a non-editable field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec


class BcError(Exception):
    """An error BC answers as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body BC writes for this error."""
        return {"error": {"code": self.code, "message": self.message}}

    def encode(self) -> bytes:
        """The body as JSON bytes."""
        return msgspec.json.encode(self.body())


def not_found(segment: str) -> BcError:
    """BC's answer for an unknown key or entity set."""
    return BcError(404, "BadRequest_NotFound", f"The specified resource was not found for the segment '{segment}'.")


def property_not_found(name: str, type_name: str) -> BcError:
    """BC's answer for an unknown property (in a body, ``$select``, ``$filter`` or ``$expand``)."""
    return BcError(
        400,
        "BadRequest_PropertyNotFound",
        f"Could not find a property named '{name}' on type 'Microsoft.NAV.{type_name}'.",
    )


def dialog(message: str) -> BcError:
    """An AL ``Error()`` raised by business logic (posting rules and the like)."""
    return BcError(400, "Application_DialogException", message)


@dataclass(frozen=True)
class Entity:
    """One entity set: ``name`` in URLs, ``type_name`` in ``@odata.context`` / errors."""

    name: str
    type_name: str
    fields: dict[str, str]
    read_only: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()
    navigation: dict[str, str] = field(default_factory=dict)
    """Navigation property -> entity set name of its lines (expandable, deep-insertable)."""
    actions: tuple[str, ...] = ()
    """Bound actions (``Microsoft.NAV.<name>``)."""
    writable: bool = True
    """Whether POST/PATCH/DELETE are allowed at all."""


_STAMP = {"lastModifiedDateTime": "datetime"}
_LINE = {
    "id": "guid",
    "documentId": "guid",
    "sequence": "int",
    "itemId": "guid",
    "lineType": "text:20",
    "lineObjectNumber": "code:20",
    "description": "text:100",
    "quantity": "decimal",
    "unitPrice": "decimal",
    "discountAmount": "decimal",
    "amountExcludingTax": "decimal",
    "totalTaxAmount": "decimal",
    "amountIncludingTax": "decimal",
    "netAmount": "decimal",
}
_LINE_RO = frozenset({"id", "documentId", "amountExcludingTax", "totalTaxAmount", "amountIncludingTax", "netAmount"})
_DOCUMENT = {
    "id": "guid",
    "number": "code:20",
    "externalDocumentNumber": "code:35",
    "postingDate": "date",
    "customerId": "guid",
    "customerNumber": "code:20",
    "customerName": "text:100",
    "currencyCode": "code:10",
    "discountAmount": "decimal",
    "totalAmountExcludingTax": "decimal",
    "totalTaxAmount": "decimal",
    "totalAmountIncludingTax": "decimal",
    "status": "text:20",
    **_STAMP,
}
_DOCUMENT_RO = frozenset(
    {"id", "number", "customerName", "totalAmountExcludingTax", "totalTaxAmount", "totalAmountIncludingTax", "status"}
    | set(_STAMP)
)

ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            "customers",
            "customer",
            {
                "id": "guid",
                "number": "code:20",
                "displayName": "text:100",
                "type": "text:20",
                "addressLine1": "text:100",
                "addressLine2": "text:50",
                "city": "text:30",
                "state": "text:30",
                "country": "code:10",
                "postalCode": "code:20",
                "phoneNumber": "text:30",
                "email": "text:80",
                "website": "text:80",
                "taxLiable": "bool",
                "taxRegistrationNumber": "text:20",
                "currencyId": "guid",
                "currencyCode": "code:10",
                "paymentTermsId": "guid",
                "blocked": "text:20",
                "balanceDue": "decimal",
                "creditLimit": "decimal",
                **_STAMP,
            },
            frozenset({"id", "balanceDue", "currencyId", *_STAMP}),
            ("displayName",),
        ),
        Entity(
            "items",
            "item",
            {
                "id": "guid",
                "number": "code:20",
                "displayName": "text:100",
                "displayName2": "text:50",
                "type": "text:20",
                "itemCategoryCode": "code:20",
                "blocked": "bool",
                "gtin": "code:14",
                "unitPrice": "decimal",
                "unitCost": "decimal",
                "priceIncludesTax": "bool",
                "baseUnitOfMeasureCode": "code:10",
                "inventory": "decimal",
                **_STAMP,
            },
            frozenset({"id", "inventory", *_STAMP}),
            ("displayName",),
        ),
        Entity(
            "salesOrders",
            "salesOrder",
            {**_DOCUMENT, "orderDate": "date", "fullyShipped": "bool"},
            _DOCUMENT_RO | {"fullyShipped"},
            ("customerId",),
            {"salesOrderLines": "salesOrderLines"},
            ("shipAndInvoice",),
        ),
        Entity("salesOrderLines", "salesOrderLine", _LINE, _LINE_RO),
        Entity(
            "salesInvoices",
            "salesInvoice",
            {
                **_DOCUMENT,
                "invoiceDate": "date",
                "dueDate": "date",
                "orderId": "guid",
                "orderNumber": "code:20",
                "remainingAmount": "decimal",
            },
            _DOCUMENT_RO | {"orderId", "orderNumber", "remainingAmount"},
            ("customerId",),
            {"salesInvoiceLines": "salesInvoiceLines"},
            ("post", "cancel"),
        ),
        Entity("salesInvoiceLines", "salesInvoiceLine", _LINE, _LINE_RO),
        Entity(
            "salesCreditMemos",
            "salesCreditMemo",
            {
                **_DOCUMENT,
                "creditMemoDate": "date",
                "dueDate": "date",
                "invoiceId": "guid",
                "invoiceNumber": "code:20",
            },
            _DOCUMENT_RO | {"invoiceNumber"},
            ("customerId",),
            {"salesCreditMemoLines": "salesCreditMemoLines"},
            ("post",),
        ),
        Entity("salesCreditMemoLines", "salesCreditMemoLine", _LINE, _LINE_RO),
        Entity(
            "customerPaymentJournals",
            "customerPaymentJournal",
            {
                "id": "guid",
                "code": "code:10",
                "displayName": "text:100",
                "balancingAccountId": "guid",
                "balancingAccountNumber": "code:20",
                **_STAMP,
            },
            frozenset({"id", "balancingAccountNumber", *_STAMP}),
            ("code",),
            {"customerPayments": "customerPayments"},
        ),
        Entity(
            "customerPayments",
            "customerPayment",
            {
                "id": "guid",
                "journalId": "guid",
                "journalDisplayName": "text:100",
                "lineNumber": "int",
                "customerId": "guid",
                "customerNumber": "code:20",
                "postingDate": "date",
                "documentNumber": "code:20",
                "externalDocumentNumber": "code:35",
                "amount": "decimal",
                "appliesToInvoiceId": "guid",
                "appliesToInvoiceNumber": "code:20",
                "description": "text:100",
                "comment": "text:250",
                **_STAMP,
            },
            frozenset({"id", "journalId", "journalDisplayName", *_STAMP}),
        ),
        Entity(
            "journals",
            "journal",
            {
                "id": "guid",
                "code": "code:10",
                "displayName": "text:100",
                "templateDisplayName": "text:100",
                "balancingAccountId": "guid",
                "balancingAccountNumber": "code:20",
                **_STAMP,
            },
            frozenset({"id", "templateDisplayName", "balancingAccountNumber", *_STAMP}),
            ("code",),
            {"journalLines": "journalLines"},
            ("post",),
        ),
        Entity(
            "journalLines",
            "journalLine",
            {
                "id": "guid",
                "journalId": "guid",
                "journalDisplayName": "text:100",
                "lineNumber": "int",
                "accountType": "text:20",
                "accountId": "guid",
                "accountNumber": "code:20",
                "postingDate": "date",
                "documentNumber": "code:20",
                "externalDocumentNumber": "code:35",
                "amount": "decimal",
                "description": "text:100",
                "comment": "text:250",
                **_STAMP,
            },
            frozenset({"id", "journalId", "journalDisplayName", *_STAMP}),
        ),
        Entity(
            "generalLedgerEntries",
            "generalLedgerEntry",
            {
                "id": "guid",
                "entryNumber": "int",
                "postingDate": "date",
                "documentNumber": "code:20",
                "documentType": "text:20",
                "accountId": "guid",
                "accountNumber": "code:20",
                "description": "text:100",
                "debitAmount": "decimal",
                "creditAmount": "decimal",
                **_STAMP,
            },
            writable=False,
        ),
        Entity(
            "accountingPeriods",
            "accountingPeriod",
            {
                "id": "guid",
                "startingDate": "date",
                "name": "text:10",
                "newFiscalYear": "bool",
                "closed": "bool",
                "dateLocked": "bool",
                **_STAMP,
            },
            writable=False,
        ),
        Entity(
            "accounts",
            "account",
            {
                "id": "guid",
                "number": "code:20",
                "displayName": "text:100",
                "category": "text:20",
                "subCategory": "text:80",
                "blocked": "bool",
                "accountType": "text:20",
                "directPosting": "bool",
                **_STAMP,
            },
            writable=False,
        ),
        Entity(
            "paymentTerms",
            "paymentTerm",
            {
                "id": "guid",
                "code": "code:10",
                "displayName": "text:100",
                "dueDateCalculation": "text:20",
                "discountDateCalculation": "text:20",
                "discountPercent": "decimal",
                "calculateDiscountOnCreditMemos": "bool",
                **_STAMP,
            },
            writable=False,
        ),
        Entity(
            "companyInformation",
            "companyInformation",
            {
                "id": "guid",
                "displayName": "text:100",
                "addressLine1": "text:100",
                "city": "text:30",
                "country": "code:10",
                "postalCode": "code:20",
                "phoneNumber": "text:30",
                "email": "text:80",
                "website": "text:80",
                "taxRegistrationNumber": "text:20",
                "currencyCode": "code:10",
                "currentFiscalYearStartDate": "date",
                **_STAMP,
            },
            writable=False,
        ),
    )
}
"""Entity sets served under ``companies(<id>)/``."""

LINE_SETS = frozenset(set().union(*(e.navigation.values() for e in ENTITIES.values())))
"""Entity sets reached only through their document (navigation), never at the company root."""
TOP_LEVEL = [name for name in ENTITIES if name not in LINE_SETS]

COMPANY = Entity(
    "companies",
    "company",
    {"id": "guid", "systemVersion": "text:30", "timestamp": "int", "name": "text:30", "displayName": "text:250",
     "businessProfileId": "text:250", "systemCreatedAt": "datetime", "systemModifiedAt": "datetime"},
    writable=False,
)  # fmt: skip
