"""Personal data in a JSON value: where a schema marks it (``x-strata-pii``) and the mask of each mark.

A contract marks a personal string field with ``x-strata-pii: <kind>`` (kinds in
:data:`PII_KINDS`; ``strata contracts lint`` rule STR014 keeps the marks well-formed). From a
dereferenced schema, :func:`mask_plan` builds once the tree of places holding personal data;
:func:`apply_plan` walks a decoded value along it, replacing each marked string by the mask
of its field (or, for a caller allowed to see it, only naming the kinds it holds).

A mask is fixed per field, never derived from the value (so nothing of the value leaks), and
is chosen when the plan is built so that it satisfies the field's own schema — ``type``,
``format``, ``pattern``, ``minLength``, ``maxLength`` — and the masked document still
matches its contract. A field no candidate can satisfy is refused then
(:class:`UnmaskableField`), at start-up, not on a request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The standard library's own regular-expression parser: a mask is built from the parsed pattern.
from re import _constants, _parser  # type: ignore[attr-defined]
from typing import Any

import jsonschema_rs

PII_KEYWORD = "x-strata-pii"
PII_KINDS = ("name", "email", "phone", "address", "tax_id")
"""The kinds of personal data a contract may mark."""

_CANDIDATES: dict[str, tuple[str, ...]] = {
    "name": ("***", "*"),
    "email": ("***@masked.invalid", "*@x.invalid", "x@x.xx"),
    "phone": ("***-***-****", "***", "+10000000000"),
    "address": ("***", "*"),
    "tax_id": ("***", "*"),
}
"""Masks tried in order for each kind; the first the field's schema accepts is its mask."""
_FILLERS = ("*", "0", "X", "x", "A")
"""Characters a last-resort mask is made of (padded to ``minLength``) when no kind's candidate fits."""
_STRING_KEYWORDS = ("format", "pattern", "minLength", "maxLength", "enum", "const")


class UnmaskableField(ValueError):
    """No mask of the field's kind satisfies its schema (a contract to fix)."""


