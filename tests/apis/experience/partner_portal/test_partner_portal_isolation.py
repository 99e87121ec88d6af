"""Partner A's token on partner B's objects: every operation of the contract answers 404.

The operations are read from the contract itself, so an operation added to it later is walked
too: its path parameters must name an object kind listed in :func:`_b_objects` (the test says
which is missing), and an operation with a body needs one in :data:`BODIES`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apis.experience.partner_portal.webhooks.deliveries import DeliveryQueue
from core.settings import PROJECT_ROOT
from gateway.contracts.loader import bundle
from tests.apis.experience.partner_portal.conftest import PORTAL, Portal, idempotency
from tests.apis.experience.partner_webhooks.portal import customer_synced
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTRACT = PROJECT_ROOT / "contracts/experience/partner-portal/v1.yaml"
METHODS = ("get", "put", "post", "patch", "delete")
BODIES: dict[str, dict[str, Any]] = {}
"""A valid request body per operationId, for operations on an object that take one."""
UNKNOWN = {
    "customer_id": "001Qy0000000zzzIAA",
    "deal_id": "006Qy0000000zzzIAA",
    "webhook_id": "whs_01JDQ8Z5W4V3Q2N1M0K9J8H7G6",
    "delivery_id": "whd_01JDQ8Z5W4V3Q2N1M0K9J8H7G6",
}
"""Ids of the right shape that name nothing."""


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    paths = bundle(CONTRACT)["paths"]
    return [(method, path, op) for path, item in paths.items() for method, op in item.items() if method in METHODS]


_B_HOOKS: dict[int, dict[str, str]] = {}


async def _b_objects(portal: Portal) -> dict[str, str]:
    """One of partner B's objects per path parameter name (B's webhook and a delivery made on first use)."""
    hooks = _B_HOOKS.get(id(portal))
    if hooks is None:
        created = await portal.gw.client.post(
            f"{PORTAL}/webhooks",
            json={"url": "https://hooks.contoso.example/strata", "event_types": ["strata.customer.synced"]},
            headers=portal.b.headers,
        )
        assert created.status_code == 201, created.text
        webhook_id = created.json()["id"]
        # A delivery for B, queued as the fan-out queues one (no engine runs in this gateway).
        queue = DeliveryQueue(portal.gw.app.state.components.engine)
        assert await queue.enqueue(webhook_id, portal.b.partner_id, customer_synced(portal.b.customer_id))
        listed = await portal.gw.client.get(f"{PORTAL}/webhooks/{webhook_id}/deliveries", headers=portal.b.headers)
        assert listed.status_code == 200, listed.text
        hooks = _B_HOOKS[id(portal)] = {"webhook_id": webhook_id, "delivery_id": listed.json()["items"][0]["id"]}
    return {"customer_id": portal.b.customer_id, "deal_id": portal.b.open_deal["id"], **hooks}


def _fill(path: str, ids: dict[str, str]) -> str:
    names = re.findall(r"{([^}]+)}", path)
    missing = [n for n in names if n not in ids]
    assert not missing, f"{path}: add one of partner B's objects for {missing} to _b_objects (and UNKNOWN)"
    return path.format(**ids)


async def _call(portal: Portal, method: str, path: str, op: dict[str, Any]) -> Any:
    headers = portal.a.headers
    if op.get("x-strata-idempotency") in ("required", "optional"):
        headers = idempotency(headers)
    kwargs: dict[str, Any] = {"headers": headers}
    if op.get("requestBody"):
        assert op["operationId"] in BODIES, f"add a valid body for {op['operationId']} to BODIES"
        kwargs["json"] = BODIES[op["operationId"]]
    return await portal.gw.client.request(method.upper(), PORTAL + path, **kwargs)


def _shape(body: dict[str, Any], ids: list[str]) -> tuple[Any, ...]:
    detail = body["detail"]
    for object_id in ids:
        detail = detail.replace(object_id, "<id>")
    return body["type"], body["title"], body["status"], detail


async def test_every_operation_on_partner_bs_objects_answers_404(portal: Portal) -> None:
    walked = 0
    for method, template, op in _operations():
        names = re.findall(r"{([^}]+)}", template)
        if not names:
            continue
        b_objects = await _b_objects(portal)
        response = await _call(portal, method, _fill(template, b_objects), op)
        assert response.status_code == 404, (method, template, response.text)
        # Exactly what ids that name nothing answer: B's objects cannot be told from absent ones.
        unknown = await _call(portal, method, _fill(template, UNKNOWN), op)
        assert unknown.status_code == 404, (method, template, unknown.text)
        b_ids = [b_objects[n] for n in names]
        assert _shape(problem(response), b_ids) == _shape(problem(unknown), [UNKNOWN[n] for n in names])
        walked += 1
    assert walked >= 9  # customers, deals, webhooks (get, delete, rotate), deliveries (list, get, redeliver)
    # B's webhook and delivery outlived A's every attempt on them.
    hooks = await _b_objects(portal)
    mine = await portal.gw.client.get(
        f"{PORTAL}/webhooks/{hooks['webhook_id']}/deliveries/{hooks['delivery_id']}", headers=portal.b.headers
    )
    assert mine.status_code == 200, mine.text


async def test_lists_never_show_partner_bs_objects(portal: Portal) -> None:
    b_ids = {*portal.b.customer_ids, *portal.b.deal_ids, portal.b.subscription_id}
    walked = set()
    for method, template, op in _operations():
        if method != "get" or "{" in template:
            continue
        response = await _call(portal, method, template + "?limit=200", op)
        assert response.status_code == 200, (template, response.text)
        listed = {item["id"] for item in response.json()["items"]}
        assert not listed & b_ids, template
        if listed:
            walked.add(template)
    assert {"/customers", "/deals"} <= walked  # A's own lists are not empty: the check saw something


async def test_registering_partner_bs_company_reveals_nothing_of_b(portal: Portal) -> None:
    body = {
        "company_name": "Anything",
        "company_domain": portal.b.open_deal["domain"],
        "amount": {"amount": "1000", "currency": "USD"},
        "close_date": "2099-01-01",
    }
    # 2099 is past the five-year horizon: first the field error, which says nothing of B either.
    refused = await portal.gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(portal.a.headers))
    assert refused.status_code == 422
    body["close_date"] = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    response = await portal.gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(portal.a.headers))
    assert response.status_code == 409
    for text in (refused.text, response.text):
        assert portal.b.partner_id not in text and portal.b.open_deal["id"] not in text
        assert portal.b.open_deal["account_id"] not in text
