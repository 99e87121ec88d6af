"""``/system/tax/v1``: tax quotes and recorded tax transactions, in canonical objects.

Authentication, scopes, request validation and problem+json belong to the governance
pipeline in front; handlers declare the :class:`TaxService` as the ``tax`` dependency and raise
:mod:`core.errors` exceptions.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlencode

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from apis.canonical import TaxAdjustment, TaxQuoteRequest, TaxTransaction, TaxTransactionCreate, TaxVoid
from apis.system.http import decode_body, json_response
from apis.system.tax.service import TaxService

Kind = Literal["sale", "return"]


def _location(request: Request[Any, Any, Any], transaction: TaxTransaction) -> str:
    base = request.url.path.rsplit("/transactions", 1)[0]
    query = urlencode({"company": transaction.company, "kind": transaction.kind})
    return f"{base}/transactions/{quote(transaction.code, safe='')}?{query}"


@post("/quotes", operation_id="createTaxQuote", status_code=200)
async def create_quote(request: Request[Any, Any, Any], tax: NamedDependency[TaxService]) -> Response[bytes]:
    """Tax for a document, estimated and not recorded (safe to repeat)."""
    quote_request = await decode_body(request, TaxQuoteRequest)
    return json_response(await tax.quote(quote_request))


@post("/transactions", operation_id="createTaxTransaction", status_code=201)
async def create_transaction(request: Request[Any, Any, Any], tax: NamedDependency[TaxService]) -> Response[bytes]:
    """Record a committed transaction; 201 when it exists in this content, 200 when an older content was adjusted."""
    create = await decode_body(request, TaxTransactionCreate)
    transaction = await tax.create_transaction(create)
    status = 201 if transaction.version == 1 else 200
    return json_response(transaction, status, {"Location": _location(request, transaction)})


@get("/transactions/{code:str}", operation_id="getTaxTransaction")
async def get_transaction(
    tax: NamedDependency[TaxService], code: FromPath[str], company: FromQuery[str], kind: FromQuery[Kind | None] = None
) -> Response[bytes]:
    """The current version of a recorded transaction."""
    return json_response(await tax.get_transaction(company, code, kind))


@post("/transactions/{code:str}/void", operation_id="voidTaxTransaction", status_code=200)
async def void_transaction(
    request: Request[Any, Any, Any],
    tax: NamedDependency[TaxService],
    code: FromPath[str],
    company: FromQuery[str],
    kind: FromQuery[Kind | None] = None,
) -> Response[bytes]:
    """Void a recorded transaction."""
    void = await decode_body(request, TaxVoid)
    return json_response(await tax.void_transaction(company, code, void, kind))


@post("/transactions/{code:str}/adjust", operation_id="adjustTaxTransaction", status_code=200)
async def adjust_transaction(
    request: Request[Any, Any, Any],
    tax: NamedDependency[TaxService],
    code: FromPath[str],
    company: FromQuery[str],
    kind: FromQuery[Kind | None] = None,
) -> Response[bytes]:
    """Replace a recorded transaction's content with a reason; returns the new version."""
    adjustment = await decode_body(request, TaxAdjustment)
    return json_response(await tax.adjust_transaction(company, code, adjustment, kind))


router = Router(
    path="/system/tax/v1",
    route_handlers=[create_quote, create_transaction, get_transaction, void_transaction, adjust_transaction],
)
