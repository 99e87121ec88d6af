"""CreateTransactionModel in, TransactionModel out: validation and tax calculation.

A model arrives as decoded JSON (numbers as :class:`~decimal.Decimal`). :func:`validate`
checks it the way AvaTax reports errors (one error, naming the field in ``refersTo``);
:func:`calculate` turns it into the TransactionModel the sandbox stores and answers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sandboxes.avalara import rates
from sandboxes.avalara.errors import AvaError

DOCUMENT_TYPES = ("SalesOrder", "SalesInvoice", "ReturnOrder", "ReturnInvoice")
SAVED_TYPES = ("SalesInvoice", "ReturnInvoice")
"""Types whose documents are saved; orders are estimates (status ``Temporary``, never stored)."""
ADDRESS_KEYS = ("singleLocation", "shipFrom", "shipTo", "pointOfOrderOrigin", "pointOfOrderAcceptance")
LIMITS = {"code": 50, "companyCode": 25, "customerCode": 50, "currencyCode": 3, "businessIdentificationNo": 25}
JURIS_TYPE_IDS = {"Country": "CNT", "State": "STA", "County": "CTY", "City": "CIT", "Special": "STJ"}
"""AvaTax's short jurisdiction type ids (``details[].jurisType``)."""
LINE_LIMITS = {"number": 50, "itemCode": 50, "taxCode": 25, "description": 2096}


def _text(model: dict[str, Any], name: str, path: str, *, required: bool = False, limit: int | None = None) -> str:
    value = model.get(name)
    if value is None or value == "":
        if required:
            raise AvaError(400, "ValueRequiredError", f"Field '{name}' is required.", refers_to=path)
        return ""
    if not isinstance(value, str):
        raise AvaError(400, "InvalidParameterValue", f"Field '{name}' has an invalid value.", refers_to=path)
    if limit is not None and len(value) > limit:
        message = f"Field '{name}' has an invalid length; it must be at most {limit} characters."
        raise AvaError(400, "InvalidParameterValue", message, refers_to=path)
    return value