def mask_for(kind: str, schema: Mapping[str, Any]) -> str:
    """The mask of a field marked ``kind``: a string its ``schema`` accepts.

    Raises:
        UnmaskableField: nothing tried satisfies the schema.
    """
    checked = {key: schema[key] for key in _STRING_KEYWORDS if key in schema}
    checked["type"] = "string"
    validator = jsonschema_rs.Draft202012Validator(checked, validate_formats=True)
    low = int(schema.get("minLength", 0))
    tried: list[str] = []
    for candidate in _CANDIDATES.get(kind, ()):
        tried.append(candidate.ljust(low, "*"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        generated = _matching(pattern)
        if generated is not None:
            tried.append(generated)
    high = min(int(schema.get("maxLength", 64)), 64)
    for filler in _FILLERS:
        tried.extend(filler * length for length in range(max(low, 1), max(high, low, 1) + 1))
    for candidate in tried:
        if validator.is_valid(candidate):
            return candidate
    raise UnmaskableField(f"no {kind} mask satisfies the schema {checked}")


_PREFERRED = "0X*x-"
"""Characters a generated mask prefers, in order, where the pattern leaves a choice."""


def _matching(pattern: str) -> str | None:
    """A shortest string matching a simple regular expression (literals, classes, repeats, groups, branches).

    The fixed parts of the pattern are kept (they are the schema's, not a person's); where it
    leaves a choice, :data:`_PREFERRED` characters are picked. None for what this cannot build.
    """
    try:
        parsed = _parser.parse(pattern)
    except re.error:
        return None

    def pick(items: list[tuple[Any, Any]]) -> str | None:
        allowed = [c for c in _PREFERRED if _in_set(c, items)]
        if allowed:
            return allowed[0]
        for op, value in items:
            if op == _constants.LITERAL:
                return chr(value)
            if op == _constants.RANGE:
                return chr(value[0])
        return None

    def build(tokens: Any) -> str | None:
        out: list[str] = []
        for op, value in tokens:
            if op == _constants.LITERAL:
                out.append(chr(value))
            elif op == _constants.IN:
                char = pick(value)
                if char is None:
                    return None
                out.append(char)
            elif op == _constants.ANY:
                out.append("*")
            elif op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT):
                low, _, sub = value
                part = build(sub)
                if part is None:
                    return None
                out.append(part * low)
            elif op == _constants.SUBPATTERN:
                part = build(value[-1])
                if part is None:
                    return None
                out.append(part)
            elif op == _constants.BRANCH:
                parts = [build(branch) for branch in value[1]]
                found = [part for part in parts if part is not None]
                if not found:
                    return None
                out.append(min(found, key=len))
            elif op == _constants.AT:
                continue
            else:
                return None
        return "".join(out)

    return build(parsed)


def _in_set(char: str, items: list[tuple[Any, Any]]) -> bool:
    try:
        return re.fullmatch(_set_source(items), char) is not None
    except re.error:
        return False


def _set_source(items: list[tuple[Any, Any]]) -> str:
    negate = any(op == _constants.NEGATE for op, _ in items)
    parts: list[str] = []
    for op, value in items:
        if op == _constants.LITERAL:
            parts.append(re.escape(chr(value)))
        elif op == _constants.RANGE:
            parts.append(f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}")
        elif op == _constants.CATEGORY:
            parts.append(_CATEGORIES.get(value, ""))
    return f"[{'^' if negate else ''}{''.join(parts)}]"


_CATEGORIES = {
    _constants.CATEGORY_DIGIT: r"\d",
    _constants.CATEGORY_NOT_DIGIT: r"\D",
    _constants.CATEGORY_SPACE: r"\s",
    _constants.CATEGORY_NOT_SPACE: r"\S",
    _constants.CATEGORY_WORD: r"\w",
    _constants.CATEGORY_NOT_WORD: r"\W",
}


@dataclass(frozen=True, slots=True)
class Leaf:
    """A marked string field: its kind and its mask."""

    kind: str
    mask: str


@dataclass(slots=True)
class Node:
    """Where personal data lies below an object or array value."""

    properties: dict[str, Node | Leaf] = field(default_factory=dict)
    items: Node | Leaf | None = None
    """Of every element of an array."""
    values: Node | Leaf | None = None
    """Of every member of a map (``additionalProperties`` with a schema) not in ``properties``."""


Plan = Node | Leaf


def mask_plan(schema: Any) -> Plan | None:
    """The places of personal data in values of a dereferenced ``schema``; None when it marks none.

    Alternatives (``oneOf``, ``anyOf``, ``allOf``) are merged: a value is masked wherever any
    alternative marks the member it holds.

    Raises:
        UnmaskableField: a marked field no mask fits.
    """
    if not isinstance(schema, Mapping):
        return None
    kind = schema.get(PII_KEYWORD)
    if isinstance(kind, str):
        return Leaf(kind, mask_for(kind, schema))
    plan: Plan | None = None
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        node = Node()
        for name, sub in properties.items():
            child = mask_plan(sub)
            if child is not None:
                node.properties[str(name)] = child
        plan = node if node.properties else None
    items = mask_plan(schema.get("items"))
    if items is not None:
        plan = _merge(plan, Node(items=items))
    values = mask_plan(schema.get("additionalProperties"))
    if values is not None:
        plan = _merge(plan, Node(values=values))
    for keyword in ("oneOf", "anyOf", "allOf"):
        alternatives = schema.get(keyword)
        if isinstance(alternatives, list):
            for sub in alternatives:
                plan = _merge(plan, mask_plan(sub))
    return plan


def _merge(left: Plan | None, right: Plan | None) -> Plan | None:
    if left is None or isinstance(left, Leaf):
        return right if left is None else left
    if right is None or isinstance(right, Leaf):
        return left if right is None else right
    for name, child in right.properties.items():
        left.properties[name] = _merge(left.properties.get(name), child) or child
    left.items = _merge(left.items, right.items)
    left.values = _merge(left.values, right.values)
    return left


def apply_plan(plan: Plan, value: Any, kinds: set[str], mask: bool) -> Any:
    """Walk ``value`` along ``plan``; add the kinds of personal data met to ``kinds``.

    With ``mask``, each marked string is replaced by its mask (containers are changed in
    place; the returned value is the one to use). A null or a non-string stays as it is.
    """
    if isinstance(plan, Leaf):
        if isinstance(value, str):
            kinds.add(plan.kind)
            return plan.mask if mask else value
        return value
    if isinstance(value, dict):
        for name, child in plan.properties.items():
            if name in value:
                value[name] = apply_plan(child, value[name], kinds, mask)
        if plan.values is not None:
            for name in value:
                if name not in plan.properties:
                    value[name] = apply_plan(plan.values, value[name], kinds, mask)
    elif isinstance(value, list) and plan.items is not None:
        for index, element in enumerate(value):
            value[index] = apply_plan(plan.items, element, kinds, mask)
    return value


def marked_fields(schema: Any, pointer: str = "") -> Iterable[tuple[str, str, Mapping[str, Any]]]:
    """``(pointer, kind, schema)`` of every marked field under ``schema`` (for checks and tests)."""
    if isinstance(schema, Mapping):
        kind = schema.get(PII_KEYWORD)
        if isinstance(kind, str):
            yield pointer, kind, schema
        for key, sub in schema.items():
            yield from marked_fields(sub, f"{pointer}/{key}")
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            yield from marked_fields(sub, f"{pointer}/{index}")
