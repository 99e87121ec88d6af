"""AvaTax models ↔ canonical tax objects: the only place their field names meet ours.

Vendor transactions arrive decoded with non-integer numbers as :class:`~decimal.Decimal`.
Anything a canonical object requires but the transaction lacks raises
UpstreamContractViolation; unknown vendor fields are ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from apis.canonical import (
    Address,
    Money,
    TaxDetail,
    TaxLine,
    TaxQuote,
    TaxQuoteRequest,
    TaxTransaction,
    TaxTransactionCreate,
)
from core.errors import UpstreamContractViolation

CENT = Decimal("0.01")
DOCUMENT_TYPES = {
    ("sale", False): "SalesOrder",
    ("return", False): "ReturnOrder",
    ("sale", True): "SalesInvoice",
    ("return", True): "ReturnInvoice",
}
"""(kind, recorded) → AvaTax document type."""
KINDS = {"SalesOrder": "sale", "SalesInvoice": "sale", "ReturnOrder": "return", "ReturnInvoice": "return"}
STATUSES = {"Saved": "uncommitted", "Posted": "uncommitted", "Committed": "committed", "Cancelled": "voided"}
ADJUSTMENT_REASONS = {
    "price_adjusted": "PriceAdjusted",
    "product_returned": "ProductReturned",
    "product_exchanged": "ProductExchanged",
    "bad_debt": "BadDebt",
    "sourcing_issue": "SourcingIssue",
    "reconciled_with_ledger": "ReconciledWithGeneralLedger",
    "exemption_applied": "ExemptCertApplied",
    "offline": "Offline",
    "other": "Other",
}
ADJUSTMENT_REASONS_BACK = {vendor: canonical for canonical, vendor in ADJUSTMENT_REASONS.items()}
VOID_REASONS = {
    "unspecified": "Unspecified",
    "post_failed": "PostFailed",
    "document_deleted": "DocDeleted",
    "document_voided": "DocVoided",
    "adjustment_cancelled": "AdjustmentCancelled",
}
JURISDICTION_TYPES = {
    "country": "country", "cnt": "country", "state": "state", "sta": "state", "county": "county", "cty": "county",
    "city": "city", "cit": "city", "special": "special", "stj": "special",
}  # fmt: skip
"""AvaTax ``jurisdictionType`` (or the short ``jurisType`` id), lower-cased → canonical."""

ADDRESS_FIELDS = {
    "line1": "line1",
    "line2": "line2",
    "city": "city",
    "region": "region",
    "postalCode": "postal_code",
    "country": "country",
}
MODEL_FIELDS = {
    "companyCode": "company", "customerCode": "customer_id", "date": "date", "currencyCode": "currency",
    "businessIdentificationNo": "buyer_tax_id", "code": "code", "type": "kind", "lines": "lines",
    "addresses": "ship_to", "addresses.shipTo": "ship_to", "addresses.singleLocation": "ship_to",
    "addresses.shipFrom": "ship_from",
}  # fmt: skip
LINE_FIELDS = {
    "amount": "amount",
    "quantity": "quantity",
    "number": "number",
    "itemCode": "product_code",
    "taxCode": "tax_code",
    "description": "description",
}
_LINE = re.compile(r"^lines\[(\d+)\](?:\.(\w+))?$")


# -- canonical → AvaTax --------------------------------------------------------------------------
def _address(address: Address) -> dict[str, Any]:
    values = {vendor: getattr(address, ours) for vendor, ours in ADDRESS_FIELDS.items()}
    return {key: value for key, value in values.items() if value is not None}


def to_model(request: TaxQuoteRequest, *, code: str | None, recorded: bool) -> dict[str, Any]:
    """A CreateTransactionModel: an order (estimate) or, when ``recorded``, a committed invoice."""
    addresses = {"shipTo": _address(request.ship_to)}
    if request.ship_from is not None:
        addresses["shipFrom"] = _address(request.ship_from)
    model: dict[str, Any] = {
        "type": DOCUMENT_TYPES[(request.kind, recorded)],
        "companyCode": request.company,
        "date": request.date.isoformat(),
        "customerCode": request.customer_id,
        "currencyCode": request.currency,
        "commit": recorded,
        "addresses": addresses,
        "lines": [
            {
                "number": line.number or str(index + 1),
                "quantity": Decimal(line.quantity),
                "amount": line.amount.decimal(),
                **({"itemCode": line.product_code} if line.product_code else {}),
                **({"taxCode": line.tax_code} if line.tax_code else {}),
                **({"description": line.description} if line.description else {}),
            }
            for index, line in enumerate(request.lines)
        ],
    }
    if code is not None:
        model["code"] = code
    if request.buyer_tax_id:
        model["businessIdentificationNo"] = request.buyer_tax_id
    return model


def to_transaction_model(create: TaxTransactionCreate) -> dict[str, Any]:
    """The committed invoice (or return invoice) model of a transaction to record."""
    return to_model(create, code=create.code, recorded=True)


def document_type(kind: str | None) -> str | None:
    """AvaTax ``documentType`` of a recorded document of this kind (``None``: let AvaTax pick)."""
    return DOCUMENT_TYPES[(kind, True)] if kind else None


def pointer_for(refers_to: str | None, prefix: str = "") -> str | None:
    """JSON Pointer into our request body for AvaTax's ``refersTo`` (``None`` when it maps to nothing)."""
    if not refers_to:
        return None
    line = _LINE.match(refers_to)
    if line:
        index, name = line[1], line[2]
        if name is None:
            return f"{prefix}/lines/{index}"
        return f"{prefix}/lines/{index}/{LINE_FIELDS[name]}" if name in LINE_FIELDS else None
    if refers_to in MODEL_FIELDS:
        return f"{prefix}/{MODEL_FIELDS[refers_to]}"
    head, _, name = refers_to.rpartition(".")
    if head in MODEL_FIELDS and name in ADDRESS_FIELDS:
        return f"{prefix}/{MODEL_FIELDS[head]}/{ADDRESS_FIELDS[name]}"
    return None


