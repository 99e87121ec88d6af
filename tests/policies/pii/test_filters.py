"""Filters on personal data, from the attacker's side: a caller without the API's ``pii`` scope
cannot test whether a person exists by filtering on a personal field.

The filters are found from the contracts' marks (every query parameter whose schema carries
``x-strata-pii``), not from a list kept here; the lint rule STR014 makes sure every filter
named like a personal response field carries the mark.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from core.settings import PROJECT_ROOT
from gateway.contracts.lint import lint_contract
from gateway.contracts.loader import bundle, dereference, discover
from policies.pii_filters import misplaced_marks, personal_filters, unmarked_personal_filters
from tests.support.harness import Gateway, running_gateway

CONTRACTS = PROJECT_ROOT / "contracts"
PROBE_VALUE = "a@b.example"
"""A value every personal filter's schema accepts (the oracle's question: does this person exist?)."""


def _filters() -> list[tuple[str, str, str, str]]:
    """``(api scope prefix, method, path, parameter)`` of every personal filter in the contracts."""
    found = []
    for contract in discover(CONTRACTS):
        document = dereference(bundle(contract.path))
        for path, item in (document.get("paths") or {}).items():
            for method in ("get", "post", "put", "patch", "delete"):
                operation = item.get(method)
                if isinstance(operation, dict):
                    for name in personal_filters(operation):
                        prefix = f"{contract.layer}:{contract.name}"
                        found.append((prefix, method.upper(), contract.base_path + path, name))
    return found


FILTERS = _filters()


def test_the_known_oracles_are_marked_in_the_contracts() -> None:
    assert {(path, name) for _, _, path, name in FILTERS} >= {
        ("/system/erp/v1/customers", "tax_id"),
        ("/system/billing/v1/customers", "email"),
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path_factory.mktemp("pii-filters")) as gateway:
        yield gateway


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("prefix", "method", "path", "name"), FILTERS, ids=[f"{p}?{n}" for _, _, p, n in FILTERS])
async def test_a_filter_on_personal_data_needs_the_pii_scope(
    gw: Gateway, prefix: str, method: str, path: str, name: str
) -> None:
    reader = await gw.bearer(f"{prefix}:read {prefix}:write {prefix}:admin")  # everything but pii
    for query in ({name: PROBE_VALUE}, {name: PROBE_VALUE, "limit": 5}):
        refused = await gw.client.request(method, path, params=query, headers=reader)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        body = refused.json()
        assert body["type"].endswith("/insufficient-scope") and PROBE_VALUE not in refused.text
        assert (
            body["errors"] == [{"in": "query", "name": name, "detail": body["errors"][0]["detail"]}]
            and f"{prefix}:pii" in body["errors"][0]["detail"]
        )
        assert f'scope="{prefix}:pii"' in refused.headers["www-authenticate"]
    # The parameter's name percent-encoded is the same parameter.
    encoded = name.replace("_", "%5F").replace("e", "%65")
    sneaky = await gw.client.request(method, f"{path}?{encoded}={PROBE_VALUE}", headers=reader)
    assert sneaky.status_code == 403, sneaky.text
    # Without the filter, the same caller lists (masked); with the pii scope, it may filter.
    assert (await gw.client.request(method, path, params={"limit": 1}, headers=reader)).status_code == 200
    revealer = await gw.bearer(f"{prefix}:read {prefix}:pii")
    allowed = await gw.client.request(method, path, params={name: PROBE_VALUE}, headers=revealer)
    assert allowed.status_code == 200, allowed.text


CONTRACT = """\
openapi: 3.1.0
info: {title: t, version: '1', x-strata-owner: team, x-strata-lifecycle: {state: active}}
servers: [{url: /system/probe/v1}]
security: [{oauth2: [system:probe:read]}]
paths:
  /people:
    parameters:
    - {name: nick, in: query, required: false, schema: {type: string, x-strata-pii: name}}
    get:
      operationId: listPeople
      summary: People
      parameters:
      - {name: email, in: query, required: false, schema: {type: string}}
      - {name: phone, in: header, required: false, schema: {type: string, x-strata-pii: phone}}
      - {name: city, in: query, required: false, schema: {type: string}}
      responses:
        '200':
          description: People.
          content:
            application/json:
              schema:
                type: object
                properties:
                  items:
                    type: array
                    items: {$ref: '#/components/schemas/Person'}
components:
  schemas:
    Person:
      type: object
      properties:
        email: {type: string, x-strata-pii: email}
        city: {type: string}
"""


def test_lint_names_an_unmarked_filter_on_a_personal_field_and_marks_the_policy_would_not_see(
    tmp_path: Path,
) -> None:
    path = tmp_path / "contracts" / "system" / "probe" / "v1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(CONTRACT)
    shutil.copytree(CONTRACTS / "components", tmp_path / "contracts" / "components")
    findings = [str(f) for f in lint_contract(path) if f.rule_id == "STR014"]
    assert len(findings) == 3, findings
    assert any("/paths/~1people/get/parameters/0/schema" in f and "x-strata-pii: email" in f for f in findings)
    assert any("/paths/~1people/get/parameters/1" in f and "'phone'" in f and "not a query" in f for f in findings)
    assert any("/paths/~1people/parameters/0" in f and "'nick'" in f and "path item" in f for f in findings)


def test_marks_are_read_from_the_operations_own_query_parameters() -> None:
    operation = {
        "parameters": [
            {"name": "tax_id", "in": "query", "schema": {"type": "string", "x-strata-pii": "tax_id"}},
            {"name": "email", "in": "header", "schema": {"type": "string", "x-strata-pii": "email"}},
            {"name": "name_prefix", "in": "query", "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "tax_id": {"type": "string", "x-strata-pii": "tax_id"},
                                "name_prefix": {"type": "string"},
                            },
                        }
                    }
                }
            }
        },
    }
    assert personal_filters(operation) == {"tax_id": "tax_id"}
    assert unmarked_personal_filters(operation, operation["parameters"]) == []
    assert misplaced_marks(operation["parameters"], on_path_item=False) == [(1, "email")]
