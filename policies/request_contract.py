"""Request contract: path, query, headers and body checked against the operation (policy 8).

Validators are compiled once per operation at start-up from the dereferenced contract
(JSON Schema 2020-12 via ``jsonschema-rs``, ~2 µs per body). Parameters arrive as strings
and are coerced to their schema's type first (``"5"`` → ``5`` for an integer). Unknown query
parameters are refused: a typo such as ``limt=5`` must not be silently ignored.

The ``Idempotency-Key`` header is left to the idempotency policy, which owns its syntax
and answers a missing or malformed key with 400 (IETF httpapi Idempotency-Key draft).

Every wrong field is reported at once, as ``errors: [{"in", "pointer" | "name", "detail"}]``
in a 422 problem (the malformed-body 400 comes earlier, from request limits). A message
quotes at most :data:`~core.echo.MAX_ECHO_CHARS` characters of the caller's value
(:func:`schema_message`); :func:`core.problems.problem_body` bounds the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import jsonschema_rs
import msgspec

from core.echo import MAX_ECHO_CHARS, shorten
from policies.base import Policy, RequestHookNow
from policies.context import Denial, RequestContext

IDEMPOTENCY_HEADER = "idempotency-key"
QUERY_MEMO_SIZE = 1024
QUERY_MEMO_MAX_KEY_BYTES = 1024
"""Longer query strings are checked every time: a memo of 1,024 one-megabyte keys would pin a gigabyte."""
_OPENAPI_ONLY = ("discriminator", "xml", "externalDocs", "example")


def _schema(schema: Mapping[str, Any]) -> Any:
    cleaned = {key: value for key, value in schema.items() if key not in _OPENAPI_ONLY}
    return jsonschema_rs.Draft202012Validator(cleaned, validate_formats=True)


def _pointer(path: Any) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _quoted(value: Any) -> str:
    """``value`` as jsonschema-rs quotes it in a message: compact JSON, non-ASCII kept.

    Empty when msgspec cannot encode it (a lone surrogate): the message is then left alone.
    """
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, ValueError, OverflowError):
        return ""


def schema_message(error: Any) -> str:
    """A jsonschema-rs error's message with the caller's value in it cut to ``MAX_ECHO_CHARS``.

    Most messages start with the failing instance as compact JSON (``"aaa…" is longer than 10
    characters``, ``[…] is not of type "string"``); ``additionalProperties`` and
    ``unevaluatedProperties`` quote the unexpected keys instead. Found verbatim, each is
    replaced by its shortened form; what is not found is left to the problem's backstop.
    """
    message = str(error.message)
    if len(message) <= MAX_ECHO_CHARS:
        return message
    instance = error.instance
    if isinstance(instance, str):
        quoted = _quoted(instance)
        if len(quoted) > MAX_ECHO_CHARS + 2:
            message = message.replace(quoted, _quoted(shorten(instance)) or quoted)
    elif isinstance(instance, list | dict):
        quoted = _quoted(instance)
        if len(quoted) > MAX_ECHO_CHARS:
            message = message.replace(quoted, shorten(quoted))
        if isinstance(instance, dict):
            for key in instance:
                if len(key) > MAX_ECHO_CHARS:
                    message = message.replace(key, shorten(key))
    return message


@dataclass(frozen=True, slots=True)
class ParameterValidator:
    """One declared parameter: where it is, whether required, how to coerce and check it."""

    name: str
    location: str
    required: bool
    kind: str
    """JSON type of the schema: ``string``, ``integer``, ``number``, ``boolean`` or ``array``."""
    item_kind: str
    validator: Any

    def check(self, raw: list[str]) -> str | None:
        """An error message for the raw value(s), or None when valid."""
        try:
            value: Any = (
                [_coerce(item, self.item_kind) for item in raw] if self.kind == "array" else _coerce(raw[-1], self.kind)
            )
        except ValueError as exc:
            return str(exc)
        if self.validator.is_valid(value):  # the common case, without building an error iterator
            return None
        for error in self.validator.iter_errors(value):
            return schema_message(error)
        return None


def _coerce(raw: str, kind: str) -> Any:
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{shorten(raw)!r} is not an integer") from None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{shorten(raw)!r} is not a number") from None
    if kind == "boolean":
        if raw in ("true", "false"):
            return raw == "true"
        raise ValueError(f"{shorten(raw)!r} is not a boolean (true or false)")
    return raw


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "string")
    return str(kind)


@dataclass(frozen=True, slots=True)
class ResponseValidator:
    """Accepted media types and body validator of one declared response."""

    media_types: tuple[str, ...]
    validator: Any = None
    item_validator: Any = None
    """For a sequence media type (NDJSON): the schema every line must match."""


SEQUENCE_MEDIA_TYPES = frozenset({"application/x-ndjson", "application/jsonl"})
"""Media types whose body is one JSON document per line, not one JSON document."""
ITEM_SCHEMA_KEY = "x-strata-item-schema"
"""Media-type member naming the schema of each item of a sequence (OpenAPI 3.2 calls it
``itemSchema``; 3.1 has no such member, so the contract carries it as an extension)."""


@dataclass(slots=True)
class OperationValidators:
    """Everything compiled from one operation object."""

    parameters: tuple[ParameterValidator, ...] = ()
    query_names: frozenset[str] = frozenset()
    body_media_types: tuple[str, ...] = ()
    body_required: bool = False
    body_validator: Any = None
    responses: dict[str, ResponseValidator] = field(default_factory=dict)
    query_memo: dict[bytes, tuple[dict[str, str], ...]] = field(default_factory=dict)
    """Errors of query strings already checked (see :func:`_query_errors`)."""
    status_memo: dict[int, ResponseValidator | None] = field(default_factory=dict)
    """:meth:`response_for` of the statuses seen so far (at most the 500 of HTTP)."""

    def response_for(self, status: int) -> ResponseValidator | None:
        """The declared response for a status: exact, then ``4XX``-style, then ``default``."""
        try:
            return self.status_memo[status]
        except KeyError:
            declared = (
                self.responses.get(str(status))
                or self.responses.get(f"{status // 100}XX")
                or self.responses.get("default")
            )
            if 100 <= status <= 599:
                self.status_memo[status] = declared
            return declared


def compile_operation(
    operation: Mapping[str, Any], path_item_parameters: list[Any] | None = None
) -> OperationValidators:
    """Compile the validators of a dereferenced OpenAPI operation."""
    parameters: dict[tuple[str, str], Mapping[str, Any]] = {}
    for parameter in [*(path_item_parameters or []), *operation.get("parameters", [])]:
        parameters[(parameter["in"], parameter["name"])] = parameter  # operation overrides path item
    compiled: list[ParameterValidator] = []
    for (location, name), parameter in parameters.items():
        if location == "cookie" or (location == "header" and name.lower() == IDEMPOTENCY_HEADER):
            continue
        schema = parameter.get("schema", {})
        kind = _kind(schema)
        compiled.append(
            ParameterValidator(
                name=name.lower() if location == "header" else name,
                location=location,
                required=bool(parameter.get("required", location == "path")),
                kind=kind,
                item_kind=_kind(schema.get("items", {})) if kind == "array" else kind,
                validator=_schema(schema),
            )
        )
    validators = OperationValidators(
        parameters=tuple(compiled),
        query_names=frozenset(p.name for p in compiled if p.location == "query"),
    )
    body = operation.get("requestBody")
    if body:
        content = body.get("content", {})
        validators.body_media_types = tuple(content)
        validators.body_required = bool(body.get("required", False))
        json_media = next((media for media in content if media.endswith("json")), None)
        if json_media and "schema" in content[json_media]:
            validators.body_validator = _schema(content[json_media]["schema"])
    for status, response in operation.get("responses", {}).items():
        content = response.get("content") or {}
        media_types = tuple(content)
        sequence = next(
            (item[ITEM_SCHEMA_KEY] for media, item in content.items() if media in SEQUENCE_MEDIA_TYPES), None
        )
        schema = next(
            (
                item["schema"]
                for media, item in content.items()
                if media.endswith("json") and media not in SEQUENCE_MEDIA_TYPES and "schema" in item
            ),
            None,
        )
        validators.responses[str(status).upper()] = ResponseValidator(
            media_types=media_types,
            validator=_schema(schema) if schema is not None else None,
            item_validator=_schema(sequence) if sequence is not None else None,
        )
    return validators


def body_errors(validator: Any, value: Any, limit: int = 50) -> list[dict[str, str]]:
    """Field errors of a JSON value against a compiled schema (at most ``limit``)."""
    errors: list[dict[str, str]] = []
    if validator.is_valid(value):  # the common case: no error iterator at all
        return errors
    for error in validator.iter_errors(value):
        errors.append({"in": "body", "pointer": _pointer(error.instance_path), "detail": schema_message(error)})
        if len(errors) >= limit:
            break
    return errors


class RequestContractPolicy(Policy):
    """Deny with 422 listing every parameter and body field that violates the contract."""

    name: ClassVar[str] = "request_contract"

    def __init__(self, mode: str = "enforce") -> None:
        self.mode = mode  # type: ignore[assignment]

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """See :meth:`on_request_now` (no I/O: the pipeline calls that one)."""
        return self.on_request_now(ctx)

    def request_hook_now(self) -> RequestHookNow:
        """:meth:`on_request_now`: this hook does no I/O."""
        return self.on_request_now

    def on_request_now(self, ctx: RequestContext) -> Denial | None:
        validators: OperationValidators = ctx.route.validators
        errors = list(_query_errors(validators, ctx.query_string))
        for parameter in validators.parameters:
            if parameter.location == "query":
                continue
            raw = _raw_values(parameter, ctx)
            if not raw:
                if parameter.required:
                    errors.append({"in": parameter.location, "name": parameter.name, "detail": "is required"})
                continue
            message = parameter.check(raw)
            if message:
                errors.append({"in": parameter.location, "name": parameter.name, "detail": message})
        if validators.body_media_types:
            if not ctx.body:
                if validators.body_required:
                    errors.append({"in": "body", "pointer": "", "detail": "a request body is required"})
            elif validators.body_validator is not None and ctx.has_json_body:
                errors.extend(body_errors(validators.body_validator, ctx.json_body))
        if not errors:
            return None
        return Denial(
            status=422,
            problem="validation-failed",
            title="Request does not match the contract",
            detail=f"{len(errors)} field(s) are invalid",
            errors=errors,
        )


def _query_errors(validators: OperationValidators, query_string: bytes) -> tuple[dict[str, str], ...]:
    """Errors of a query string, remembered per operation: the same query is checked once.

    Query strings repeat (``?limit=50``, a polling filter), and their check is a pure
    function of the string; the memo is bounded and simply cleared when full.
    """
    cached = validators.query_memo.get(query_string)
    if cached is not None:
        return cached
    query: dict[str, list[str]] = {}
    if query_string:
        for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            query.setdefault(key, []).append(value)
    errors = [
        {"in": "query", "name": shorten(name), "detail": "unknown query parameter"}
        for name in query
        if name not in validators.query_names
    ]
    for parameter in validators.parameters:
        if parameter.location != "query":
            continue
        raw = query.get(parameter.name, [])
        if not raw:
            if parameter.required:
                errors.append({"in": "query", "name": parameter.name, "detail": "is required"})
            continue
        message = parameter.check(raw)
        if message:
            errors.append({"in": "query", "name": parameter.name, "detail": message})
    result = tuple(errors)
    if len(query_string) > QUERY_MEMO_MAX_KEY_BYTES:
        return result
    if len(validators.query_memo) >= QUERY_MEMO_SIZE:
        validators.query_memo.clear()
    validators.query_memo[query_string] = result
    return result


def _raw_values(parameter: ParameterValidator, ctx: RequestContext) -> list[str]:
    if parameter.location == "path":
        value = ctx.path_params.get(parameter.name)
        return [] if value is None else [str(value)]
    header = ctx.headers.get(parameter.name)
    return [] if header is None else [header]