# -- AvaTax → canonical --------------------------------------------------------------------------
def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise UpstreamContractViolation(f"AvaTax {name} is not a number: {value!r}")
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise UpstreamContractViolation(f"AvaTax {name} is not a number: {value!r}") from None


def _money(value: Any, currency: str, name: str) -> Money:
    return Money.of(_decimal(value if value is not None else 0, name).quantize(CENT), currency)


def _text(value: Any) -> str:
    number = _decimal(value, "quantity").normalize()
    return format(number.quantize(Decimal(1)) if number == number.to_integral() else number, "f")


def _rate(value: Any) -> str:
    rate = _decimal(value if value is not None else 0, "rate").normalize()
    return format(rate, "f")


def _is_reverse_charge(item: dict[str, Any]) -> bool:
    return (
        str(item.get("rateType") or "").lower() == "reversecharge"
        or "REVERSE CHARGE" in str(item.get("taxName") or "").upper()
    )


def to_detail(item: dict[str, Any], currency: str, *, taxable_key: str, tax_key: str = "tax") -> TaxDetail:
    """An AvaTax line detail (``taxableAmount``) or summary entry (``taxable``) → TaxDetail."""
    if not isinstance(item, dict) or not item.get("country"):
        raise UpstreamContractViolation("AvaTax tax detail lacks 'country'")
    kind = str(item.get("jurisdictionType") or item.get("jurisType") or "").lower()
    return TaxDetail(
        jurisdiction=str(item.get("jurisName") or item.get("jurisCode") or item["country"]),
        jurisdiction_type=JURISDICTION_TYPES.get(kind, "other"),  # type: ignore[arg-type]
        jurisdiction_code=item.get("jurisCode") or None,
        country=str(item["country"]),
        region=item.get("region") or None,
        tax_name=item.get("taxName") or None,
        rate=_rate(item.get("rate")),
        taxable=_money(item.get(taxable_key), currency, taxable_key),
        tax=_money(item.get(tax_key), currency, tax_key),
        reverse_charge=_is_reverse_charge(item),
    )


