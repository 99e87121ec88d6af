"""Personal data by scope, from the attacker's side, through the whole gateway (CRM and its sandbox).

A caller holding only ``system:crm:read`` reads contacts and accounts with every personal
field masked, whatever it asks for; one holding ``system:crm:pii`` too sees the values, and
the audit log says so (who, which route, which kinds — never a value). No client can give
itself the scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.support.harness import Gateway, problem, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

CRM = "/system/crm/v1"
EMAIL_MASK = "***@masked.invalid"
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path_factory.mktemp("pii")) as gateway:
        yield gateway


async def _contacts(gw: Gateway, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await gw.client.get(f"{CRM}/contacts", params={"limit": 200, **params}, headers=headers)
    assert response.status_code == 200, response.text  # the response contract (enforce) passed
    return list(response.json()["items"])


async def _accounts(gw: Gateway, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await gw.client.get(f"{CRM}/accounts", params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _values(records: list[dict[str, Any]], fields: tuple[str, ...]) -> set[str]:
    return {record[name] for record in records for name in fields if isinstance(record.get(name), str)}


async def test_masking_comes_before_the_response_contract_and_only_where_fields_are_marked(gw: Gateway) -> None:
    routes = {route.operation_id: route for route in gw.app.state.route_table.routes}
    names = [policy.name for policy in routes["listContacts"].response_policies]
    assert names[:2] == ["pii", "response_contract"]  # the contract checks the masked body
    assert "pii" not in [policy.name for policy in routes["listOpportunities"].response_policies]


async def test_without_the_pii_scope_every_personal_field_is_masked(gw: Gateway) -> None:
    reader = await gw.bearer("system:crm:read")
    revealer = await gw.bearer("system:crm:read system:crm:pii")
    masked, real = await _contacts(gw, reader), await _contacts(gw, revealer)
    assert [c["id"] for c in masked] == [c["id"] for c in real] and real
    real_values = _values(real, CONTACT_FIELDS)
    assert any("@" in value and value != EMAIL_MASK for value in real_values)  # the sandbox has personal data
    assert not real_values & _values(masked, CONTACT_FIELDS)
    assert {c["email"] for c in masked if c["email"] is not None} == {EMAIL_MASK}
    for mine, theirs in zip(masked, real, strict=True):  # what is not personal is left alone
        assert mine["title"] == theirs["title"] and mine["account_id"] == theirs["account_id"]
        assert (mine["phone"] is None) == (theirs["phone"] is None)
    one = await gw.client.get(f"{CRM}/contacts/{real[0]['id']}", headers=reader)
    assert one.status_code == 200 and not _values([one.json()], CONTACT_FIELDS) & real_values


async def test_account_tax_ids_and_addresses_are_masked_names_are_not(gw: Gateway) -> None:
    reader = await gw.bearer("system:crm:read")
    revealer = await gw.bearer("system:crm:read system:crm:pii")
    masked, real = await _accounts(gw, reader), await _accounts(gw, revealer)
    real_tax_ids = {a["tax_id"] for a in real if a["tax_id"]}
    assert real_tax_ids and not real_tax_ids & {a["tax_id"] for a in masked}
    real_lines = _values([a["billing_address"] for a in real if a["billing_address"]], ADDRESS_FIELDS)
    masked_lines = _values([a["billing_address"] for a in masked if a["billing_address"]], ADDRESS_FIELDS)
    assert real_lines and not real_lines & masked_lines
    # a company's name and country are not personal data: kept for support staff
    assert [(a["name"], (a["billing_address"] or {}).get("country")) for a in masked] == [
        (a["name"], (a["billing_address"] or {}).get("country")) for a in real
    ]


async def test_query_parameters_cannot_unmask(gw: Gateway) -> None:
    reader = await gw.bearer("system:crm:read")
    revealer = await gw.bearer("system:crm:read system:crm:pii")
    real = await _contacts(gw, revealer)
    email = next(c["email"] for c in real if c["email"])
    # unknown projection/expansion parameters are refused by the request contract, not obeyed
    for params in ({"fields": "email"}, {"expand": "contact"}, {"pii": "true"}, {"unmask": "1"}):
        response = await gw.client.get(f"{CRM}/contacts", params=params, headers=reader)
        assert response.status_code == 422 or email not in response.text, params
    # asking the token endpoint for the scope the client was not given: refused
    client_id, secret = await gw.create_client("system:crm:read")
    refused = await gw.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "system:crm:read system:crm:pii"},
        auth=(client_id, secret),
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


async def test_a_reveal_is_audited_with_client_route_and_kinds_never_values(gw: Gateway) -> None:
    revealer_id, secret = await gw.create_client("system:crm:read system:crm:pii")
    revealer = {"Authorization": f"Bearer {await gw.token(revealer_id, secret)}"}
    reader_id, reader_secret = await gw.create_client("system:crm:read")
    reader = {"Authorization": f"Bearer {await gw.token(reader_id, reader_secret)}"}
    real = await _contacts(gw, revealer)
    await _contacts(gw, reader)
    await gw.app.state.components.audit.flush()
    auditor = await gw.bearer("gateway:audit:read")
    events = await gw.client.get("/gateway/v1/audit/events", params={"route": f"{CRM}/contacts"}, headers=auditor)
    assert events.status_code == 200, events.text
    mine = [e for e in events.json()["items"] if e["client_id"] == revealer_id]
    assert len(mine) == 1
    [event] = mine
    assert event["method"] == "GET" and event["outcome"] == "allowed" and event["policy"] == "pii"
    assert event["reason"] == "personal data revealed: email, name, phone"
    assert not [e for e in events.json()["items"] if e["client_id"] == reader_id]  # nothing revealed, nothing to say
    assert not _values(real, CONTACT_FIELDS) & set(events.text.split('"'))


async def test_a_client_cannot_grant_itself_or_others_the_pii_scope(gw: Gateway) -> None:
    record, secret = await gw.oauth.clients.create("admin", ["gateway:clients:admin", "system:crm:read"], "internal")
    admin = {"Authorization": f"Bearer {await gw.token(record.client_id, secret)}"}
    itself = await gw.client.patch(
        f"/gateway/v1/clients/{record.client_id}", json={"scopes": ["system:crm:read", "system:crm:pii"]}, headers=admin
    )
    assert itself.status_code == 403
    problem(itself)
    other = await gw.client.post(
        "/gateway/v1/clients", json={"name": "n", "scopes": ["system:crm:pii"], "tier": "gold"}, headers=admin
    )
    assert other.status_code == 403
    assert "system:crm:pii" in problem(other)["detail"]
    # the scope is a real one, though: an admin who holds it may grant it
    record, secret = await gw.oauth.clients.create(
        "admin2", ["gateway:clients:admin", "system:crm:read", "system:crm:pii"], "internal"
    )
    holder = {"Authorization": f"Bearer {await gw.token(record.client_id, secret)}"}
    granted = await gw.client.post(
        "/gateway/v1/clients", json={"name": "n", "scopes": ["system:crm:pii"], "tier": "gold"}, headers=holder
    )
    assert granted.status_code == 201, granted.text
