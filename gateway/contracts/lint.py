"""Contract lint: openapi-spec-validator, then Strata's governance rules.

Every finding carries a stable rule id, so CI output, reviews and suppressions speak the
same language. A contract that cannot be loaded or is not valid OpenAPI still yields
findings (never an exception), and the governance rules run on whatever could be read.

=======  =====================================================================================
rule     what it asks
=======  =====================================================================================
STR000   the contract can be read, bundled and dereferenced; YAML files under a layer folder
         are named ``v<N>.yaml``
OAS      openapi-spec-validator accepts the bundled document (OpenAPI 3.1)
STR001   every operation has an ``operationId``, unique across the whole contracts tree
STR002   every operation declares ``security`` with an OAuth 2.0 alternative whose scopes are
         ``<layer>:<api>:<access>`` (access: read, write, execute, admin) for the contract's
         own layer and API (any API name under layer ``gateway``); no anonymous alternative.
         Operations marked ``x-strata-webhook: true`` may use a signature scheme instead
STR003   every security scheme used exists, and every scope used is declared in the flows of
         its OAuth 2.0 scheme
STR004   every 4xx/5xx/default response has ``application/problem+json`` content, and only it
STR005   ``servers`` is exactly ``[{url: /<layer>/<api>/v<N>}]`` matching the file location;
         no path- or operation-level ``servers``; paths are relative to it
STR006   unsafe operations (post, put, patch, delete) declare ``x-strata-idempotency``
         (required, optional, none); required/optional document an ``Idempotency-Key``
         header parameter (required only when ``required``)
STR007   ``info.x-strata-lifecycle`` has ``state`` (active, deprecated, retired);
         deprecated/retired need ``deprecated_at`` and ``sunset_at`` as quoted RFC 3339
         strings, ``sunset_at`` not before ``deprecated_at``; ``successor`` is optional
STR008   ``info.x-strata-owner`` names the owning team
STR009   2xx bodies are ``application/json`` unless the operation lists other media types in
         ``x-strata-media-types``; 204/205/304 have no body
STR010   ``x-strata-rate-cost``, when present, is an integer 1..100
STR011   object schemas in JSON request bodies are closed: ``additionalProperties: false``
         (or a schema for map values); ``unevaluatedProperties: false`` where ``allOf`` is used
STR012   secured operations document 401, and 403 when OAuth 2.0 scopes apply
STR013   every status the governance pipeline itself may answer for the operation is
         documented: 429 when secured (rate limit); 422 when it takes parameters or a body
         (request contract); 400, 413 and 415 when it takes a body (request limits); 400,
         409 and 422 when it honours ``Idempotency-Key``
STR014   ``x-strata-pii`` (a personal field, masked for callers without the API's ``pii``
         scope) names one of the kinds name, email, phone, address, tax_id, and marks a
         string schema (``type: string`` or ``[string, 'null']``); a query parameter named
         like a marked field of the operation's 2xx responses is marked too (a filter on
         personal data needs the ``pii`` scope), and marks count only on an operation's own
         query parameters
=======  =====================================================================================
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from jsonschema.exceptions import ValidationError
from openapi_spec_validator import validate
from openapi_spec_validator.exceptions import OpenAPISpecValidatorError
from referencing.exceptions import Unresolvable

from gateway.contracts.loader import CONTRACT_NAME, LAYERS, ContractError, ContractFile, bundle, dereference, discover
from policies.pii_filters import misplaced_marks, unmarked_personal_filters
from policies.pii_masks import PII_KEYWORD, PII_KINDS

Severity = Literal["error", "warning"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
UNSAFE_METHODS = frozenset({"post", "put", "patch", "delete"})
ACCESS_LEVELS = ("read", "write", "execute", "admin")
SCOPE_PATTERN = re.compile(
    r"^(?P<layer>[a-z]+):(?P<api>[a-z0-9][a-z0-9-]*(?:/[a-z0-9][a-z0-9-]*)*):(?P<access>[a-z]+)$"
)
IDEMPOTENCY_MODES = ("required", "optional", "none")
LIFECYCLE_STATES = ("active", "deprecated", "retired")
LIFECYCLE_KEYS = frozenset({"state", "deprecated_at", "sunset_at", "successor"})
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
PROBLEM_MEDIA_TYPE = "application/problem+json"
DEFAULT_SUCCESS_MEDIA_TYPE = "application/json"
NO_BODY_STATUSES = frozenset({"204", "205", "304"})
RATE_COST_RANGE = (1, 100)
IDEMPOTENCY_HEADER = "idempotency-key"


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One rule broken at one place of one contract."""

    rule_id: str
    """``STR0xx`` for governance rules, ``OAS`` for the OpenAPI validator."""
    severity: Severity
    location: str
    """``<file>#<JSON pointer>`` into the bundled document."""
    message: str

    def __str__(self) -> str:
        return f"{self.rule_id} {self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Operation:
    path: str
    method: str
    pointer: str
    operation: dict[str, Any]
    parameters: list[dict[str, Any]]
    """Path-item and operation parameters together."""


