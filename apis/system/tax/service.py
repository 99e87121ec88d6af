"""The tax system API's operations, in canonical objects only.

Input AvaTax would refuse for an incomplete address is refused here first, with a 422 naming
the field (a quote should not cost a vendor round trip to learn that a US address needs a ZIP
code); what AvaTax itself refuses with a ``refersTo`` becomes the same kind of field error.

Transactions are written with ``createoradjust``: the document code is the key, so creating a
transaction again with the same content is exactly-once at the vendor (it answers the existing
transaction), and the connector may retry it after a lost answer.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from apis.canonical import (
    Address,
    TaxAdjustment,
    TaxQuote,
    TaxQuoteRequest,
    TaxTransaction,
    TaxTransactionCreate,
    TaxVoid,
)
from apis.system.kit.link import BasicCredentials, VendorLink
from apis.system.tax import mapping as m
from apis.system.tax.connectors.avalara import (
    AvalaraConfig,
    AvalaraConnector,
    AvalaraNotFound,
    AvalaraRejected,
)
from core.errors import InvalidInput, NotFound


def _field_error(pointer: str, detail: str) -> dict[str, str]:
    return {"in": "body", "pointer": pointer, "detail": detail}


def check_request(request: TaxQuoteRequest, prefix: str = "") -> None:
    """Refuse what cannot be taxed: incomplete addresses, mixed currencies, repeated line numbers.

    Raises:
        InvalidInput: every problem found, each naming its field.
    """
    errors = _address_errors(request.ship_to, f"{prefix}/ship_to")
    if request.ship_from is not None:
        errors += _address_errors(request.ship_from, f"{prefix}/ship_from")
    seen: set[str] = set()
    for index, line in enumerate(request.lines):
        if line.amount.currency != request.currency:
            detail = f"the amount is in {line.amount.currency}, the document in {request.currency}"
            errors.append(_field_error(f"{prefix}/lines/{index}/amount/currency", detail))
        try:
            Decimal(line.quantity)
        except InvalidOperation:
            errors.append(_field_error(f"{prefix}/lines/{index}/quantity", "quantity is not a decimal number"))
        number = line.number or str(index + 1)
        if number in seen:
            errors.append(_field_error(f"{prefix}/lines/{index}/number", f"line number {number} is used twice"))
        seen.add(number)
    if errors:
        first = errors[0]
        raise InvalidInput(f"The request cannot be taxed: {first['pointer']}: {first['detail']}", field_errors=errors)


def _address_errors(address: Address, pointer: str) -> list[dict[str, str]]:
    if not address.country:
        return [_field_error(f"{pointer}/country", "a country is required to compute tax")]
    errors = []
    if address.country == "US":
        if not address.region:
            errors.append(_field_error(f"{pointer}/region", "a US address needs a region (state)"))
        if not address.postal_code:
            errors.append(_field_error(f"{pointer}/postal_code", "a US address needs a postal (ZIP) code"))
    return errors


class TaxService:
    """Canonical tax operations over one connector."""

    def __init__(self, connector: AvalaraConnector, client: httpx.AsyncClient | None = None) -> None:
        self.connector = connector
        self._client = client

    @property
    def vendor(self) -> str:
        """The vendor behind this API, as lineage and cross-references name it (``"avalara"``): what the
        process layer records instead of naming a vendor itself."""
        return self.connector.system

    async def aclose(self) -> None:
        """Close the HTTP client this service owns, if any."""
        if self._client is not None:
            await self._client.aclose()

    async def quote(self, request: TaxQuoteRequest) -> TaxQuote:
        """Tax for a document, estimated: nothing is recorded at the vendor."""
        check_request(request)
        model = m.to_model(request, code=None, recorded=False)
        body = await _fields_named(self.connector.estimate(model), company=request.company)
        return m.to_quote(body, request)

    async def create_transaction(self, create: TaxTransactionCreate) -> TaxTransaction:
        """Record a committed transaction; the same code and content again changes nothing."""
        check_request(create)
        body = await _fields_named(self.connector.create_or_adjust(m.to_transaction_model(create)), create.company)
        return m.to_transaction(body, create.company)

    async def get_transaction(self, company: str, code: str, kind: str | None = None) -> TaxTransaction:
        """The current version of a recorded transaction."""
        body = await _not_found(self.connector.get(company, code, m.document_type(kind)), company, code)
        return m.to_transaction(body, company)

    async def void_transaction(self, company: str, code: str, void: TaxVoid, kind: str | None = None) -> TaxTransaction:
        """Void a recorded transaction (voiding a voided one changes nothing)."""
        call = self.connector.void(company, code, m.VOID_REASONS[void.reason], m.document_type(kind))
        return m.to_transaction(await _not_found(call, company, code), company)

    async def adjust_transaction(
        self, company: str, code: str, adjustment: TaxAdjustment, kind: str | None = None
    ) -> TaxTransaction:
        """Replace a recorded transaction's content; the previous version stays on record at the vendor."""
        if adjustment.transaction.company != company:
            detail = f"the transaction belongs to company {company}; an adjustment cannot move it"
            raise InvalidInput(detail, field_errors=[_field_error("/transaction/company", detail)])
        if adjustment.reason == "other" and not adjustment.description:
            detail = "an adjustment for reason 'other' needs a description"
            raise InvalidInput(detail, field_errors=[_field_error("/description", detail)])
        check_request(adjustment.transaction, "/transaction")
        model = m.to_model(adjustment.transaction, code=code, recorded=True)
        call = self.connector.adjust(
            company,
            code,
            model,
            reason=m.ADJUSTMENT_REASONS[adjustment.reason],
            description=adjustment.description,
            document_type=m.document_type(kind),
        )
        body = await _not_found(
            _fields_named(call, company, prefix="/transaction", company_is_input=False), company, code
        )
        return m.to_transaction(body, company)


async def _fields_named(call: Any, company: str, prefix: str = "", *, company_is_input: bool = True) -> dict[str, Any]:
    """Await a model write; AvaTax's ``refersTo`` becomes a field error (422) where it maps onto ours.

    An unknown company is a field error too when the company came in the body (``company_is_input``).
    """
    try:
        result: dict[str, Any] = await call
    except AvalaraRejected as error:
        pointer = m.pointer_for(error.refers_to, prefix)
        if pointer is None:
            raise
        raise InvalidInput(error.detail, field_errors=[_field_error(pointer, error.detail)]) from None
    except AvalaraNotFound as error:
        if error.refers_to != "companyCode" or not company_is_input:
            raise
        detail = f"no legal entity {company} at the tax vendor"
        raise InvalidInput(detail, field_errors=[_field_error(f"{prefix}/company", detail)]) from None
    return result


async def _not_found(call: Any, company: str, code: str) -> dict[str, Any]:
    """Await a document call; any 404 means: no such transaction (of that company)."""
    try:
        result: dict[str, Any] = await call
    except NotFound:
        raise NotFound(f"No tax transaction {code} for company {company}") from None
    return result


def build_tax_service(link: VendorLink[BasicCredentials], *, config: AvalaraConfig | None = None) -> TaxService:
    """The tax service over the AvaTax account ``link`` reaches (the real AvaTax, or its sandbox).

    Args:
        link: client, base URL, account id and license key, and breaker, from the composition root.
        config: connector timeouts and retries (defaults: :class:`AvalaraConfig`).
    """
    account = link.credentials
    connector = AvalaraConnector(
        link.client,
        link.base_url,
        account.username,
        account.password,
        config=config or AvalaraConfig(),
        breaker=link.breaker,
    )
    return TaxService(connector, link.client)