def to_line(item: dict[str, Any], currency: str) -> TaxLine:
    """An AvaTax TransactionLineModel → TaxLine."""
    if not isinstance(item, dict) or item.get("lineNumber") is None or item.get("lineAmount") is None:
        raise UpstreamContractViolation("AvaTax transaction line lacks 'lineNumber' or 'lineAmount'")
    details = item.get("details") or []
    if not isinstance(details, list):
        raise UpstreamContractViolation("AvaTax line details is not a list")
    return TaxLine(
        number=str(item["lineNumber"]),
        product_code=item.get("itemCode") or None,
        tax_code=item.get("taxCode") or None,
        quantity=_text(item.get("quantity", 1)),
        amount=_money(item["lineAmount"], currency, "lineAmount"),
        taxable=_money(item.get("taxableAmount"), currency, "taxableAmount"),
        tax=_money(item.get("tax"), currency, "tax"),
        details=[to_detail(d, currency, taxable_key="taxableAmount") for d in details],
    )


def _common(body: dict[str, Any], request_currency: str | None) -> dict[str, Any]:
    currency = body.get("currencyCode") or request_currency
    if not currency:
        raise UpstreamContractViolation("AvaTax transaction lacks 'currencyCode'")
    lines = [to_line(line, currency) for line in body["lines"]]
    summary = body.get("summary") or []
    if not isinstance(summary, list):
        raise UpstreamContractViolation("AvaTax summary is not a list")
    details = [to_detail(entry, currency, taxable_key="taxable") for entry in summary]
    try:
        day = dt.date.fromisoformat(str(body.get("date"))[:10])
    except ValueError:
        raise UpstreamContractViolation(f"AvaTax transaction date is not a date: {body.get('date')!r}") from None
    kind = KINDS.get(str(body.get("type")))
    if kind is None:
        raise UpstreamContractViolation(f"AvaTax transaction type is unknown: {body.get('type')!r}")
    return {
        "company": str(body.get("companyCode") or ""),
        "customer_id": str(body.get("customerCode") or ""),
        "date": day,
        "kind": kind,
        "total_amount": _money(body["totalAmount"], currency, "totalAmount"),
        "total_taxable": _money(body.get("totalTaxable"), currency, "totalTaxable"),
        "total_tax": _money(body["totalTax"], currency, "totalTax"),
        "reverse_charge": any(d.reverse_charge for line in lines for d in line.details),
        "lines": lines,
        "summary": details,
    }


def to_quote(body: dict[str, Any], request: TaxQuoteRequest) -> TaxQuote:
    """An AvaTax estimate (order) → TaxQuote (company and customer as asked, when AvaTax omits them)."""
    values = _common(body, request.currency)
    values["company"] = values["company"] or request.company
    values["customer_id"] = values["customer_id"] or request.customer_id
    return TaxQuote(**values)


def to_transaction(body: dict[str, Any], company: str | None = None) -> TaxTransaction:
    """An AvaTax recorded document → TaxTransaction."""
    values = _common(body, None)
    values["company"] = values["company"] or company or ""
    if not values["company"]:
        raise UpstreamContractViolation("AvaTax transaction lacks 'companyCode'")
    status = STATUSES.get(str(body.get("status")))
    if status is None:
        raise UpstreamContractViolation(f"AvaTax transaction status is unknown: {body.get('status')!r}")
    version = body.get("version", 1)
    reason = body.get("adjustmentReason")
    return TaxTransaction(
        **values,
        code=str(body["code"]),
        status=status,  # type: ignore[arg-type]
        version=version if isinstance(version, int) and not isinstance(version, bool) else 1,
        buyer_tax_id=body.get("businessIdentificationNo") or None,
        adjustment_reason=ADJUSTMENT_REASONS_BACK.get(reason) if reason else None,  # type: ignore[arg-type]
        adjustment_description=body.get("adjustmentDescription") or None,
    )
