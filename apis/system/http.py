"""What every API's routes share: JSON answers, body decoding, list pages, caller keys.

The governance pipeline has already checked a request against its contract; decoding into a
canonical input object is the second line of defence (and the one that builds the object), so
its refusals name the field the same way the contract check does.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from apis.canonical import Page
from apis.system.paging import next_cursor, next_link
from core.errors import InvalidInput
from policies.context import principal_of

T = TypeVar("T")
JSON = "application/json"
Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size.")]
"""The ``limit`` query parameter of list operations (1–200)."""
_PATH = re.compile(r"at `\$(.*)`$")


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    """``content`` (canonical objects) as a JSON response."""
    return Response(content=msgspec.json.encode(content), status_code=status, media_type=JSON, headers=headers)


def json_pointer(path: str) -> str:
    """msgspec's ``$.lines[0].amount`` → JSON Pointer ``/lines/0/amount``."""
    return "".join(f"/{part}" for part in re.split(r"\.|\[|\]", path) if part)


async def decode_body(request: Request[Any, Any, Any], kind: type[T], *, optional: bool = False) -> T:
    """The body as a ``kind`` object; an empty body is ``{}`` when ``optional``.

    Raises:
        InvalidInput: the body does not fit ``kind`` (422 naming the field by JSON Pointer).
        ValidationException: the body is not JSON (400).
    """
    body = await request.body()
    if optional and not body.strip():
        body = b"{}"
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as error:
        message = str(error)
        found = _PATH.search(message)
        pointer = json_pointer(found[1]) if found else ""
        detail = _PATH.sub("", message).strip() or "invalid value"
        raise InvalidInput(
            f"Request body violates the contract: {message}",
            field_errors=[{"in": "body", "pointer": pointer, "detail": detail}],
        ) from None
    except msgspec.DecodeError:
        raise ValidationException(detail="Request body is not valid JSON") from None


def page_response(request: Request[Any, Any, Any], page: Page[Any]) -> Response[bytes]:
    """``{items, next_cursor}`` plus ``Link: <…>; rel="next"`` when there is a next page.

    The next page's position is signed into ``next_cursor`` here (:mod:`apis.system.paging`).
    """
    cursor = next_cursor(request, page.next_position)
    headers = {"Link": next_link(request, cursor)} if cursor else None
    return json_response({"items": page.items, "next_cursor": cursor}, headers=headers)


def caller_client_id(request: Request[Any, Any, Any]) -> str | None:
    """The authenticated client's id (``None`` on a public route)."""
    principal = principal_of(request)
    return principal.client_id if principal is not None else None


def caller_idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    """The caller's ``Idempotency-Key`` (quotes stripped), if it sent one."""
    key = request.headers.get("idempotency-key")
    return key.strip('"') if key else None