def _number(value: Any, name: str, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise AvaError(400, "InvalidParameterValue", f"Field '{name}' is not a number.", refers_to=path)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise AvaError(400, "InvalidParameterValue", f"Field '{name}' is not a number.", refers_to=path) from None
    if not number.is_finite() or abs(number) >= Decimal("1e13"):
        raise AvaError(400, "InvalidParameterValue", f"Field '{name}' is out of range.", refers_to=path)
    return number


def validate(model: Any, companies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A CreateTransactionModel checked and normalised (amounts as Decimal, addresses resolved).

    Raises:
        AvaError: the first problem, as AvaTax reports it.
    """
    if not isinstance(model, dict):
        raise AvaError(400, "ValidationException", "The model is required.", refers_to="model")
    doc_type = _text(model, "type", "type") or "SalesOrder"
    if doc_type not in DOCUMENT_TYPES:
        message = f"Field 'type' must be one of {', '.join(DOCUMENT_TYPES)}."
        raise AvaError(400, "InvalidParameterValue", message, refers_to="type")
    company_code = _text(model, "companyCode", "companyCode", limit=LIMITS["companyCode"]) or "DEFAULT"
    company = companies.get(company_code.upper())
    if company is None:
        raise AvaError(404, "EntityNotFoundError", f"Company '{company_code}' not found.", refers_to="companyCode")
    code = _text(model, "code", "code", limit=LIMITS["code"])
    if doc_type in SAVED_TYPES and not code:
        raise AvaError(400, "ValueRequiredError", "Field 'code' is required.", refers_to="code")
    customer = _text(model, "customerCode", "customerCode", required=True, limit=LIMITS["customerCode"])
    raw_date = _text(model, "date", "date", required=True)
    try:
        day = dt.date.fromisoformat(raw_date[:10])
    except ValueError:
        raise AvaError(
            400, "InvalidParameterValue", f"Field 'date' has an invalid value: {raw_date}", refers_to="date"
        ) from None
    currency = (_text(model, "currencyCode", "currencyCode", limit=3) or company["currency"]).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise AvaError(
            400, "InvalidParameterValue", "Field 'currencyCode' is not an ISO 4217 code.", refers_to="currencyCode"
        )
    vat_id = _text(
        model, "businessIdentificationNo", "businessIdentificationNo", limit=LIMITS["businessIdentificationNo"]
    )
    commit = model.get("commit", False)
    if not isinstance(commit, bool):
        raise AvaError(400, "InvalidParameterValue", "Field 'commit' must be a boolean.", refers_to="commit")
    ship_from, ship_to = _addresses(model.get("addresses"), company)
    lines = model.get("lines")
    if not isinstance(lines, list) or not lines:
        raise AvaError(400, "MissingLine", "A transaction must have at least one line.", refers_to="lines")
    clean_lines = [_line(line, index) for index, line in enumerate(lines)]
    numbers = [line["number"] for line in clean_lines]
    if len(set(numbers)) != len(numbers):
        raise AvaError(400, "InvalidParameterValue", "Line numbers must be unique.", refers_to="lines")
    return {
        "type": doc_type,
        "code": code,
        "companyCode": company["companyCode"],
        "customerCode": customer,
        "date": day.isoformat(),
        "currencyCode": currency,
        "businessIdentificationNo": vat_id or None,
        "commit": commit,
        "shipFrom": ship_from,
        "shipTo": ship_to,
        "lines": clean_lines,
        "description": model.get("description") if isinstance(model.get("description"), str) else None,
    }


def _line(line: Any, index: int) -> dict[str, Any]:
    path = f"lines[{index}]"
    if not isinstance(line, dict):
        raise AvaError(400, "InvalidParameterValue", "A line must be an object.", refers_to=path)
    number = line.get("number", str(index + 1))
    if isinstance(number, int) and not isinstance(number, bool):
        number = str(number)
    clean: dict[str, Any] = {
        "number": _text({"number": number}, "number", f"{path}.number", limit=50) or str(index + 1)
    }
    for name in ("itemCode", "taxCode", "description"):
        clean[name] = _text(line, name, f"{path}.{name}", limit=LINE_LIMITS[name]) or None
    if line.get("amount") is None:
        raise AvaError(400, "ValueRequiredError", "Field 'amount' is required.", refers_to=f"{path}.amount")
    clean["amount"] = _number(line["amount"], "amount", f"{path}.amount")
    clean["quantity"] = _number(line.get("quantity", 1), "quantity", f"{path}.quantity")
    return clean


def _addresses(addresses: Any, company: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ship from, ship to), both resolved; ``singleLocation`` means both are the same place."""
    if not isinstance(addresses, dict) or not any(addresses.get(key) for key in ADDRESS_KEYS):
        raise AvaError(400, "ValueRequiredError", "Field 'addresses' is required.", refers_to="addresses")
    if addresses.get("singleLocation"):
        single = _address(addresses["singleLocation"], "addresses.singleLocation")
        return single, single
    ship_to = addresses.get("shipTo")
    if not ship_to:
        raise AvaError(400, "ValueRequiredError", "Field 'addresses.shipTo' is required.", refers_to="addresses.shipTo")
    origin = (
        _address(addresses["shipFrom"], "addresses.shipFrom") if addresses.get("shipFrom") else dict(company["address"])
    )
    return origin, _address(ship_to, "addresses.shipTo")


def _address(address: Any, path: str) -> dict[str, Any]:
    if not isinstance(address, dict):
        raise AvaError(400, "InvalidParameterValue", "An address must be an object.", refers_to=path)
    clean = {
        name: _text(address, name, f"{path}.{name}", limit=100) or None
        for name in ("line1", "line2", "line3", "city", "region", "postalCode", "country")
    }
    country = (clean["country"] or "").upper()
    if not country:
        raise AvaError(
            400,
            "AddressIncomplete",
            "The address value was incomplete.",
            description=f"The address value '{path}.country' was incomplete. A country is required.",
            refers_to=f"{path}.country",
        )
    clean["country"] = country
    if country == "US":
        region = rates.us_region(clean["region"])
        for name, present in (("region", region), ("postalCode", clean["postalCode"])):
            if not present:
                description = (
                    f"The address value '{path}.{name}' was incomplete. A US address needs a region (state) "
                    "and a postal code."
                )
                raise AvaError(
                    400,
                    "AddressIncomplete",
                    "The address value was incomplete.",
                    description=description,
                    refers_to=f"{path}.{name}",
                )
        clean["region"] = region
    return clean


def calculate(model: dict[str, Any], company: dict[str, Any], *, transaction_id: int, status: str) -> dict[str, Any]:
    """The TransactionModel for a validated model."""
    taxes = rates.jurisdictions(company["address"]["country"], model["shipTo"], model["businessIdentificationNo"])
    lines: list[dict[str, Any]] = []
    summary: dict[tuple[str, ...], dict[str, Any]] = {}
    for index, line in enumerate(model["lines"]):
        line_id = transaction_id * 100 + index
        amount = line["amount"]  # returns carry negative amounts, as AvaTax expects; no sign is flipped
        details = [_detail(juris, amount, line_id * 10 + n) for n, juris in enumerate(taxes)]
        for juris, detail in zip(taxes, details, strict=True):
            _add_to_summary(summary, juris, amount, detail["tax"])
        line_tax = sum((detail["tax"] for detail in details), Decimal(0))
        lines.append(
            {
                "id": line_id,
                "transactionId": transaction_id,
                "lineNumber": line["number"],
                "itemCode": line["itemCode"] or "",
                "taxCode": line["taxCode"] or "P0000000",
                "description": line["description"] or "",
                "quantity": line["quantity"],
                "lineAmount": amount,
                "taxableAmount": amount if details else Decimal(0),
                "exemptAmount": Decimal(0) if details else amount,
                "tax": line_tax,
                "taxCalculated": line_tax,
                "details": details,
            }
        )
    total_amount = sum((line["lineAmount"] for line in lines), Decimal(0))
    total_tax = sum((line["tax"] for line in lines), Decimal(0))
    total_taxable = sum((line["taxableAmount"] for line in lines), Decimal(0))
    return {
        "id": transaction_id,
        "code": model["code"] or f"temp-{transaction_id}",
        "companyId": company["id"],
        "companyCode": company["companyCode"],
        "date": model["date"],
        "status": status,
        "type": model["type"],
        "customerCode": model["customerCode"],
        "currencyCode": model["currencyCode"],
        "businessIdentificationNo": model["businessIdentificationNo"],
        "description": model["description"],
        "totalAmount": total_amount,
        "totalExempt": total_amount - total_taxable,
        "totalDiscount": Decimal(0),
        "totalTax": total_tax,
        "totalTaxable": total_taxable,
        "totalTaxCalculated": total_tax,
        "adjustmentReason": "NotAdjusted",
        "adjustmentDescription": None,
        "locked": False,
        "version": 1,
        "exchangeRate": Decimal(1),
        "modifiedDate": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "lines": lines,
        "addresses": [
            {"id": transaction_id * 10 + n, "boundaryLevel": "Zip5", **address}
            for n, address in enumerate((model["shipFrom"], model["shipTo"]))
        ],
        "summary": list(summary.values()),
        "messages": _reverse_charge_message(model) if any(j.rate_type == "ReverseCharge" for j in taxes) else [],
    }


def _detail(juris: rates.Jurisdiction, amount: Decimal, detail_id: int) -> dict[str, Any]:
    tax = rates.tax_of(amount, juris.rate)
    return {
        "id": detail_id,
        "transactionLineId": detail_id // 10,
        "country": juris.country,
        "region": juris.region,
        "jurisType": JURIS_TYPE_IDS[juris.juris_type],
        "jurisdictionType": juris.juris_type,
        "jurisCode": juris.juris_code,
        "jurisName": juris.juris_name,
        "taxType": juris.tax_type,
        "taxName": juris.tax_name,
        "rateType": juris.rate_type,
        "rate": juris.rate,
        "tax": tax,
        "taxCalculated": tax,
        "taxableAmount": amount,
        "nonTaxableAmount": Decimal(0),
        "exemptAmount": Decimal(0),
    }


def _add_to_summary(
    summary: dict[tuple[str, ...], dict[str, Any]], juris: rates.Jurisdiction, amount: Decimal, tax: Decimal
) -> None:
    key = (juris.country, juris.region, juris.juris_type, juris.juris_code, juris.rate_type)
    entry = summary.get(key)
    if entry is None:
        entry = summary[key] = {
            "country": juris.country,
            "region": juris.region,
            "jurisType": juris.juris_type,
            "jurisCode": juris.juris_code,
            "jurisName": juris.juris_name,
            "taxAuthorityType": 45,
            "taxType": juris.tax_type,
            "taxName": juris.tax_name,
            "rateType": juris.rate_type,
            "rate": juris.rate,
            "taxable": Decimal(0),
            "tax": Decimal(0),
            "taxCalculated": Decimal(0),
            "nonTaxable": Decimal(0),
            "exemption": Decimal(0),
        }
    entry["taxable"] += amount
    entry["tax"] += tax
    entry["taxCalculated"] += tax


def _reverse_charge_message(model: dict[str, Any]) -> list[dict[str, Any]]:
    details = (
        "Cross-border business-to-business supply to a buyer with VAT id "
        f"{model['businessIdentificationNo']}; no VAT is charged by the seller."
    )
    return [
        {
            "summary": "Reverse charge applies: the buyer accounts for the VAT.",
            "details": details,
            "refersTo": "businessIdentificationNo",
            "severity": "Information",
            "source": "Avalara.AvaTax.Services.Tax",
        }
    ]


def content_of(model: dict[str, Any]) -> dict[str, Any]:
    """What decides a document's tax (everything but ``commit``): equal content = an identical repeat."""
    return {key: value for key, value in model.items() if key != "commit"}