class _Contract:
    """A loaded contract and the helpers every rule needs."""

    def __init__(self, file: ContractFile, display: str, document: dict[str, Any]) -> None:
        self.file = file
        self.display = display
        self.document = document
        self.bundled: dict[str, Any] = document
        """The bundled document, ``$ref`` kept (rules that must see each schema once walk it)."""

    def finding(self, rule_id: str, pointer: str, message: str, severity: Severity = "error") -> LintFinding:
        return LintFinding(rule_id, severity, f"{self.display}#{pointer}", message)

    def operations(self) -> Iterator[_Operation]:
        for path, item in _mapping(self.document.get("paths")).items():
            if not isinstance(item, dict):
                continue
            shared = [p for p in _list(item.get("parameters")) if isinstance(p, dict)]
            for method in HTTP_METHODS:
                operation = item.get(method)
                if isinstance(operation, dict):
                    own = [p for p in _list(operation.get("parameters")) if isinstance(p, dict)]
                    pointer = f"/paths/{_escape(str(path))}/{method}"
                    yield _Operation(str(path), method, pointer, operation, shared + own)

    @property
    def security_schemes(self) -> dict[str, Any]:
        return _mapping(_mapping(self.document.get("components")).get("securitySchemes"))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def contract_file_for(path: Path) -> ContractFile | None:
    """Layer, API name and version of ``path``, from its place under a contracts folder."""
    match = CONTRACT_NAME.match(path.name)
    if not match:
        return None
    for ancestor in path.parent.resolve().parents:
        relative = path.parent.resolve().relative_to(ancestor).parts
        if relative and relative[0] in LAYERS:
            layer, rest = relative[0], relative[1:]
            if layer == "gateway" and not rest:
                return ContractFile(path=path, layer=layer, name="gateway", version=int(match["version"]))
            if rest:
                return ContractFile(path=path, layer=layer, name="/".join(rest), version=int(match["version"]))
    return None


def lint_contract(path: Path) -> list[LintFinding]:
    """Lint one contract file; its layer/API/version come from where it lies.

    Returns:
        Every finding, validator first; an empty list means the contract is clean.
    """
    display = _display(path)
    file = contract_file_for(path)
    if file is None:
        return [LintFinding("STR000", "error", display, "not at contracts/<layer>/<api>/v<N>.yaml")]
    try:
        bundled = bundle(path)
    except ContractError as exc:
        return [LintFinding("STR000", "error", display, str(exc))]
    findings = list(_validate_openapi(bundled, display))
    try:
        document = dereference(bundled)
    except ContractError as exc:
        return [*findings, LintFinding("STR000", "error", display, str(exc))]
    contract = _Contract(file, display, document)
    contract.bundled = bundled
    for rule in RULES:
        findings.extend(rule(contract))
    return findings


