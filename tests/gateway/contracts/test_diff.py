"""Breaking-change detection: each kind of change, in both directions where it matters."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.contracts.diff import Change, diff_contracts, diff_main, load_for_diff
from tests.gateway.contracts.conftest import FIXTURE_TREE, WIDGETS

WIDGETS_DOC = load_for_diff(FIXTURE_TREE / WIDGETS)
LIST, ONE = "/widgets", "/widgets/{widget_id}"


def _changed(mutate: Callable[[dict[str, Any]], None]) -> list[Change]:
    new = copy.deepcopy(WIDGETS_DOC)
    mutate(new)
    return diff_contracts(WIDGETS_DOC, new)


def _kinds(changes: list[Change]) -> dict[str, bool]:
    return {change.kind: change.breaking for change in changes}


def _op(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def _create_schema(document: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = _op(document, LIST, "post")["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _widget_schema(document: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = _op(document, ONE, "get")["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


def test_identical_documents_have_no_changes() -> None:
    assert diff_contracts(WIDGETS_DOC, copy.deepcopy(WIDGETS_DOC)) == []


def test_renamed_path_parameter_is_the_same_route() -> None:
    def rename(document: dict[str, Any]) -> None:
        document["paths"]["/widgets/{id}"] = document["paths"].pop(ONE)

    assert _changed(rename) == []


def _add_param(required: bool) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        _op(document, LIST, "get")["parameters"].append(
            {"name": "colour", "in": "query", "required": required, "schema": {"type": "string"}}
        )

    return mutate


def _set_required(schema_of: Callable[[dict[str, Any]], dict[str, Any]], required: list[str]) -> Any:
    return lambda d: schema_of(d).__setitem__("required", required)


OPERATION_CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, bool]] = [
    ("path removed", lambda d: d["paths"].pop(ONE), "path-removed", True),
    ("path added", lambda d: d["paths"].__setitem__("/gadgets", d["paths"][LIST]), "path-added", False),
    ("operation removed", lambda d: d["paths"][ONE].pop("delete"), "operation-removed", True),
    ("operation added", lambda d: d["paths"][ONE].__setitem__("put", _op(d, LIST, "post")), "operation-added", False),
    ("status removed", lambda d: _op(d, ONE, "get")["responses"].pop("404"), "response-removed", True),
    (
        "success status changed",
        lambda d: _op(d, LIST, "post")["responses"].__setitem__("200", _op(d, LIST, "post")["responses"].pop("201")),
        "success-statuses-changed",
        True,
    ),
    (
        "success status added",
        lambda d: _op(d, LIST, "post")["responses"].__setitem__("200", _op(d, LIST, "post")["responses"]["201"]),
        "success-statuses-changed",
        True,
    ),
    (
        "error status added",
        lambda d: _op(d, LIST, "post")["responses"].__setitem__("410", _op(d, LIST, "post")["responses"]["422"]),
        "response-added",
        False,
    ),
    ("required parameter added", _add_param(True), "parameter-added-required", True),
    ("optional parameter added", _add_param(False), "parameter-added", False),
    (
        "parameter became required",
        lambda d: _op(d, LIST, "get")["parameters"][0].__setitem__("required", True),
        "parameter-now-required",
        True,
    ),
    ("parameter removed", lambda d: _op(d, LIST, "get")["parameters"].pop(1), "parameter-removed", True),
    (
        "parameter maximum lowered",
        lambda d: _op(d, LIST, "get")["parameters"][0]["schema"].__setitem__("maximum", 100),
        "constraint-tightened",
        True,
    ),
    (
        "scope added",
        lambda d: _op(d, LIST, "get").__setitem__(
            "security", [{"oauth2": ["system:widgets:read", "system:widgets:admin"]}]
        ),
        "security-tightened",
        True,
    ),
    (
        "alternative removed",
        lambda d: _op(d, ONE, "delete").__setitem__("security", [{"oauth2": ["system:widgets:admin"]}]),
        "security-tightened",
        True,
    ),
    (
        "alternative added",
        lambda d: _op(d, LIST, "get")["security"].append({"oauth2": ["system:widgets:admin"]}),
        "security-relaxed",
        False,
    ),
    (
        "idempotency now required",
        lambda d: _op(d, ONE, "delete").__setitem__("x-strata-idempotency", "required"),
        "idempotency-required",
        True,
    ),
    ("request body removed", lambda d: _op(d, LIST, "post").pop("requestBody"), "request-body-removed", True),
    (
        "required request body added",
        lambda d: _op(d, ONE, "delete").__setitem__("requestBody", _op(d, LIST, "post")["requestBody"]),
        "request-body-added",
        True,
    ),
    (
        "request media type removed",
        lambda d: _op(d, LIST, "post")["requestBody"].__setitem__("content", {"application/merge-patch+json": {}}),
        "request-media-type-removed",
        True,
    ),
    # request bodies: contravariant
    (
        "request field newly required",
        _set_required(_create_schema, ["name", "price", "tags"]),
        "property-now-required",
        True,
    ),
    ("request field no longer required", _set_required(_create_schema, ["name"]), "property-now-optional", False),
    (
        "request optional field added",
        lambda d: _create_schema(d)["properties"].__setitem__("sku", {"type": "string"}),
        "property-added",
        False,
    ),
    (
        "request field removed from a closed schema",
        lambda d: _create_schema(d)["properties"].pop("tags"),
        "property-removed",
        True,
    ),
    (
        "request maxLength lowered",
        lambda d: _create_schema(d)["properties"]["name"].__setitem__("maxLength", 40),
        "constraint-tightened",
        True,
    ),
    (
        "request maxLength raised",
        lambda d: _create_schema(d)["properties"]["name"].__setitem__("maxLength", 200),
        "constraint-relaxed",
        False,
    ),
    (
        "request nested minimum raised",
        lambda d: _create_schema(d)["properties"]["dimensions"]["properties"]["width"].__setitem__("minimum", 1),
        "constraint-tightened",
        True,
    ),
    (
        "request nested type narrowed",
        lambda d: _create_schema(d)["properties"]["dimensions"]["properties"]["width"].__setitem__("type", "integer"),
        "type-narrowed",
        True,
    ),
    (
        "request field made nullable",
        lambda d: _create_schema(d)["properties"]["name"].__setitem__("type", ["string", "null"]),
        "type-widened",
        False,
    ),
    (
        "request array items narrowed",
        lambda d: _create_schema(d)["properties"]["tags"]["items"].__setitem__("enum", ["red", "blue"]),
        "enum-narrowed",
        True,
    ),
    (
        "request pattern changed (shared schema)",
        lambda d: _create_schema(d)["properties"]["price"]["properties"]["currency"].__setitem__("pattern", "^EUR$"),
        "pattern-changed",
        True,
    ),
    (
        "request unknown members refused",
        lambda d: _op(d, LIST, "post")["requestBody"]["content"]["application/json"].__setitem__(
            "schema", {**_create_schema(d), "additionalProperties": False, "properties": {}}
        ),
        "property-removed",
        True,
    ),
    # responses: covariant
    ("response field removed", lambda d: _widget_schema(d)["properties"].pop("tags"), "property-removed", True),
    (
        "response field became optional",
        _set_required(_widget_schema, ["id", "name", "price"]),
        "property-now-optional",
        True,
    ),
    (
        "response field became nullable",
        lambda d: _widget_schema(d)["properties"]["name"].__setitem__("type", ["string", "null"]),
        "type-widened",
        True,
    ),
    (
        "response enum value added",
        lambda d: _widget_schema(d)["properties"]["status"]["enum"].append("archived"),
        "enum-widened",
        True,
    ),
    (
        "response enum value removed",
        lambda d: _widget_schema(d)["properties"]["status"]["enum"].remove("draft"),
        "enum-narrowed",
        False,
    ),
    (
        "response field added",
        lambda d: _widget_schema(d)["properties"].__setitem__("colour", {"type": "string"}),
        "property-added",
        False,
    ),
    (
        "response maxLength raised",
        lambda d: _widget_schema(d)["properties"]["name"].__setitem__("maxLength", 200),
        "constraint-relaxed",
        True,
    ),
    (
        "response maxLength lowered",
        lambda d: _widget_schema(d)["properties"]["name"].__setitem__("maxLength", 40),
        "constraint-tightened",
        False,
    ),
    (
        "response nested item field removed",
        lambda d: _op(d, LIST, "get")["responses"]["200"]["content"]["application/json"]["schema"]["properties"][
            "items"
        ]["items"]["properties"].pop("price"),
        "property-removed",
        True,
    ),
]


@pytest.mark.parametrize(
    ("mutate", "kind", "breaking"),
    [case[1:] for case in OPERATION_CASES],
    ids=[case[0] for case in OPERATION_CASES],
)
def test_change_kind_and_verdict(mutate: Callable[[dict[str, Any]], None], kind: str, breaking: bool) -> None:
    changes = _changed(mutate)
    kinds = _kinds(changes)
    assert kind in kinds, changes
    assert kinds[kind] is breaking, changes


def test_request_field_removed_from_an_open_schema_is_not_breaking() -> None:
    def mutate(document: dict[str, Any]) -> None:
        schema = _create_schema(document)
        schema.pop("additionalProperties")
        schema["properties"].pop("tags")

    old = copy.deepcopy(WIDGETS_DOC)
    _create_schema(old).pop("additionalProperties")
    new = copy.deepcopy(WIDGETS_DOC)
    mutate(new)
    changes = diff_contracts(old, new)
    assert _kinds(changes) == {"property-removed": False}


def _doc(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return {
        "paths": {
            "/x": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": request}}},
                    "responses": {"200": {"content": {"application/json": {"schema": response}}}},
                }
            }
        }
    }


BRANCHES = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
MORE_BRANCHES = {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}
OBJECT_A = {"type": "object", "properties": {"a": {"type": "string"}}}


@pytest.mark.parametrize(
    ("old", "new", "direction", "kind", "breaking"),
    [
        (BRANCHES, MORE_BRANCHES, "request", "oneOf-changed", False),
        (BRANCHES, MORE_BRANCHES, "response", "oneOf-changed", True),
        (MORE_BRANCHES, BRANCHES, "request", "oneOf-changed", True),
        ({"type": "string"}, {"type": "string", "pattern": "^a"}, "request", "pattern-changed", True),
        ({"type": "string"}, {"type": "string", "pattern": "^a"}, "response", "pattern-changed", False),
        ({"type": "string", "pattern": "^a"}, {"type": "string"}, "request", "pattern-changed", False),
        (
            {"type": "string", "format": "email"},
            {"type": "string", "format": "uri"},
            "response",
            "format-changed",
            True,
        ),
        ({"type": "string"}, {"type": "string", "enum": ["a"]}, "request", "enum-narrowed", True),
        ({"type": "string", "enum": ["a"]}, {"type": "string"}, "response", "enum-widened", True),
        ({"type": "string", "const": "a"}, {"type": "string", "enum": ["a", "b"]}, "request", "enum-widened", False),
        ({"type": "integer"}, {"type": "number"}, "request", "type-widened", False),
        ({"type": "number"}, {"type": "integer"}, "response", "type-narrowed", False),
        (
            {"type": "array", "items": {"type": "string"}},
            {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "request",
            "constraint-tightened",
            True,
        ),
        (
            {"allOf": [OBJECT_A, {"type": "object", "properties": {"b": {"type": "string"}}}]},
            {"allOf": [OBJECT_A]},
            "response",
            "property-removed",
            True,
        ),
        (OBJECT_A, {**OBJECT_A, "additionalProperties": False}, "request", "additional-properties-closed", True),
        (
            {"type": "object", "additionalProperties": {"type": "string"}},
            {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}},
            "request",
            "constraint-tightened",
            True,
        ),
    ],
)
def test_schema_direction_rules(old: Any, new: Any, direction: str, kind: str, breaking: bool) -> None:
    filler: dict[str, Any] = {}
    pair = (_doc(old, filler), _doc(new, filler)) if direction == "request" else (_doc(filler, old), _doc(filler, new))
    changes = diff_contracts(*pair)
    assert kind in _kinds(changes), changes
    assert _kinds(changes)[kind] is breaking, changes
    assert all(change.location.startswith("POST /x") for change in changes)


def test_response_header_removed_is_breaking() -> None:
    old = _doc({}, {})
    old["paths"]["/x"]["post"]["responses"]["200"]["headers"] = {"Link": {"schema": {"type": "string"}}}
    assert _kinds(diff_contracts(old, _doc({}, {}))) == {"response-header-removed": True}


def test_location_names_the_field() -> None:
    changes = _changed(lambda d: _widget_schema(d)["properties"]["price"]["properties"].pop("currency"))
    locations = [change.location for change in changes if change.kind == "property-removed"]
    assert locations == ["GET /widgets/{widget_id} response 200 application/json body price.currency"]


def test_diff_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    contract = FIXTURE_TREE / WIDGETS
    baseline = tmp_path / "v1.json"
    baseline.write_text(json.dumps(WIDGETS_DOC))
    assert diff_main(baseline, contract) == 0
    assert "0 change(s), 0 breaking" in capsys.readouterr().out
    changed = copy.deepcopy(WIDGETS_DOC)
    changed["paths"].pop(ONE)
    baseline.write_text(json.dumps(changed))
    assert diff_main(contract, baseline) == 1
    assert "BREAKING path-removed /widgets/{widget_id}: path removed" in capsys.readouterr().out
    assert diff_main(tmp_path / "missing.json", contract) == 2
