"""Breaking-change detection between two versions of one contract.

Both documents are bundled and dereferenced (:func:`load_for_diff` does it for a YAML
contract or a JSON baseline). Operations are matched by method and path template, with
path parameter names ignored (``/a/{id}`` and ``/a/{a_id}`` are the same route).

Direction rules
---------------
A schema describes a set of values. A change is breaking when an existing client can be
hurt by it, which depends on who produces the value:

* **Requests are contravariant** — clients produce them, so the new schema must accept
  everything the old one accepted. *Narrowing* is breaking: a type or enum value removed,
  an enum or ``const`` introduced, ``maxLength`` / ``maximum`` / ``maxItems`` lowered or
  introduced, ``minLength`` / ``minimum`` / ``minItems`` raised or introduced, a
  ``pattern`` or ``format`` introduced, a property newly required, a property removed
  while unknown properties are now refused, ``additionalProperties`` closed, a
  ``oneOf``/``anyOf`` branch removed, a new required parameter or body.
* **Responses are covariant** — the gateway produces them, so everything the new schema
  allows must have been allowed before. *Widening* is breaking: a type added (including
  ``null``: a field becoming nullable), an enum value added, a bound relaxed or dropped,
  a property no longer required (a field becoming optional), a ``oneOf``/``anyOf``
  branch added. A removed response property is breaking whatever the schema says.
  One deliberate exception (tolerant reader): *new* response properties and an opened
  ``additionalProperties`` are not breaking; consumers must ignore members they don't know.
* A change whose direction cannot be decided (a ``pattern``, ``format`` or
  ``multipleOf`` replaced by another) is breaking both ways.

Outside schemas: a removed path, operation, status code or media type is breaking; so is
a changed set of 2xx status codes, a new required parameter, an optional parameter made
required, a removed parameter or response header, stricter security (an old scope set no
longer satisfies any alternative), and ``x-strata-idempotency`` becoming ``required``.
Additions (operations, optional parameters and fields, error statuses, media types)
are not breaking.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gateway.contracts.loader import ContractError, bundle, dereference

Direction = Literal["request", "response"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
OPAQUE_KEYWORDS = ("pattern", "format", "multipleOf")
PATH_PARAMETER = re.compile(r"\{[^}/]*\}")


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two versions of a contract."""

    kind: str
    """Stable identifier, e.g. ``operation-removed``, ``enum-narrowed``."""
    breaking: bool
    location: str
    """Human-readable place: ``GET /widgets response 200 application/json body.items[].name``."""
    message: str

    def __str__(self) -> str:
        label = "BREAKING" if self.breaking else "ok"
        return f"{label} {self.kind} {self.location}: {self.message}"


class _Collector:
    def __init__(self) -> None:
        self.changes: list[Change] = []

    def add(self, kind: str, breaking: bool, location: str, message: str) -> None:
        self.changes.append(Change(kind, breaking, location, message))

    def directed(self, kind: str, direction: Direction, narrowed: bool | None, location: str, message: str) -> None:
        """Record a schema change; ``narrowed=None`` means both narrower and wider (breaking either way)."""
        breaking = True if narrowed is None else narrowed == (direction == "request")
        self.add(kind, breaking, location, f"{direction} {message}")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def load_for_diff(path: Path) -> dict[str, Any]:
    """A contract (``.yaml``, bundled here) or a baseline (``.json``), dereferenced."""
    if path.suffix == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ContractError(f"{path}: cannot read JSON ({exc})") from None
        if not isinstance(document, dict):
            raise ContractError(f"{path}: not a JSON object")
        return dereference(document)
    return dereference(bundle(path))