def lint_all(contracts_dir: Path) -> list[LintFinding]:
    """Lint every contract under ``contracts_dir``, plus the rules that span files."""
    findings: list[LintFinding] = []
    contracts = discover(contracts_dir)
    known = {contract.path.resolve() for contract in contracts}
    for layer in LAYERS:
        layer_dir = contracts_dir / layer
        if layer_dir.is_dir():
            for stray in sorted([*layer_dir.rglob("*.yaml"), *layer_dir.rglob("*.yml")]):
                if stray.resolve() not in known:
                    findings.append(
                        LintFinding("STR000", "error", _display(stray), "not a contract name: use <api>/v<N>.yaml")
                    )
    seen: dict[str, list[str]] = defaultdict(list)
    for contract in contracts:
        findings.extend(lint_contract(contract.path))
        try:
            document = load_operations(contract.path)
        except ContractError:
            continue
        for operation_id, location in document:
            seen[operation_id].append(location)
    for operation_id, locations in sorted(seen.items()):
        if len(locations) > 1:
            for location in locations:
                others = ", ".join(other for other in locations if other != location)
                findings.append(
                    LintFinding("STR001", "error", location, f"operationId {operation_id!r} is also used at {others}")
                )
    return findings


def load_operations(path: Path) -> list[tuple[str, str]]:
    """``(operationId, location)`` of every operation of a contract (for cross-file checks)."""
    file = contract_file_for(path)
    if file is None:
        return []
    contract = _Contract(file, _display(path), bundle(path))
    return [
        (op.operation["operationId"], f"{contract.display}#{op.pointer}")
        for op in contract.operations()
        if isinstance(op.operation.get("operationId"), str)
    ]


def _validate_openapi(bundled: dict[str, Any], display: str) -> Iterator[LintFinding]:
    try:
        validate(bundled)
    except ValidationError as exc:
        pointer = "".join(f"/{_escape(str(part))}" for part in exc.absolute_path)
        yield LintFinding("OAS", "error", f"{display}#{pointer}", exc.message)
    except Unresolvable as exc:  # PointerToNowhere and friends: a dangling $ref
        yield LintFinding("OAS", "error", display, f"unresolvable reference: {exc}")
    except (OpenAPISpecValidatorError, ContractError) as exc:
        yield LintFinding("OAS", "error", display, f"not an OpenAPI 3.x document ({exc.__class__.__name__})")


# --- governance rules -------------------------------------------------------------------


def rule_operation_ids(contract: _Contract) -> Iterator[LintFinding]:
    """STR001 (within one file; :func:`lint_all` checks across files)."""
    seen: dict[str, str] = {}
    for op in contract.operations():
        operation_id = op.operation.get("operationId")
        if not isinstance(operation_id, str) or not operation_id.strip():
            yield contract.finding("STR001", op.pointer, f"{op.method.upper()} {op.path} has no operationId")
        elif operation_id in seen:
            yield contract.finding("STR001", op.pointer, f"operationId {operation_id!r} repeats {seen[operation_id]}")
        else:
            seen[operation_id] = f"{op.method.upper()} {op.path}"


def _webhook_scheme_allowed(scheme: dict[str, Any]) -> bool:
    """Hook: which non-OAuth schemes a webhook (``x-strata-webhook: true``) may rely on.

    Exactly one kind: a signature scheme of ours — ``type: apiKey`` carried ``in: header``
    (e.g. ``Stripe-Signature``) and itself marked ``x-strata-webhook: true``, which says the
    handler verifies the header as a signature over the raw body (see
    :mod:`apis.system.payments.webhook`) rather than looking it up as a key. Any other
    scheme (HTTP basic or bearer, an API key in the query or a cookie, an unmarked header
    key) would be a credential the gateway's authentication policy does not check.
    """
    return (
        scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and isinstance(scheme.get("name"), str)
        and scheme.get("x-strata-webhook") is True
    )


