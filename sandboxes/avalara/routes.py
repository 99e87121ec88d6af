"""Route handlers of the AvaTax sandbox: ping, transactions, control counts, error rendering."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from sandboxes.avalara.errors import JSON, AvaError

if TYPE_CHECKING:
    from sandboxes.avalara.app import AvalaraSandbox

API = "/api/v2"
COMPANY_DOC = API + "/companies/{company_code:str}/transactions/{transaction_code:str}"
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
VERSION = "25.11.0"
AVA_ESCAPES = {"_-ava2f-_": "/", "_-ava2b-_": "+", "_-ava3f-_": "?", "_-ava25-_": "%", "_-ava23-_": "#"}
"""AvaTax's escape form for ``/ + ? % #`` in a company or transaction code of a URL (the NOTE on
every ``/companies/{companyCode}/transactions/{transactionCode}`` operation of its API reference)."""
_UNESCAPED = frozenset("/+?%#")


def url_code(segment: str, refers_to: str) -> str:
    """A code from a URL path segment (already percent-decoded), its AvaTax escapes undone.

    A segment still holding one of ``/ + ? % #`` reached us percent-encoded, which AvaTax does not
    take for these characters: it names no document or company (404). How the real service fails
    on such a URL is not documented (guessed: as for a code it does not know).
    """
    if _UNESCAPED.intersection(segment):
        raise AvaError(
            404,
            "EntityNotFoundError",
            f"'{segment[:100]}' not found: write / + ? % # in codes as _-ava2f-_, _-ava2b-_, _-ava3f-_, "
            "_-ava25-_, _-ava23-_.",
            refers_to=refers_to,
        )
    for escaped, character in AVA_ESCAPES.items():
        segment = segment.replace(escaped, character)
    return segment


def _json(content: Any, status: int = 200) -> Response[bytes]:
    return Response(content=_ENCODER.encode(content), status_code=status, media_type=JSON)


def _sandbox(request: Request[Any, Any, Any]) -> AvalaraSandbox:
    sandbox: AvalaraSandbox = request.app.state.sandbox
    return sandbox


async def _body(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise AvaError(400, "ValidationException", "The model is required.", target="HttpRequest", refers_to="model")
    try:
        return _DECODER.decode(raw)
    except msgspec.DecodeError:
        raise AvaError(
            400, "ValidationException", "The request body is not valid JSON.", target="HttpRequest"
        ) from None


@get(API + "/utilities/ping")
async def ping(request: Request[Any, Any, Any]) -> Response[bytes]:
    """``/utilities/ping``: answers without credentials; says whether the ones sent are valid."""
    sandbox = _sandbox(request)
    authenticated = sandbox.authenticated(request.headers.get("authorization", ""))
    body: dict[str, Any] = {"version": VERSION, "authenticated": authenticated, "authenticationType": "None"}
    if authenticated:
        body.update(
            authenticationType="AccountIdLicenseKey", authenticatedAccountId=_account_number(sandbox.account_id)
        )
    return _json(body)


_COMPANY_FILTER = re.compile(r"^\s*companyCode\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


@get(API + "/companies")
async def query_companies(request: Request[Any, Any, Any]) -> Response[bytes]:
    """QueryCompanies: ``FetchResult<CompanyModel>`` (``@recordsetCount``, ``value``).

    ``$filter`` takes only ``companyCode eq '<code>'`` here (AvaTax's filter language is larger);
    ``$top`` and ``$skip`` page. Anything else in ``$filter`` → 400 ``InvalidParameterValue`` (guessed).
    """
    companies = list(_sandbox(request).store.companies.values())
    raw_filter = request.query_params.get("$filter")
    if raw_filter:
        match = _COMPANY_FILTER.match(raw_filter)
        if match is None:
            raise AvaError(
                400, "InvalidParameterValue", f"The filter '{raw_filter[:100]}' is not supported.", refers_to="$filter"
            )
        companies = [c for c in companies if c["companyCode"].upper() == match[1].upper()]
    skip, top = _count(request, "$skip", 0), _count(request, "$top", 1000)
    return _json({"@recordsetCount": len(companies), "value": companies[skip : skip + top]})


def _count(request: Request[Any, Any, Any], name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise AvaError(400, "InvalidParameterValue", f"{name} must be a whole number.", refers_to=name)
    return int(value)


@post(API + "/transactions/create", status_code=201)
async def create_transaction(request: Request[Any, Any, Any]) -> Response[bytes]:
    """CreateTransactionModel → TransactionModel (orders are estimates, not saved)."""
    transaction = _sandbox(request).store.create(await _body(request))
    return _json(transaction, 201)


@post(API + "/transactions/createoradjust", status_code=201)
async def create_or_adjust(request: Request[Any, Any, Any]) -> Response[bytes]:
    """CreateOrAdjustTransactionModel → TransactionModel: create, replace, adjust, or nothing for a repeat."""
    transaction = _sandbox(request).store.create_or_adjust(await _body(request))
    return _json(transaction, 201)


@get(COMPANY_DOC)
async def get_transaction(
    request: Request[Any, Any, Any],
    company_code: FromPath[str],
    transaction_code: FromPath[str],
) -> Response[bytes]:
    """The current version of a document (``?documentType=`` picks one when several share a code)."""
    company_code, transaction_code = _codes(company_code, transaction_code)
    document = _sandbox(request).store.find(company_code, transaction_code, request.query_params.get("documentType"))
    return _json(document["current"])


@post(COMPANY_DOC + "/commit", status_code=200)
async def commit_transaction(
    request: Request[Any, Any, Any], company_code: FromPath[str], transaction_code: FromPath[str]
) -> Response[bytes]:
    """CommitTransactionModel ``{"commit": true}``."""
    store = _sandbox(request).store
    doc_type = request.query_params.get("documentType")
    company_code, transaction_code = _codes(company_code, transaction_code)
    return _json(store.commit(company_code, transaction_code, doc_type, await _body(request)))


@post(COMPANY_DOC + "/void", status_code=200)
async def void_transaction(
    request: Request[Any, Any, Any], company_code: FromPath[str], transaction_code: FromPath[str]
) -> Response[bytes]:
    """VoidTransactionModel ``{"code": "DocVoided"}``."""
    store = _sandbox(request).store
    doc_type = request.query_params.get("documentType")
    company_code, transaction_code = _codes(company_code, transaction_code)
    return _json(store.void(company_code, transaction_code, doc_type, await _body(request)))


@post(COMPANY_DOC + "/adjust", status_code=200)
async def adjust_transaction(
    request: Request[Any, Any, Any], company_code: FromPath[str], transaction_code: FromPath[str]
) -> Response[bytes]:
    """AdjustTransactionModel ``{adjustmentReason, adjustmentDescription, newTransaction}``."""
    store = _sandbox(request).store
    doc_type = request.query_params.get("documentType")
    company_code, transaction_code = _codes(company_code, transaction_code)
    return _json(store.adjust(company_code, transaction_code, doc_type, await _body(request)))


def _codes(company_code: str, transaction_code: str) -> tuple[str, str]:
    return url_code(company_code, "companyCode"), url_code(transaction_code, "transactionCode")


# -- control API (faults and reset: sandboxes.shared_app) -------------------------------------------
@get("/_control/counts")
async def counts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Requests and faults, documents by status, writes applied, ``X-Avalara-Client`` values seen."""
    sandbox = _sandbox(request)
    body = {**sandbox.faults.counts(), **sandbox.store.counts(), "clients_seen": dict(sandbox.clients_seen)}
    return Response(content=msgspec.json.encode(body), media_type="application/json")


@delete("/_control/companies/{company_code:str}", status_code=204)
async def remove_company(request: Request[Any, Any, Any], company_code: FromPath[str]) -> None:
    """Remove a company from the account (as an administrator deleting it); ``reset`` brings it back."""
    store = _sandbox(request).store
    if store.companies.pop(company_code.upper(), None) is None:
        raise AvaError(404, "EntityNotFoundError", f"Company '{company_code}' not found.", refers_to="companyCode")
    store.save()


def _ava_error(_: Request[Any, Any, Any], error: AvaError) -> Response[bytes]:
    return Response(content=error.encode(), status_code=error.status, media_type=JSON)


def _http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    if error.status_code == 404:
        failure = AvaError(404, "EntityNotFoundError", "The requested resource was not found.", target="HttpRequest")
    elif error.status_code == 405:
        failure = AvaError(405, "ValidationException", "The HTTP method is not allowed here.", target="HttpRequest")
    else:
        failure = AvaError(error.status_code, "ValidationException", str(error.detail), target="HttpRequest")
    return _ava_error(_, failure)


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    message = f"An unexpected error occurred: {type(error).__name__}"
    return _ava_error(request, AvaError(500, "ServerConfiguration", message, target="AvaTaxApiServer"))


ROUTE_HANDLERS = [
    ping, query_companies, remove_company,
    create_transaction, create_or_adjust, get_transaction, commit_transaction, void_transaction,
    adjust_transaction, counts,
]  # fmt: skip
EXCEPTION_HANDLERS: dict[Any, Any] = {AvaError: _ava_error, HTTPException: _http_error, Exception: _unexpected}


def _account_number(account_id: str) -> int | str:
    """AvaTax account ids are numbers; a sandbox configured with another id answers it as text."""
    return int(account_id) if account_id.isdigit() else account_id
