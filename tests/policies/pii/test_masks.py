"""Masks of personal fields: every marked field of every contract, against its own schema.

And the lint rule that keeps the marks well-formed (STR014), from a contract author's side.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from core.settings import PROJECT_ROOT
from gateway.contracts.lint import lint_contract
from gateway.contracts.loader import bundle, dereference, discover
from policies.pii import response_plans
from policies.pii_masks import PII_KINDS, Node, UnmaskableField, apply_plan, marked_fields, mask_for, mask_plan
from policies.request_contract import compile_operation

CONTRACTS = PROJECT_ROOT / "contracts"
DOCUMENTS = {contract.api_id: dereference(bundle(contract.path)) for contract in discover(CONTRACTS)}
MARKED = [
    (api_id, pointer, kind, schema)
    for api_id, document in DOCUMENTS.items()
    for pointer, kind, schema in marked_fields(document)
]


def test_the_contracts_mark_each_kind_and_the_apis_that_return_customers_and_contacts() -> None:
    kinds = {kind for _, _, kind, _ in MARKED}
    assert kinds == set(PII_KINDS)
    apis = {api_id for api_id, *_ in MARKED}
    assert {"system/crm/v1", "system/erp/v1", "system/billing/v1"} <= apis


@pytest.mark.parametrize(("api_id", "pointer", "kind", "schema"), MARKED, ids=[f"{m[0]}{m[1]}" for m in MARKED])
def test_each_mask_satisfies_its_own_field(api_id: str, pointer: str, kind: str, schema: dict[str, Any]) -> None:
    mask = mask_for(kind, schema)
    cleaned = {key: value for key, value in schema.items() if not key.startswith("x-") and key != "examples"}
    assert jsonschema_rs.Draft202012Validator(cleaned, validate_formats=True).is_valid(mask), (mask, schema)
    assert mask.strip("*-+@.") == "" or kind == "email"  # nothing of a value: stars and separators only


def _route_cases() -> list[tuple[str, str, str]]:
    cases = []
    for api_id, document in DOCUMENTS.items():
        for path, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if isinstance(operation, dict) and response_plans(operation):
                    cases.append((api_id, method, path))
    return cases


ROUTES = _route_cases()


def test_the_routes_returning_personal_data_are_found() -> None:
    found = {(api, method, path) for api, method, path in ROUTES}
    assert ("system/crm/v1", "get", "/contacts") in found
    assert ("system/erp/v1", "get", "/customers/{customer_id}") in found
    assert ("system/billing/v1", "get", "/customers") in found


def test_a_masked_contact_page_still_matches_its_contract() -> None:
    operation = DOCUMENTS["system/crm/v1"]["paths"]["/contacts"]["get"]
    plan = response_plans(operation)["200"]
    contact = {
        "id": "003000000000001AAA",
        "account_id": "001000000000001AAA",
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane.doe@acme.example",
        "phone": "+49 30 1234567",
        "title": "CFO",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    page = {"items": [contact, {**contact, "first_name": None, "phone": None}], "next_cursor": None}
    kinds: set[str] = set()
    masked = apply_plan(plan, page, kinds, mask=True)
    assert kinds == {"name", "email", "phone"}
    text = repr(masked)
    for secret in ("Jane", "Doe", "jane.doe", "1234567"):
        assert secret not in text
    assert masked["items"][1]["first_name"] is None and masked["items"][0]["title"] == "CFO"
    validator = compile_operation(operation).responses["200"].validator
    assert validator.is_valid(masked)


def test_a_value_the_caller_may_see_is_kept_and_its_kinds_named() -> None:
    plan = mask_plan({"type": "object", "properties": {"tax_id": {"type": "string", "x-strata-pii": "tax_id"}}})
    kinds: set[str] = set()
    assert apply_plan(plan, {"tax_id": "DE811111111"}, kinds, mask=False) == {"tax_id": "DE811111111"}
    assert kinds == {"tax_id"}


def test_a_pattern_no_kind_mask_fits_gets_a_generated_match_or_the_shortest_filler() -> None:
    assert mask_for("tax_id", {"type": "string", "pattern": "^[0-9]{9}$"}) == "000000000"
    assert mask_for("tax_id", {"type": "string", "pattern": "^DE[0-9]{9}$"}) == "DE000000000"
    assert mask_for("phone", {"type": "string", "pattern": "^\\+[1-9]\\d{1,14}$"}) == "+10000000000"
    assert mask_for("email", {"type": "string", "format": "email", "maxLength": 12}) == "*@x.invalid"
    assert mask_for("name", {"type": "string", "minLength": 5}) == "*****"
    with pytest.raises(UnmaskableField):
        mask_for("tax_id", {"type": "string", "pattern": "^(?=[a-z])[0-9]$"})


def test_a_map_of_marked_values_and_alternatives_are_walked() -> None:
    schema = {
        "type": "object",
        "properties": {
            "by_id": {"type": "object", "additionalProperties": {"type": "string", "x-strata-pii": "email"}},
            "who": {
                "oneOf": [
                    {"type": "null"},
                    {"type": "object", "properties": {"n": {"type": "string", "x-strata-pii": "name"}}},
                ]
            },
        },
    }
    plan = mask_plan(schema)
    assert isinstance(plan, Node)
    kinds: set[str] = set()
    value = apply_plan(plan, {"by_id": {"a": "a@b.cd"}, "who": {"n": "Jane"}}, kinds, mask=True)
    assert value == {"by_id": {"a": "***@masked.invalid"}, "who": {"n": "***"}}


CONTRACT = """\
openapi: 3.1.0
info: {title: t, version: '1', x-strata-owner: team, x-strata-lifecycle: {state: active}}
servers: [{url: /system/probe/v1}]
paths: {}
components:
  schemas:
    Person:
      type: object
      properties:
        email: {type: string, x-strata-pii: mail}
        age: {type: integer, x-strata-pii: name}
        phone: {type: [string, 'null'], x-strata-pii: phone}
      additionalProperties: false
"""


def test_lint_names_the_file_and_pointer_of_an_unknown_kind_and_a_non_string_mark(tmp_path: Path) -> None:
    path = tmp_path / "contracts" / "system" / "probe" / "v1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(CONTRACT)
    shutil.copytree(CONTRACTS / "components", tmp_path / "contracts" / "components")
    findings = [str(f) for f in lint_contract(path) if f.rule_id == "STR014"]
    assert len(findings) == 2, findings
    assert any(
        "v1.yaml#/components/schemas/Person/properties/email/x-strata-pii" in f and "unknown kind 'mail'" in f
        for f in findings
    )
    assert any("Person/properties/age/x-strata-pii" in f and "must be a string" in f for f in findings)