def _scope_problem(contract: _Contract, scope: Any) -> str | None:
    if not isinstance(scope, str):
        return f"scope {scope!r} is not a string"
    match = SCOPE_PATTERN.match(scope)
    if not match or match["layer"] not in LAYERS or match["access"] not in ACCESS_LEVELS:
        return f"scope {scope!r} is not <layer>:<api>:<access> with access one of {', '.join(ACCESS_LEVELS)}"
    file = contract.file
    if match["layer"] != file.layer:
        return f"scope {scope!r} is not of this contract's layer {file.layer!r}"
    if file.layer != "gateway" and match["api"] != file.name:
        return f"scope {scope!r} is not of this contract's API {file.layer}:{file.name}"
    return None


def rule_security(contract: _Contract) -> Iterator[LintFinding]:
    """STR002, STR003 and STR012.

    Every broken alternative is reported; an operation with at least one finding here has
    no alternative the gateway should trust until it is fixed.
    """
    for op in contract.operations():
        security = op.operation.get("security")
        if not isinstance(security, list) or not security:
            yield contract.finding("STR002", op.pointer, "declares no security (operation-level `security` required)")
            continue
        uses_oauth = False
        for index, alternative in enumerate(security):
            uses_oauth |= yield from _check_alternative(contract, op, f"{op.pointer}/security/{index}", alternative)
        responses = {str(code) for code in _mapping(op.operation.get("responses"))}
        for status in ("401", "403") if uses_oauth else ("401",):
            if status not in responses:
                message = f"secured operation lacks a {status} response"
                yield contract.finding("STR012", f"{op.pointer}/responses", message)


def _check_alternative(
    contract: _Contract, op: _Operation, pointer: str, alternative: Any
) -> Generator[LintFinding, None, bool]:
    """Yield the findings of one security alternative; return whether it uses OAuth 2.0."""
    if not isinstance(alternative, dict) or not alternative:
        yield contract.finding("STR002", pointer, "an empty alternative allows anonymous access")
        return False
    uses_oauth = False
    for name, scopes in alternative.items():
        scheme = contract.security_schemes.get(name)
        if not isinstance(scheme, dict):
            yield contract.finding("STR003", pointer, f"security scheme {name!r} is not declared")
        elif scheme.get("type") == "oauth2":
            uses_oauth = True
            yield from _check_scopes(contract, f"{pointer}/{_escape(name)}", scheme, scopes)
        elif not (op.operation.get("x-strata-webhook") is True and _webhook_scheme_allowed(scheme)):
            message = f"scheme {name!r} is not OAuth 2.0 (only x-strata-webhook operations may use a signature)"
            yield contract.finding("STR002", pointer, message)
    return uses_oauth


def _check_scopes(contract: _Contract, pointer: str, scheme: dict[str, Any], scopes: Any) -> Iterator[LintFinding]:
    """STR002 (form, own layer and API) and STR003 (declared) for the scopes of one requirement."""
    if not isinstance(scopes, list) or not scopes:
        yield contract.finding("STR002", pointer, "an OAuth 2.0 requirement needs at least one scope")
        return
    declared: set[str] = set()
    for flow in _mapping(scheme.get("flows")).values():
        declared.update(_mapping(_mapping(flow).get("scopes")))
    for scope in scopes:
        problem = _scope_problem(contract, scope)
        if problem:
            yield contract.finding("STR002", pointer, problem)
        elif scope not in declared:
            yield contract.finding("STR003", pointer, f"scope {scope!r} is not declared in the OAuth 2.0 flows")


def rule_problem_responses(contract: _Contract) -> Iterator[LintFinding]:
    """STR004."""
    for op in contract.operations():
        for status, response in _mapping(op.operation.get("responses")).items():
            code = str(status).upper()
            if not (code == "DEFAULT" or code[:1] in ("4", "5")):
                continue
            pointer = f"{op.pointer}/responses/{_escape(str(status))}"
            content = _mapping(_mapping(response).get("content"))
            if PROBLEM_MEDIA_TYPE not in content:
                yield contract.finding("STR004", pointer, f"error response {status} must be {PROBLEM_MEDIA_TYPE}")
            for media_type in content:
                if media_type != PROBLEM_MEDIA_TYPE:
                    yield contract.finding("STR004", pointer, f"error response {status} also offers {media_type!r}")


