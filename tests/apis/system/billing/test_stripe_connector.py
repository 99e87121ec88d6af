"""The Stripe connector's own dialect work: forms, keys, retries, Stripe-Should-Retry, error mapping."""

from __future__ import annotations

import httpx
import pytest

from apis.system.billing.connectors.stripe import (
    STRIPE_API_VERSION,
    PaymentDeclined,
    StripeConnector,
    StripeFailedFinally,
    derive_idempotency_key,
    encode_form,
)
from apis.system.billing.mapping import customer_pointer
from core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    UpstreamContractViolation,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from sandboxes.faults import FaultRule
from sandboxes.stripe import StripeSandbox
from tests.support.sandbox_access import STRIPE_KEY as DEFAULT_SECRET_KEY
from tests.support.stripe import BASE
from tests.support.stripe_gateway import FAST


def test_encode_form_writes_bracket_notation() -> None:
    params = {
        "customer": "cus_1", "items": [{"price": "price_1", "quantity": 2}], "metadata": {"k": "v"},
        "confirm": True, "skip": None, "expand": ["latest_invoice"],
    }  # fmt: skip
    assert encode_form(params) == [
        ("customer", "cus_1"), ("items[0][price]", "price_1"), ("items[0][quantity]", "2"), ("metadata[k]", "v"),
        ("confirm", "true"), ("expand[0]", "latest_invoice"),
    ]  # fmt: skip


def test_derived_keys_are_stable_per_client_key_and_operation() -> None:
    key = derive_idempotency_key("abc", client_id="cli_1", operation="POST /x")
    assert key == derive_idempotency_key("abc", client_id="cli_1", operation="POST /x") and key.startswith("strata-")
    assert key != derive_idempotency_key("abc", client_id="cli_2", operation="POST /x")
    assert key != derive_idempotency_key("abc", client_id="cli_1", operation="POST /y")
    assert derive_idempotency_key(None, client_id="c", operation="o") != derive_idempotency_key(
        None, client_id="c", operation="o"
    )


async def test_every_post_carries_the_pinned_version_and_one_key_across_retries(sandbox: StripeSandbox) -> None:
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    sandbox.faults.add(FaultRule(kind="lost_response", status=502, method="POST", count=1))
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, event_hooks={"request": [record]}) as client:
        connector = StripeConnector(client, BASE, DEFAULT_SECRET_KEY, config=FAST)
        created = await connector.post(
            "/v1/customers", {"name": "Once", "metadata": {"strata_id": "cus_x"}}, idempotency_key="k-1"
        )
    assert created["metadata"] == {"strata_id": "cus_x"}
    assert [r.headers["idempotency-key"] for r in seen] == ["k-1", "k-1"]
    assert {r.headers["stripe-version"] for r in seen} == {STRIPE_API_VERSION}
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert sandbox.counts()["writes_applied"]["customer"] == 1


async def test_429_retry_after_is_waited_for_then_the_call_succeeds(sandbox: StripeSandbox) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=0.02, count=2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE) as client:
        connector = StripeConnector(client, BASE, DEFAULT_SECRET_KEY, config=FAST)
        page, _ = await connector.page("/v1/products", {}, limit=3, after=None)
    assert len(page) == 3 and sandbox.faults.counts()["faults_injected"] == {"status": 2}


def _answer(
    status: int, kind: str | None, code: str | None = None, param: str | None = None, **extra: str
) -> httpx.Response:
    """A Stripe error answer; ``extra`` keys ending in ``_h`` are headers, others error members."""
    headers = {k[:-2].replace("_", "-"): v for k, v in extra.items() if k.endswith("_h")}
    members = {k: v for k, v in extra.items() if not k.endswith("_h")}
    error = {"type": kind, "code": code, "param": param, "message": "bad", **members}
    body = {"error": {k: v for k, v in error.items() if v is not None}} if kind else {"unexpected": True}
    return httpx.Response(status, json=body, headers=headers)


REQ = "invalid_request_error"
CASES = {
    "429": (_answer(429, REQ, "rate_limit", retry_after_h="3"), UpstreamRateLimited),
    "500": (_answer(500, "api_error"), UpstreamUnavailable),
    "500-no-retry": (_answer(500, "api_error", stripe_should_retry_h="false"), StripeFailedFinally),
    "409-in-use": (_answer(409, REQ, "idempotency_key_in_use"), UpstreamUnavailable),
    "404": (_answer(404, REQ, "resource_missing", "id"), NotFound),
    "400-param": (_answer(400, REQ, "email_invalid", "email"), InvalidInput),
    "400-state": (_answer(400, REQ, "invoice_not_editable"), Conflict),
    "idempotency": (_answer(400, "idempotency_error"), Conflict),
    "402": (_answer(402, "card_error", "card_declined", decline_code="insufficient_funds"), PaymentDeclined),
    "401": (_answer(401, REQ), StripeFailedFinally),
    "400-other": (_answer(400, REQ), UpstreamRejected),
    "no-error-object": (_answer(400, None), UpstreamContractViolation),
}


@pytest.mark.parametrize(("response", "expected"), list(CASES.values()), ids=list(CASES))
def test_stripe_errors_map_onto_the_error_tree(response: httpx.Response, expected: type[Exception]) -> None:
    error = StripeConnector._error_for(response, customer_pointer)
    assert type(error) is expected
    if isinstance(error, UpstreamRateLimited):
        assert error.retry_after == 3.0
    if isinstance(error, InvalidInput):
        assert error.field_errors == [{"in": "body", "pointer": "/email", "detail": "bad"}]
    if isinstance(error, PaymentDeclined):
        assert error.vendor_code == "insufficient_funds"


async def test_should_retry_false_is_not_retried() -> None:
    calls: list[httpx.Request] = []

    def stripe_replaying_a_failure(request: httpx.Request) -> httpx.Response:
        # An answer the sandbox cannot be made to give on purpose: a 500 replayed from Stripe's idempotency store.
        calls.append(request)
        return _answer(500, "api_error", stripe_should_retry_h="false")

    async with httpx.AsyncClient(transport=httpx.MockTransport(stripe_replaying_a_failure)) as client:
        connector = StripeConnector(client, BASE, DEFAULT_SECRET_KEY, config=FAST)
        with pytest.raises(StripeFailedFinally):
            await connector.post("/v1/customers", {"name": "x"}, idempotency_key="k")
    assert len(calls) == 1
