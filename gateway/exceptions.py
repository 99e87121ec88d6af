"""Exceptions → RFC 9457 problems, for governed routes and for everything else.

Governed routes convert inside the pipeline (:func:`exception_to_response`); Litestar's
app-level handlers (:func:`exception_handlers`) cover what never reaches a route — 404,
405 — and the ungoverned routes. A 500 says only that something failed and gives the
request id; the traceback goes to the log, never to the caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from core.correlation import new_request_id
from core.echo import shorten
from core.errors import Forbidden, InvalidInput, RetryableError, StateUnavailable, StrataError
from core.problems import PROBLEM_MEDIA_TYPE, generic_problem, problem_body
from core.state_outage import is_state_outage
from policies.context import CapturedResponse

logger = structlog.get_logger("strata.errors")


def _describe(exc: Exception) -> tuple[int, str, str, str, dict[str, str], list[dict[str, str]] | None]:
    """(status, type suffix, title, detail, headers, field errors) of an exception."""
    if isinstance(exc, StrataError):
        headers: dict[str, str] = {}
        if isinstance(exc, RetryableError) and exc.status == 503:
            headers["retry-after"] = str(max(1, math.ceil(exc.retry_after or 1)))
        field_errors = exc.field_errors if isinstance(exc, InvalidInput | Forbidden) else None
        return exc.status, exc.problem, exc.title, exc.detail, headers, field_errors or None
    if isinstance(exc, ValidationException):
        errors = []
        for item in exc.extra if isinstance(exc.extra, list) else []:
            if isinstance(item, dict):
                source = item.get("source") or "body"
                entry = {
                    "in": source if source in ("body", "query", "path", "header") else "body",
                    "detail": str(item.get("message", "invalid")),
                }
                key = item.get("key")
                if entry["in"] == "body":
                    entry["pointer"] = f"/{key}" if key else ""
                else:
                    entry["name"] = str(key or "")
                errors.append(entry)
        return 400, "bad-request", "Bad request", "the request could not be read", {}, errors or None
    if isinstance(exc, HTTPException):
        problem, title = generic_problem(exc.status_code)
        detail = exc.detail if exc.status_code < 500 else title
        headers = {key.lower(): value for key, value in (exc.headers or {}).items()}
        return exc.status_code, problem, title, str(detail), headers, None
    if is_state_outage(exc):
        outage = StateUnavailable("the gateway's state database cannot be reached; retry shortly", retry_after=1)
        return outage.status, outage.problem, outage.title, outage.detail, {"retry-after": "1"}, None
    return 500, "internal-error", "Internal error", "the gateway failed to handle this request", {}, None


def exception_to_response(base_uri: str) -> Callable[[Exception, str, str], CapturedResponse]:
    """A mapper used by the pipeline: exception, path, request id → problem response."""

    def mapper(exc: Exception, path: str, request_id: str) -> CapturedResponse:
        status, problem, title, detail, headers, errors = _describe(exc)
        if status == 503 and not isinstance(exc, StrataError):
            logger.warning(
                "state database unavailable", path=shorten(path), request_id=request_id, error=type(exc).__name__
            )
        elif status >= 500 and not isinstance(exc, StrataError):
            logger.error("unhandled error on %s (request %s)", shorten(path), request_id, exc_info=exc)
        body = problem_body(
            status=status,
            problem=problem,
            title=title,
            detail=detail,
            instance=path,
            request_id=request_id,
            errors=errors,
            base_uri=base_uri,
        )
        raw_headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode())]
        raw_headers.extend((key.encode("latin-1"), value.encode("latin-1")) for key, value in headers.items())
        return CapturedResponse(status=status, headers=raw_headers, body=body)

    return mapper


def exception_handlers(base_uri: str) -> dict[Any, Callable[[Request[Any, Any, Any], Exception], Response[bytes]]]:
    """Litestar app-level handlers: 404/405 and errors outside governed routes."""
    mapper = exception_to_response(base_uri)

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        request_id = request.scope.get("state", {}).get("request_id") or new_request_id()
        captured = mapper(exc, request.url.path, request_id)
        if captured.status < 500:
            # Never reached a governed route (404, 405, ...), so no audit record: one log line
            # keeps the request findable by its id.
            logger.info(
                "%s %s answered %d outside any route",
                request.method,
                request.url.path[:200],
                captured.status,
                request_id=request_id,
                status=captured.status,
            )
        headers = {name.decode(): value.decode() for name, value in captured.headers if name != b"content-type"}
        headers["x-request-id"] = request_id
        headers.setdefault("x-content-type-options", "nosniff")
        return Response(
            content=captured.body, status_code=captured.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
        )

    return {Exception: handle, HTTPException: handle}