def rule_servers(contract: _Contract) -> Iterator[LintFinding]:
    """STR005."""
    base_path = contract.file.base_path
    servers = contract.document.get("servers")
    urls = [_mapping(server).get("url") for server in _list(servers)]
    if urls != [base_path]:
        yield contract.finding("STR005", "/servers", f"servers must be exactly [{{url: {base_path}}}], found {urls}")
    for path, item in _mapping(contract.document.get("paths")).items():
        pointer = f"/paths/{_escape(str(path))}"
        if str(path).startswith(base_path + "/") or str(path) == base_path:
            yield contract.finding("STR005", pointer, f"path repeats the base path {base_path}: make it relative")
        if "servers" in _mapping(item):
            yield contract.finding("STR005", pointer, "path-level servers are not allowed")
    for op in contract.operations():
        if "servers" in op.operation:
            yield contract.finding("STR005", op.pointer, "operation-level servers are not allowed")


def rule_idempotency(contract: _Contract) -> Iterator[LintFinding]:
    """STR006."""
    for op in contract.operations():
        mode = op.operation.get("x-strata-idempotency")
        if op.method not in UNSAFE_METHODS:
            continue
        if mode not in IDEMPOTENCY_MODES:
            yield contract.finding(
                "STR006",
                op.pointer,
                f"x-strata-idempotency must be one of {', '.join(IDEMPOTENCY_MODES)}, got {mode!r}",
            )
            continue
        headers = [
            p for p in op.parameters if p.get("in") == "header" and str(p.get("name", "")).lower() == IDEMPOTENCY_HEADER
        ]
        if mode == "none":
            continue
        if not headers:
            yield contract.finding(
                "STR006", op.pointer, f"x-strata-idempotency: {mode} needs an Idempotency-Key header"
            )
        elif (headers[0].get("required") is True) != (mode == "required"):
            wanted = "required" if mode == "required" else "optional"
            yield contract.finding("STR006", op.pointer, f"the Idempotency-Key header must be {wanted} (mode {mode})")


def _rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or not RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None


def rule_info(contract: _Contract) -> Iterator[LintFinding]:
    """STR007 and STR008."""
    info = _mapping(contract.document.get("info"))
    owner = info.get("x-strata-owner")
    if not isinstance(owner, str) or not owner.strip():
        yield contract.finding("STR008", "/info", "info.x-strata-owner must name the owning team")
    pointer = "/info/x-strata-lifecycle"
    lifecycle = info.get("x-strata-lifecycle")
    if not isinstance(lifecycle, dict):
        yield contract.finding(
            "STR007", "/info", "info.x-strata-lifecycle is missing (state: active|deprecated|retired)"
        )
        return
    for key in sorted(set(lifecycle) - LIFECYCLE_KEYS):
        yield contract.finding("STR007", pointer, f"unknown lifecycle key {key!r}")
    state = lifecycle.get("state")
    if state not in LIFECYCLE_STATES:
        yield contract.finding("STR007", pointer, f"state must be one of {', '.join(LIFECYCLE_STATES)}, got {state!r}")
    stamps: dict[str, datetime] = {}
    for key in ("deprecated_at", "sunset_at"):
        if key in lifecycle or state in ("deprecated", "retired"):
            stamp = _rfc3339(lifecycle.get(key))
            if stamp is None:
                yield contract.finding(
                    "STR007", pointer, f"{key} must be a quoted RFC 3339 timestamp, e.g. '2026-01-31T00:00:00Z'"
                )
            else:
                stamps[key] = stamp
    if len(stamps) == 2 and stamps["sunset_at"] < stamps["deprecated_at"]:
        yield contract.finding("STR007", pointer, "sunset_at is before deprecated_at")
    successor = lifecycle.get("successor")
    if successor is not None and (not isinstance(successor, str) or not successor.strip()):
        yield contract.finding("STR007", pointer, "successor must be a path or URL")


