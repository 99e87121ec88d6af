"""The CRM routes answer what ``contracts/system/crm/v1.yaml`` promises, route for route.

A small stand-in for the lead's response-contract policy: relative ``$ref``s are inlined
across the component files, then each 2xx body is validated with jsonschema-rs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import AsyncTestClient

from apis.system.crm.routes import router
from apis.system.crm.service import CrmService
from apis.system.paging import CURSOR_CODEC_OPT
from core.cursors import CursorCodec

CONTRACT = Path(__file__).resolve().parents[4] / "contracts" / "system" / "crm" / "v1.yaml"
PREFIX = "/system/crm/v1"


def _resolve(node: Any, base: Path, cache: dict[Path, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(item, base, cache) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        file_part, _, pointer = node["$ref"].partition("#")
        target = (base.parent / file_part).resolve() if file_part else base
        document = cache.setdefault(target, yaml.safe_load(target.read_text()))
        for key in pointer.strip("/").split("/"):
            document = document[key]
        return _resolve(document, target, cache)
    return {key: _resolve(value, base, cache) for key, value in node.items()}


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    resolved: dict[str, Any] = _resolve(yaml.safe_load(CONTRACT.read_text()), CONTRACT, {})
    return resolved


def _check(contract: dict[str, Any], template: str, method: str, status: int, body: Any) -> None:
    operation = contract["paths"][template][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    errors = [error.message for error in jsonschema_rs.validator_for(schema).iter_errors(body)]
    assert errors == [], f"{method.upper()} {template} {status}: {errors[:3]}"


@pytest.fixture
async def api(service: CrmService) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = Litestar(
        route_handlers=[router],
        dependencies={"crm": Provide(lambda: service, sync_to_thread=False)},
        opt={CURSOR_CODEC_OPT: CursorCodec("a-test-master-key-of-32-characters")},
    )
    async with AsyncTestClient(app) as client:
        yield client


def test_every_route_has_its_contract_operation(contract: dict[str, Any]) -> None:
    documented = {
        (method.upper(), PREFIX + template.replace("}", ":str}"), operation["operationId"])
        for template, item in contract["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }
    served = {
        (method, route.path, handler.operation_id)
        for route in router.routes
        for handler in route.route_handlers  # type: ignore[union-attr]
        for method in handler.http_methods  # type: ignore[union-attr]
        if method != "OPTIONS"
    }
    assert served == documented


async def test_responses_match_the_contract(contract: dict[str, Any], api: AsyncTestClient[Litestar]) -> None:
    accounts = await api.get(f"{PREFIX}/accounts", params={"limit": 200})
    _check(contract, "/accounts", "get", 200, accounts.json())
    account = accounts.json()["items"][0]
    _check(contract, "/accounts/{account_id}", "get", 200, (await api.get(f"{PREFIX}/accounts/{account['id']}")).json())
    body = {"name": "Contract Co", "domain": "contract.example", "billing_address": {"line1": "1 Way", "country": "FR"}}
    created = await api.put(f"{PREFIX}/accounts/by-external-id/cus_01JCONTRACT", json=body)
    _check(contract, "/accounts/by-external-id/{external_id}", "put", 201, created.json())
    updated = await api.put(f"{PREFIX}/accounts/by-external-id/cus_01JCONTRACT", json={"name": "Contract Co"})
    _check(contract, "/accounts/by-external-id/{external_id}", "put", 200, updated.json())
    contacts = await api.get(f"{PREFIX}/contacts", params={"limit": 200})
    _check(contract, "/contacts", "get", 200, contacts.json())
    contact_id = contacts.json()["items"][0]["id"]
    _check(contract, "/contacts/{contact_id}", "get", 200, (await api.get(f"{PREFIX}/contacts/{contact_id}")).json())
    opportunities = await api.get(f"{PREFIX}/opportunities", params={"limit": 200})
    _check(contract, "/opportunities", "get", 200, opportunities.json())
    for item in opportunities.json()["items"][:20]:
        detail = await api.get(f"{PREFIX}/opportunities/{item['id']}")
        _check(contract, "/opportunities/{opportunity_id}", "get", 200, detail.json())
    patched = await api.patch(
        f"{PREFIX}/opportunities/{item['id']}/billing-status", json={"billing_status": "failed", "invoice_number": None}
    )
    _check(contract, "/opportunities/{opportunity_id}/billing-status", "patch", 200, patched.json())
