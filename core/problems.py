"""RFC 9457 problem details: the one shape of every error Strata's own APIs write.

Every problem carries a stable ``type`` (under the configured base URI unless absolute),
``title``, ``status``, ``detail``, ``instance`` (the request path), the ``request_id``, and
for input errors ``errors: [{"in", "pointer" | "name", "detail"}]``.

Whatever caller input a problem quotes is bounded here, for every problem of every road
(:mod:`core.echo`): ``detail`` and each error's ``detail`` to at most 512 characters with
long quoted values cut to 128, ``instance``, ``pointer`` and ``name`` segment by segment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec

from core.echo import bound_message, bound_name, bound_pointer

PROBLEM_MEDIA_TYPE = "application/problem+json"
DEFAULT_BASE_URI = "https://strata.dev/problems/"

_encoder = msgspec.json.Encoder()


def problem_type(problem: str, base_uri: str = DEFAULT_BASE_URI) -> str:
    """Absolute ``type`` URI: ``problem`` itself if absolute, else under ``base_uri``."""
    if problem.startswith(("https://", "http://", "urn:")):
        return problem
    return base_uri + problem


def problem_body(
    *,
    status: int,
    problem: str,
    title: str,
    detail: str,
    instance: str | None = None,
    request_id: str | None = None,
    errors: Iterable[Mapping[str, str]] | None = None,
    extensions: Mapping[str, Any] | None = None,
    base_uri: str = DEFAULT_BASE_URI,
) -> bytes:
    """Encode a problem+json body, caller input in it bounded (see the module docstring)."""
    body: dict[str, Any] = {
        "type": problem_type(problem, base_uri),
        "title": title,
        "status": status,
        "detail": bound_message(detail),
    }
    if instance:
        body["instance"] = bound_pointer(instance)
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = [_bounded_error(error) for error in errors]
    if extensions:
        for key, value in extensions.items():
            body.setdefault(key, value)
    try:
        return _encoder.encode(body)
    except UnicodeEncodeError:
        # A detail may quote the caller's input, and JSON lets a caller send lone surrogates
        # ("\ud800") that UTF-8 cannot carry: replace them rather than fail the answer.
        return _encoder.encode(_encodable(body))


_FIELD_BOUNDS: dict[str, Callable[[str], str]] = {"detail": bound_message, "pointer": bound_pointer, "name": bound_name}


def _bounded_error(error: Mapping[str, str]) -> dict[str, str]:
    """One field error with its caller-controlled parts bounded (``in`` is always ours)."""
    bounded = dict(error)
    for key, bound in _FIELD_BOUNDS.items():
        value = bounded.get(key)
        if isinstance(value, str):
            bounded[key] = bound(value)
    return bounded


_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(value: Any) -> Any:
    """``value`` with every string made UTF-8-encodable (lone surrogates become U+FFFD)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item) for item in value]
    return value


STATUS_TITLES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    410: ("gone", "Gone"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "Request does not match the contract"),
    429: ("too-many-requests", "Too many requests"),
    431: ("request-header-fields-too-large", "Request header fields too large"),
    500: ("internal-error", "Internal error"),
    502: ("bad-gateway", "Bad gateway"),
    503: ("service-unavailable", "Service unavailable"),
    504: ("gateway-timeout", "Gateway timeout"),
}


def generic_problem(status: int) -> tuple[str, str]:
    """(type suffix, title) for a bare HTTP status."""
    return STATUS_TITLES.get(status, ("http-error", "HTTP error"))