def rule_success_media_types(contract: _Contract) -> Iterator[LintFinding]:
    """STR009."""
    for op in contract.operations():
        extra = op.operation.get("x-strata-media-types", [])
        allowed = {DEFAULT_SUCCESS_MEDIA_TYPE, *(media for media in _list(extra) if isinstance(media, str))}
        for status, response in _mapping(op.operation.get("responses")).items():
            code = str(status).upper()
            pointer = f"{op.pointer}/responses/{_escape(str(status))}"
            content = _mapping(_mapping(response).get("content"))
            if code in NO_BODY_STATUSES and content:
                yield contract.finding("STR009", pointer, f"a {code} response has no body: remove its content")
            elif code[:1] == "2":
                for media_type in content:
                    if media_type not in allowed:
                        yield contract.finding(
                            "STR009", pointer, f"{media_type!r} is not application/json nor in x-strata-media-types"
                        )


def rule_rate_cost(contract: _Contract) -> Iterator[LintFinding]:
    """STR010."""
    low, high = RATE_COST_RANGE
    for op in contract.operations():
        if "x-strata-rate-cost" in op.operation:
            cost = op.operation["x-strata-rate-cost"]
            if type(cost) is not int or not low <= cost <= high:
                yield contract.finding("STR010", op.pointer, f"x-strata-rate-cost must be an integer {low}..{high}")