def diff_contracts(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new`` (both bundled and dereferenced), breaking or not."""
    out = _Collector()
    old_ops, new_ops = _operations(old), _operations(new)
    old_paths = _path_names(old)
    new_paths = _path_names(new)
    for path in sorted(old_paths.keys() - new_paths.keys()):
        out.add("path-removed", True, old_paths[path], "path removed")
    for path in sorted(new_paths.keys() - old_paths.keys()):
        out.add("path-added", False, new_paths[path], "path added")
    for key, (label, old_op) in old_ops.items():
        if key not in new_ops:
            if key[1] in new_paths:
                out.add("operation-removed", True, label, "operation removed")
            continue
        _diff_operation(out, new_ops[key][0], old_op, new_ops[key][1])
    for key, (label, _) in new_ops.items():
        if key not in old_ops and key[1] in old_paths:
            out.add("operation-added", False, label, "operation added")
    old_servers = [_mapping(s).get("url") for s in _list(old.get("servers"))]
    new_servers = [_mapping(s).get("url") for s in _list(new.get("servers"))]
    if old_servers != new_servers:
        out.add("servers-changed", True, "servers", f"base path changed from {old_servers} to {new_servers}")
    return out.changes


def _path_names(document: dict[str, Any]) -> dict[str, str]:
    """``normalized path -> path as written``."""
    return {PATH_PARAMETER.sub("{}", str(path)): str(path) for path in _mapping(document.get("paths"))}


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """``(method, normalized path) -> (label, operation with path-level parameters merged)``."""
    found: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for path, item in _mapping(document.get("paths")).items():
        item = _mapping(item)
        shared = _list(item.get("parameters"))
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                merged = dict(operation)
                merged["parameters"] = _merge_parameters(shared, _list(operation.get("parameters")))
                found[(method, PATH_PARAMETER.sub("{}", str(path)))] = (f"{method.upper()} {path}", merged)
    return found


def _merge_parameters(shared: list[Any], own: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for parameter in [*shared, *own]:  # operation-level parameters override path-level ones
        if isinstance(parameter, dict):
            where = str(parameter.get("in", ""))
            name = str(parameter.get("name", ""))
            # header names are case-insensitive; path parameter names don't matter to clients
            key = name.lower() if where == "header" else name
            merged[(where, "" if where == "path" else key)] = parameter
    return merged


def _diff_operation(out: _Collector, label: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    _diff_parameters(out, label, old["parameters"], new["parameters"])
    _diff_request_body(out, label, _mapping(old.get("requestBody")), _mapping(new.get("requestBody")))
    _diff_responses(out, label, _mapping(old.get("responses")), _mapping(new.get("responses")))
    _diff_security(out, label, old.get("security"), new.get("security"))
    if old.get("x-strata-idempotency") != "required" and new.get("x-strata-idempotency") == "required":
        out.add("idempotency-required", True, label, "an Idempotency-Key is now required")


def _diff_parameters(
    out: _Collector,
    label: str,
    old: dict[tuple[str, str], dict[str, Any]],
    new: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for key, parameter in new.items():
        where = f"{label} parameter {key[0]} {parameter.get('name')}"
        if key not in old:
            required = parameter.get("required") is True
            kind = "parameter-added-required" if required else "parameter-added"
            out.add(kind, required, where, f"{'required' if required else 'optional'} parameter added")
            continue
        if old[key].get("required") is not True and parameter.get("required") is True:
            out.add("parameter-now-required", True, where, "optional parameter became required")
        elif old[key].get("required") is True and parameter.get("required") is not True:
            out.add("parameter-now-optional", False, where, "required parameter became optional")
        _diff_schema(out, "request", where, old[key].get("schema"), parameter.get("schema"))
    for key, parameter in old.items():
        if key not in new:
            where = f"{label} parameter {key[0]} {parameter.get('name')}"
            out.add("parameter-removed", True, where, "parameter removed (clients sending it are refused or ignored)")


def _diff_request_body(out: _Collector, label: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    where = f"{label} request"
    if old and not new:
        out.add("request-body-removed", True, where, "request body removed")
        return
    if new and not old:
        required = new.get("required") is True
        out.add("request-body-added", required, where, f"{'required' if required else 'optional'} request body added")
        return
    if old.get("required") is not True and new.get("required") is True:
        out.add("request-body-now-required", True, where, "request body became required")
    old_content, new_content = _mapping(old.get("content")), _mapping(new.get("content"))
    for media_type in old_content:
        if media_type not in new_content:
            out.add("request-media-type-removed", True, where, f"{media_type} no longer accepted")
    for media_type, media in new_content.items():
        if media_type not in old_content:
            out.add("request-media-type-added", False, where, f"{media_type} now accepted")
        else:
            old_schema = _mapping(old_content[media_type]).get("schema")
            _diff_schema(out, "request", f"{where} {media_type} body", old_schema, _mapping(media).get("schema"))


def _is_success(status: str) -> bool:
    return status.upper().startswith("2")


def _diff_responses(out: _Collector, label: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_codes, new_codes = {str(code) for code in old}, {str(code) for code in new}
    old_ok, new_ok = {c for c in old_codes if _is_success(c)}, {c for c in new_codes if _is_success(c)}
    if old_ok != new_ok:
        out.add("success-statuses-changed", True, label, f"success statuses {sorted(old_ok)} became {sorted(new_ok)}")
    old_by_code = {str(code): _mapping(response) for code, response in old.items()}
    for code, response in ((str(c), _mapping(r)) for c, r in new.items()):
        where = f"{label} response {code}"
        if code not in old_by_code:
            if not _is_success(code):
                out.add("response-added", False, where, "response status added")
            continue
        _diff_response(out, where, old_by_code[code], response)
    for code in sorted(old_codes - new_codes):
        out.add("response-removed", True, f"{label} response {code}", "response status removed")


def _diff_response(out: _Collector, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_headers = {name.lower() for name in _mapping(old.get("headers"))}
    new_headers = {name.lower() for name in _mapping(new.get("headers"))}
    for name in sorted(old_headers - new_headers):
        out.add("response-header-removed", True, where, f"header {name} no longer documented")
    old_content, new_content = _mapping(old.get("content")), _mapping(new.get("content"))
    for media_type in old_content:
        if media_type not in new_content:
            out.add("response-media-type-removed", True, where, f"{media_type} no longer returned")
    for media_type, media in new_content.items():
        if media_type not in old_content:
            out.add("response-media-type-added", False, where, f"{media_type} may now be returned")
        else:
            old_schema = _mapping(old_content[media_type]).get("schema")
            _diff_schema(out, "response", f"{where} {media_type} body", old_schema, _mapping(media).get("schema"))


def _alternatives(security: Any) -> list[dict[str, frozenset[str]]]:
    return [
        {name: frozenset(_list(scopes)) for name, scopes in alternative.items()}
        for alternative in _list(security)
        if isinstance(alternative, dict)
    ]


def _satisfies(held: dict[str, frozenset[str]], needed: dict[str, frozenset[str]]) -> bool:
    return all(name in held and scopes <= held[name] for name, scopes in needed.items())


def _diff_security(out: _Collector, label: str, old: Any, new: Any) -> None:
    """Breaking when a client that satisfied an old alternative satisfies no new one."""
    old_alternatives, new_alternatives = _alternatives(old), _alternatives(new)
    if not old_alternatives:
        if new_alternatives:
            out.add("security-added", True, label, "operation now requires authentication")
        return
    for held in old_alternatives:
        if not any(_satisfies(held, needed) for needed in new_alternatives):
            wanted = "; ".join(" + ".join(f"{n}:{sorted(s)}" for n, s in alt.items()) for alt in new_alternatives)
            out.add("security-tightened", True, label, f"a client holding {_show(held)} no longer passes ({wanted})")
    if old_alternatives != new_alternatives and all(
        any(_satisfies(held, needed) for needed in new_alternatives) for held in old_alternatives
    ):
        out.add("security-relaxed", False, label, "security alternatives changed without tightening")


def _show(alternative: dict[str, frozenset[str]]) -> str:
    return " + ".join(f"{name}:{sorted(scopes)}" for name, scopes in alternative.items())


# --- schemas ----------------------------------------------------------------------------


def _flatten(schema: Any) -> dict[str, Any]:
    """Merge ``allOf`` members into one schema (properties, required, the rest shallowly)."""
    if not isinstance(schema, dict):
        return {}
    if "allOf" not in schema:
        return schema
    merged: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    required: list[Any] = []
    for part in [
        *(_flatten(member) for member in _list(schema["allOf"])),
        {k: v for k, v in schema.items() if k != "allOf"},
    ]:
        properties.update(_mapping(part.get("properties")))
        required.extend(_list(part.get("required")))
        merged.update({key: value for key, value in part.items() if key not in ("properties", "required")})
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = sorted(set(map(str, required)))
    return merged


def _types(schema: dict[str, Any]) -> set[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None
    return {str(t) for t in kind} if isinstance(kind, list) else {str(kind)}


def _covers(types: set[str], kind: str) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    return _list(schema["enum"]) if "enum" in schema else None


def _diff_schema(out: _Collector, direction: Direction, where: str, old_raw: Any, new_raw: Any) -> None:
    old, new = _flatten(old_raw), _flatten(new_raw)
    if old == new:
        return
    _diff_types(out, direction, where, old, new)
    _diff_enums(out, direction, where, _enum(old), _enum(new))
    _diff_bounds(out, direction, where, old, new)
    _diff_properties(out, direction, where, old, new)
    if isinstance(old.get("items"), dict) or isinstance(new.get("items"), dict):
        _diff_schema(out, direction, f"{where}[]", old.get("items"), new.get("items"))
    for keyword in ("oneOf", "anyOf"):
        old_branches, new_branches = _list(old.get(keyword)), _list(new.get(keyword))
        for index, (old_branch, new_branch) in enumerate(zip(old_branches, new_branches, strict=False)):
            _diff_schema(out, direction, f"{where}<{keyword}[{index}]>", old_branch, new_branch)
        if len(new_branches) != len(old_branches) and old_branches and new_branches:
            narrowed = len(new_branches) < len(old_branches)
            out.directed(
                f"{keyword}-changed",
                direction,
                narrowed,
                where,
                f"{keyword} branches {len(old_branches)} -> {len(new_branches)}",
            )


def _diff_types(out: _Collector, direction: Direction, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    old_types, new_types = _types(old), _types(new)
    if old_types == new_types:
        return
    if old_types is None:
        out.directed("type-narrowed", direction, True, where, f"type restricted to {sorted(new_types or ())}")
        return
    if new_types is None:
        out.directed("type-widened", direction, False, where, f"type {sorted(old_types)} no longer restricted")
        return
    removed = sorted(t for t in old_types if not _covers(new_types, t))
    added = sorted(t for t in new_types if not _covers(old_types, t))
    if removed:
        out.directed("type-narrowed", direction, True, where, f"type(s) {removed} no longer allowed")
    if added:
        out.directed("type-widened", direction, False, where, f"type(s) {added} now allowed")


def _diff_enums(
    out: _Collector, direction: Direction, where: str, old: list[Any] | None, new: list[Any] | None
) -> None:
    if old == new:
        return
    if old is None:
        out.directed("enum-narrowed", direction, True, where, f"values restricted to {new}")
        return
    if new is None:
        out.directed("enum-widened", direction, False, where, "enumeration removed")
        return
    removed = [value for value in old if value not in new]
    added = [value for value in new if value not in old]
    if removed:
        out.directed("enum-narrowed", direction, True, where, f"value(s) {removed} removed")
    if added:
        out.directed("enum-widened", direction, False, where, f"value(s) {added} added")


def _diff_bounds(out: _Collector, direction: Direction, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    for keyword in (*UPPER_BOUNDS, *LOWER_BOUNDS):
        before, after = old.get(keyword), new.get(keyword)
        if before == after or isinstance(before, bool) or isinstance(after, bool):
            continue
        upper = keyword in UPPER_BOUNDS
        if before is None or after is None:
            narrowed = before is None  # a bound introduced narrows, a bound dropped widens
        elif not isinstance(before, int | float) or not isinstance(after, int | float):
            continue
        else:
            narrowed = after < before if upper else after > before
        kind = "constraint-tightened" if narrowed else "constraint-relaxed"
        out.directed(kind, direction, narrowed, where, f"{keyword} {before} -> {after}")
    for keyword in OPAQUE_KEYWORDS:
        before, after = old.get(keyword), new.get(keyword)
        if before != after:
            either = None if before is not None and after is not None else before is None
            out.directed(f"{keyword}-changed", direction, either, where, f"{keyword} {before!r} -> {after!r}")
    if old.get("uniqueItems") is not True and new.get("uniqueItems") is True:
        out.directed("constraint-tightened", direction, True, where, "uniqueItems now required")


def _closed(schema: dict[str, Any]) -> bool:
    return schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False


def _diff_properties(
    out: _Collector, direction: Direction, where: str, old: dict[str, Any], new: dict[str, Any]
) -> None:
    old_props, new_props = _mapping(old.get("properties")), _mapping(new.get("properties"))
    old_required = {str(name) for name in _list(old.get("required"))}
    new_required = {str(name) for name in _list(new.get("required"))}
    prefix = f"{where}." if not where.endswith("body") else f"{where} "
    for name in old_props:
        field = f"{prefix}{name}"
        if name not in new_props:
            if direction == "response":
                out.add("property-removed", True, field, "response property removed")
            else:
                # still accepted (and ignored) unless unknown members are now refused
                out.directed("property-removed", direction, _closed(new), field, "property no longer accepted")
        else:
            _diff_schema(out, direction, field, old_props[name], new_props[name])
    for name in new_props:
        if name not in old_props and not (direction == "request" and name in new_required):
            out.add("property-added", False, f"{prefix}{name}", f"{direction} property added")
    for name in sorted(new_required - old_required):
        out.directed("property-now-required", direction, True, f"{prefix}{name}", "property became required")
    for name in sorted(old_required - new_required):
        out.directed("property-now-optional", direction, False, f"{prefix}{name}", "property no longer required")
    if direction == "request" and not _closed(old) and _closed(new):
        out.add("additional-properties-closed", True, where, "unknown properties are now refused")
    elif direction == "request" and _closed(old) and not _closed(new):
        out.add("additional-properties-opened", False, where, "unknown properties are now accepted")
    elif isinstance(old.get("additionalProperties"), dict) and isinstance(new.get("additionalProperties"), dict):
        _diff_schema(out, direction, f"{where}{{*}}", old["additionalProperties"], new["additionalProperties"])


def diff_main(old_path: Path, new_path: Path) -> int:
    """``strata contracts diff OLD NEW``: print every change; 1 if any is breaking, 2 if unreadable."""
    try:
        changes = diff_contracts(load_for_diff(old_path), load_for_diff(new_path))
    except ContractError as exc:
        print(f"error: {exc}")
        return 2
    for change in changes:
        print(change)
    breaking = sum(1 for change in changes if change.breaking)
    print(f"{len(changes)} change(s), {breaking} breaking")
    return 1 if breaking else 0
