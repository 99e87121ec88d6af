"""List cursors at the HTTP boundary: a list route opens the cursor it is sent and signs the one it answers.

Services page in typed positions; this module turns them into cursors and back with the one codec
(:mod:`core.cursors`), for the routes of every layer. A cursor is bound to

* its **list**: the route, as method and path template (``GET /system/crm/v1/accounts``);
* its **filters**: every query parameter but ``cursor`` and ``limit`` (the page size may change
  from page to page), exactly as sent, and every path parameter;
* the caller's **audience**: the partner or customer its token is bound to, if any.

Following ``next_cursor`` with the same query (the ``Link`` header is exactly that) always works;
a cursor sent to another list, with other filters or by a caller of another audience is a 422
problem naming ``cursor``, as is anything the codec did not issue.

The codec reaches these helpers as route configuration (``opt``, set on the app by the composition
root), not as a Litestar dependency: a handler already declares its API's service, and two
dependencies of one handler are resolved in an anyio task group, about 60 µs a request here
(``bench/dependencies.py``).
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlencode

from litestar import Request

from core.cursors import CursorCodec
from policies.context import principal_of

T = TypeVar("T")

CURSOR_CODEC_OPT = "strata_cursor_codec"
"""Key of the app's :class:`~core.cursors.CursorCodec` in every route handler's ``opt``."""
UNBOUND_QUERY = frozenset({"cursor", "limit"})
"""Query parameters a cursor is not bound to."""


def cursor_position(request: Request[Any, Any, Any], into: type[T]) -> T | None:
    """The position of type ``into`` the request's ``cursor`` names; ``None`` without a cursor.

    Raises:
        InvalidCursor: the cursor was not issued by this list, with these filters, to this audience.
    """
    cursor = request.query_params.get("cursor")
    if cursor is None:
        return None
    list_id, filters = _binding(request)
    return _codec(request).decode(cursor, into, list_id=list_id, filters=filters)


def next_cursor(request: Request[Any, Any, Any], position: object) -> str | None:
    """The cursor of the page starting at ``position`` (``None`` on the last page)."""
    if position is None:
        return None
    list_id, filters = _binding(request)
    return _codec(request).encode(position, list_id=list_id, filters=filters)


def next_link(request: Request[Any, Any, Any], cursor: str) -> str:
    """``Link: <…>; rel="next"``: this request's path and query with ``cursor`` in place of its own."""
    query = {key: value for key, value in request.query_params.items() if key != "cursor"}
    query["cursor"] = cursor
    return f'<{request.url.path}?{urlencode(query)}>; rel="next"'


def _binding(request: Request[Any, Any, Any]) -> tuple[str, dict[str, Any]]:
    """The list id and the filters a cursor of this request is bound to."""
    list_id = f"{request.method} {request.scope.get('path_template', request.url.path)}"
    # The same view of the query as next_link's (the last of repeated names), so a Link followed
    # is always bound the same.
    filters: dict[str, Any] = {
        f"query:{key}": value for key, value in request.query_params.items() if key not in UNBOUND_QUERY
    }
    filters.update({f"path:{key}": str(value) for key, value in request.path_params.items()})
    principal = principal_of(request)
    if principal is not None:
        filters["audience:partner"] = principal.partner_id
        filters["audience:customer"] = principal.customer_id
    return list_id, filters


def _codec(request: Request[Any, Any, Any]) -> CursorCodec:
    codec = request.route_handler.opt.get(CURSOR_CODEC_OPT)
    if not isinstance(codec, CursorCodec):
        raise LookupError(f"no cursor codec in this route's opt[{CURSOR_CODEC_OPT!r}]: the app factory sets one")
    return codec