def _is_object(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema


def _open_objects(schema: Any, pointer: str, member: bool = False) -> Iterator[tuple[str, str]]:
    """``(pointer, why)`` of every object schema that accepts unknown members."""
    if not isinstance(schema, dict):
        return
    if "allOf" in schema:
        members = [m for m in _list(schema["allOf"]) if isinstance(m, dict)]
        if (_is_object(schema) or any(_is_object(m) for m in members)) and schema.get(
            "unevaluatedProperties"
        ) is not False:
            yield pointer, "an allOf of objects needs unevaluatedProperties: false"
        for index, sub in enumerate(members):
            yield from _open_objects(sub, f"{pointer}/allOf/{index}", member=True)
    elif _is_object(schema) and not member:
        extra = schema.get("additionalProperties")
        if extra is not False and not isinstance(extra, dict) and schema.get("unevaluatedProperties") is not False:
            yield pointer, "object schema must declare additionalProperties: false"
    for key in ("properties", "patternProperties"):
        for name, sub in _mapping(schema.get(key)).items():
            yield from _open_objects(sub, f"{pointer}/{key}/{_escape(str(name))}")
    for key in ("additionalProperties", "items"):
        yield from _open_objects(schema.get(key), f"{pointer}/{key}")
    for key in ("prefixItems", "oneOf", "anyOf"):
        for index, sub in enumerate(_list(schema.get(key))):
            yield from _open_objects(sub, f"{pointer}/{key}/{index}")


def rule_closed_request_bodies(contract: _Contract) -> Iterator[LintFinding]:
    """STR011."""
    for op in contract.operations():
        content = _mapping(_mapping(op.operation.get("requestBody")).get("content"))
        for media_type, media in content.items():
            if media_type == "application/json" or media_type.endswith("+json"):
                base = f"{op.pointer}/requestBody/content/{_escape(media_type)}/schema"
                for pointer, why in _open_objects(_mapping(media).get("schema"), base):
                    yield contract.finding("STR011", pointer, why)


def rule_pipeline_statuses(contract: _Contract) -> Iterator[LintFinding]:
    """STR013: a client reading the contract knows every answer the gateway may give."""
    for op in contract.operations():
        responses = {str(code) for code in _mapping(op.operation.get("responses"))}
        needed: dict[str, str] = {}
        if op.operation.get("security"):
            needed["429"] = "the rate limit"
        has_parameters = any(
            isinstance(parameter, dict) and str(parameter.get("name", "")).lower() != "idempotency-key"
            for parameter in op.parameters
        )
        if has_parameters or op.operation.get("requestBody"):
            needed["422"] = "the request contract"
        if op.operation.get("requestBody"):
            for status in ("400", "413", "415"):
                needed[status] = "the request limits"
        if op.operation.get("x-strata-idempotency") in ("required", "optional"):
            for status in ("400", "409", "422"):
                needed.setdefault(status, "the idempotency policy")
        for status, source in sorted(needed.items()):
            if status not in responses:
                message = f"does not document {status}, which {source} may answer"
                yield contract.finding("STR013", f"{op.pointer}/responses", message)


def _pii_marks(node: Any, pointer: str, seen: set[int]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(pointer, schema)`` of every schema carrying ``x-strata-pii`` (each object visited once)."""
    if isinstance(node, dict):
        if id(node) in seen:
            return
        seen.add(id(node))
        if PII_KEYWORD in node:
            yield pointer, node
        for key, value in node.items():
            yield from _pii_marks(value, f"{pointer}/{_escape(str(key))}", seen)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _pii_marks(value, f"{pointer}/{index}", seen)


def _is_string_schema(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "string":
        return True
    return isinstance(kind, list) and "string" in kind and set(kind) <= {"string", "null"}


def rule_pii(contract: _Contract) -> Iterator[LintFinding]:
    """STR014: a personal-field mark names a known kind, on a string field; personal filters are marked."""
    yield from _pii_filters(contract)
    for pointer, schema in _pii_marks(contract.bundled, "", set()):
        kind = schema[PII_KEYWORD]
        where = f"{pointer}/{PII_KEYWORD}"
        if kind not in PII_KINDS:
            yield contract.finding("STR014", where, f"unknown kind {kind!r}; one of {', '.join(PII_KINDS)}")
        if not _is_string_schema(schema):
            yield contract.finding(
                "STR014", where, f"a personal field must be a string, not {schema.get('type', 'untyped')!r}"
            )


def _pii_filters(contract: _Contract) -> Iterator[LintFinding]:
    for operation in contract.operations():
        own = [p for p in _list(operation.operation.get("parameters")) if isinstance(p, dict)]
        for index, name, kind in unmarked_personal_filters(operation.operation, own):
            yield contract.finding(
                "STR014",
                f"{operation.pointer}/parameters/{index}/schema",
                f"query parameter {name!r} filters the personal field {name!r} of the responses: mark its schema "
                f"{PII_KEYWORD}: {kind}, so only callers with the API's pii scope can test whether a person exists",
            )
        for index, name in misplaced_marks(own, on_path_item=False):
            yield contract.finding(
                "STR014",
                f"{operation.pointer}/parameters/{index}",
                f"parameter {name!r} is marked {PII_KEYWORD} but is not a query parameter (only filters are checked)",
            )
    for path, item in _mapping(contract.document.get("paths")).items():
        shared = [p for p in _list(_mapping(item).get("parameters")) if isinstance(p, dict)]
        for index, name in misplaced_marks(shared, on_path_item=True):
            yield contract.finding(
                "STR014",
                f"/paths/{_escape(str(path))}/parameters/{index}",
                f"parameter {name!r} is marked {PII_KEYWORD} on the path item: declare it on each operation",
            )


RULES = (
    rule_operation_ids,
    rule_security,
    rule_problem_responses,
    rule_servers,
    rule_idempotency,
    rule_info,
    rule_success_media_types,
    rule_rate_cost,
    rule_closed_request_bodies,
    rule_pipeline_statuses,
    rule_pii,
)


def lint_main(contracts_dir: Path) -> int:
    """``strata contracts lint``: print one line per finding; exit 1 on any error, else 0."""
    findings = lint_all(contracts_dir)
    for finding in findings:
        print(finding)
    errors = sum(1 for finding in findings if finding.severity == "error")
    count = len(discover(contracts_dir))
    print(f"{count} contract(s) linted: {errors} error(s), {len(findings) - errors} warning(s)")
    return 1 if errors else 0
