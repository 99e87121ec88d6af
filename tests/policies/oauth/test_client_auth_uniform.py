"""No oracle in client authentication: one answer for every failed client, whatever the reason.

An unknown id, a disabled client, a deleted client, a wrong secret and a wrong (or replayed)
assertion get byte-identical responses — status, headers and body — at the token,
introspection and revocation endpoints, for each way of presenting credentials (HTTP Basic
answers 401 with a challenge, form credentials 400: RFC 6749 §5.2, a choice the caller makes,
not a property of the client). Only the audit records say which case it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

from policies.oauth import OAuthService
from tests.policies.oauth.conftest import ISSUER, FailureLog, assertion, assertion_form, basic, make_app

ENDPOINTS = {"/oauth/token": {"grant_type": "client_credentials"}, "/oauth/introspect": {}, "/oauth/revoke": {}}
"""Each endpoint with its own parameters (``token`` is added for introspection and revocation)."""

Case = Callable[[], tuple[dict[str, str], dict[str, str]]]
"""A case builds (headers, form credentials) when it is sent: an assertion needs a fresh ``jti``."""


AUDITED = {
    "unknown id": "The client does not exist on this server.",
    "disabled": "The client is disabled.",
    "deleted": "The client is deleted.",
    "wrong secret": "wrong client credentials",
    "assertion: wrong key": "The client assertion signature is invalid.",
    "assertion: unknown id": "The client does not exist on this server.",
    "assertion: disabled": "The client is disabled.",
    "assertion: deleted": "The client is deleted.",
    "assertion: replayed jti": "The client assertion jti was already used.",
    "assertion: a secret client": "The client has no registered keys for private_key_jwt.",
}
"""What the audit record of each case says (the answers are all alike)."""


def _key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)


async def _cases(service: OAuthService) -> tuple[dict[str, Case], dict[str, Case], str]:
    """(Basic cases, form cases, a valid access token to introspect or revoke)."""
    clients = service.clients
    active, active_secret = await clients.create("Active", ["system:crm:read"], "gold")
    disabled, disabled_secret = await clients.create("Disabled", ["system:crm:read"], "gold")
    deleted, deleted_secret = await clients.create("Deleted", ["system:crm:read"], "gold")
    assert active_secret and disabled_secret and deleted_secret
    key, key_of_disabled, key_of_deleted = _key(), _key(), _key()
    signer = await _jwt_client(service, key)
    disabled_signer = await _jwt_client(service, key_of_disabled)
    deleted_signer = await _jwt_client(service, key_of_deleted)
    replayed = assertion(key, signer, jti="replayed-" + uuid.uuid4().hex)
    first_use = await service.token(
        b"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type"
        b"%3Ajwt-bearer&client_assertion=" + replayed.encode(),
        "application/x-www-form-urlencoded",
        [],
        "10.1.1.1",
    )
    assert first_use.status == 200
    token = str(first_use.body["access_token"])
    for record in (disabled, disabled_signer):
        await clients.disable(record if isinstance(record, str) else record.client_id)
    for record in (deleted, deleted_signer):
        await clients.delete(record if isinstance(record, str) else record.client_id)

    def by_basic(client_id: str, secret: str) -> Case:
        return lambda: ({"Authorization": basic(client_id, secret)["Authorization"]}, {})

    def by_post(client_id: str, secret: str) -> Case:
        return lambda: ({}, {"client_id": client_id, "client_secret": secret})

    def by_assertion(make: Callable[[], str]) -> Case:
        return lambda: ({}, {k: v for k, v in assertion_form(make()).items() if k != "grant_type"})

    unknown = "cli_" + uuid.uuid4().hex[:20]
    secret_cases = {
        "unknown id": (unknown, "a" * 43),
        "disabled": (disabled.client_id, disabled_secret),
        "deleted": (deleted.client_id, deleted_secret),
        "wrong secret": (active.client_id, "b" * 43),
    }
    basic_cases = {name: by_basic(*credentials) for name, credentials in secret_cases.items()}
    form_cases = {f"post: {name}": by_post(*credentials) for name, credentials in secret_cases.items()}
    form_cases.update(
        {
            "assertion: wrong key": by_assertion(lambda: assertion(_key(), signer)),
            "assertion: unknown id": by_assertion(lambda: assertion(key, unknown)),
            "assertion: disabled": by_assertion(lambda: assertion(key_of_disabled, disabled_signer)),
            "assertion: deleted": by_assertion(lambda: assertion(key_of_deleted, deleted_signer)),
            "assertion: replayed jti": by_assertion(lambda: replayed),
            "assertion: a secret client": by_assertion(lambda: assertion(key, active.client_id)),
        }
    )
    return basic_cases, form_cases, token


async def _jwt_client(service: OAuthService, key: RSAKey) -> str:
    record, _ = await service.clients.create("Signer", ["system:crm:read"], "gold", jwks={"keys": [key.as_dict()]})
    return record.client_id


def _shape(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.headers.multi_items()), response.content


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_every_failed_client_gets_the_same_answer(
    service: OAuthService, failures: FailureLog, endpoint: str
) -> None:
    basic_cases, form_cases, token = await _cases(service)
    parameters: dict[str, Any] = {**ENDPOINTS[endpoint], **({} if endpoint == "/oauth/token" else {"token": token})}
    transport = httpx.ASGITransport(app=make_app(service), client=("10.2.2.2", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        for group, expected_status in ((basic_cases, 401), (form_cases, 400)):
            shapes, reasons = {}, {}
            for name, case in group.items():
                headers, credentials = case()
                sent = len(failures.calls)
                response = await http.post(endpoint, headers=headers, data={**parameters, **credentials})
                shapes[name] = _shape(response)
                reasons[name] = [reason for _, _, reason in failures.calls[sent:]]
            first = next(iter(shapes.values()))
            assert first[0] == expected_status
            assert b'"error":"invalid_client"' in first[2]
            assert all(shape == first for shape in shapes.values()), {name: s for name, s in shapes.items()}
            # The audit log tells the cases apart: one record each, saying why.
            assert {name: found for name, found in reasons.items()} == {
                name: [AUDITED[name.split(": ", 1)[-1] if name.startswith("post: ") else name]] for name in group
            }
