"""``/system/tax/v1``: tax quotes and recorded tax transactions, in canonical objects.

Authentication, scopes, request validation and problem+json belong to the governance
pipeline in front; handlers read ``request.app.state.tax`` (a :class:`TaxService`) and raise
:mod:`gateway.errors` exceptions.
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery

from apis.canonical import TaxAdjustment, TaxQuoteRequest, TaxTransaction, TaxTransactionCreate, TaxVoid
from apis.system.tax.service import TaxService
from gateway.errors import InvalidInput

T = TypeVar("T")
JSON = "application/json"
Kind = Literal["sale", "return"]
_PATH = re.compile(r"at `\$(.*)`$")


def _service(request: Request[Any, Any, Any]) -> TaxService:
    service: TaxService = request.app.state.tax
    return service


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status, media_type=JSON, headers=headers)


def _pointer(path: str) -> str:
    """msgspec's ``$.lines[0].amount`` → JSON Pointer ``/lines/0/amount``."""
    return "".join(f"/{part}" for part in re.split(r"\.|\[|\]", path) if part)


async def _decode(request: Request[Any, Any, Any], kind: type[T]) -> T:
    body = await request.body()
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        message = str(error)
        found = _PATH.search(message)
        pointer = _pointer(found[1]) if found else ""
        detail = _PATH.sub("", message).strip() or "invalid value"
        raise InvalidInput(
            f"Request body violates the contract: {message}",
            field_errors=[{"in": "body", "pointer": pointer, "detail": detail}],
        ) from None
    except msgspec.DecodeError:
        raise ValidationException(detail="Request body is not valid JSON") from None


def _location(request: Request[Any, Any, Any], transaction: TaxTransaction) -> str:
    base = request.url.path.rsplit("/transactions", 1)[0]
    query = urlencode({"company": transaction.company, "kind": transaction.kind})
    return f"{base}/transactions/{quote(transaction.code, safe='')}?{query}"


@post("/quotes", operation_id="createTaxQuote", status_code=200)
async def create_quote(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Tax for a document, estimated and not recorded (safe to repeat)."""
    quote_request = await _decode(request, TaxQuoteRequest)
    return _json(await _service(request).quote(quote_request))


@post("/transactions", operation_id="createTaxTransaction", status_code=201)
async def create_transaction(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Record a committed transaction; 201 when it exists in this content, 200 when an older content was adjusted."""
    create = await _decode(request, TaxTransactionCreate)
    transaction = await _service(request).create_transaction(create)
    status = 201 if transaction.version == 1 else 200
    return _json(transaction, status, {"Location": _location(request, transaction)})


@get("/transactions/{code:str}", operation_id="getTaxTransaction")
async def get_transaction(
    request: Request[Any, Any, Any], code: FromPath[str], company: FromQuery[str], kind: FromQuery[Kind | None] = None
) -> Response[bytes]:
    """The current version of a recorded transaction."""
    return _json(await _service(request).get_transaction(company, code, kind))


@post("/transactions/{code:str}/void", operation_id="voidTaxTransaction", status_code=200)
async def void_transaction(
    request: Request[Any, Any, Any], code: FromPath[str], company: FromQuery[str], kind: FromQuery[Kind | None] = None
) -> Response[bytes]:
    """Void a recorded transaction."""
    void = await _decode(request, TaxVoid)
    return _json(await _service(request).void_transaction(company, code, void, kind))


@post("/transactions/{code:str}/adjust", operation_id="adjustTaxTransaction", status_code=200)
async def adjust_transaction(
    request: Request[Any, Any, Any], code: FromPath[str], company: FromQuery[str], kind: FromQuery[Kind | None] = None
) -> Response[bytes]:
    """Replace a recorded transaction's content with a reason; returns the new version."""
    adjustment = await _decode(request, TaxAdjustment)
    return _json(await _service(request).adjust_transaction(company, code, adjustment, kind))


router = Router(
    path="/system/tax/v1",
    route_handlers=[create_quote, create_transaction, get_transaction, void_transaction, adjust_transaction],
)
