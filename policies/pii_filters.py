"""Filtering on personal data: a query parameter that filters a personal field is personal too.

Masking a response hides a personal value, but a filter on it still answers "does someone with
this tax id / e-mail exist?": ``GET /customers?tax_id=DE811111111`` returns one (masked) item
or none. So a query parameter whose schema carries ``x-strata-pii: <kind>`` may be used only
by a caller holding the API's ``pii`` scope (:class:`policies.pii.PiiPolicy` refuses the others
with a 403 naming the parameter).

The contract decides, not a list of routes: ``strata contracts lint`` (STR014) requires the
mark on every query parameter named like a marked field of the operation's success
responses (:func:`unmarked_personal_filters`), so a new filter on a personal field cannot be
added without it; and a mark only counts on an operation's own query parameters
(:func:`misplaced_marks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.pii_masks import PII_KEYWORD, marked_fields


def _kind(parameter: Mapping[str, Any]) -> str | None:
    schema = parameter.get("schema")
    kind = schema.get(PII_KEYWORD) if isinstance(schema, Mapping) else None
    return kind if isinstance(kind, str) else None


def personal_filters(operation: Mapping[str, Any]) -> dict[str, str]:
    """The operation's own query parameters marked personal: name → kind."""
    filters = {}
    for parameter in operation.get("parameters") or ():
        if isinstance(parameter, Mapping) and parameter.get("in") == "query":
            kind = _kind(parameter)
            if kind is not None:
                filters[str(parameter.get("name"))] = kind
    return filters


def personal_response_fields(operation: Mapping[str, Any]) -> dict[str, str]:
    """Property names marked personal in the operation's 2xx response bodies (dereferenced): name → kind."""
    fields: dict[str, str] = {}
    responses = operation.get("responses")
    for status, response in (responses or {}).items() if isinstance(responses, Mapping) else ():
        content = response.get("content") if isinstance(response, Mapping) else None
        if not str(status).startswith("2") or not isinstance(content, Mapping):
            continue
        for media in content.values():
            schema = media.get("schema") if isinstance(media, Mapping) else None
            for pointer, kind, _ in marked_fields(schema):
                parent, _, name = pointer.rpartition("/")
                if parent.endswith("/properties"):
                    fields.setdefault(name, kind)
    return fields


def unmarked_personal_filters(
    operation: Mapping[str, Any], parameters: Iterable[Mapping[str, Any]]
) -> list[tuple[int, str, str]]:
    """``(index, name, kind)`` of each query parameter in ``parameters`` named like a personal response
    field of ``operation`` but not marked itself (a lint finding: an oracle on personal data)."""
    fields = personal_response_fields(operation)
    return [
        (index, str(parameter["name"]), fields[str(parameter["name"])])
        for index, parameter in enumerate(parameters)
        if parameter.get("in") == "query" and str(parameter.get("name")) in fields and _kind(parameter) is None
    ]


def misplaced_marks(parameters: Iterable[Mapping[str, Any]], *, on_path_item: bool) -> list[tuple[int, str]]:
    """``(index, name)`` of marked parameters the policy would not see: not ``in: query``, or declared
    on the path item instead of the operation."""
    return [
        (index, str(parameter.get("name")))
        for index, parameter in enumerate(parameters)
        if _kind(parameter) is not None and (on_path_item or parameter.get("in") != "query")
    ]
