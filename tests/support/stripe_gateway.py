"""Helpers for tests through the whole gateway: fast connector settings, the Stripe sandbox."""

from __future__ import annotations

from typing import Any

from apis.system.billing.connectors.stripe import StripeConfig
from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig
from sandboxes.stripe import StripeSandbox
from tests.support.harness import Gateway

WEBHOOK_PATH = "/system/payments/v1/webhooks/stripe"
FAST = StripeConfig(timeout_seconds=1.0, max_retries=3, backoff_base_seconds=0.001, backoff_max_seconds=0.5)


def stripe_sandbox(gw: Gateway) -> StripeSandbox:
    """The Stripe sandbox the gateway's billing and payments services talk to."""
    sandbox: StripeSandbox = gw.app.state.components.sandbox_apps["stripe"]
    return sandbox


def speed_up(gw: Gateway, *, config: StripeConfig = FAST, breaker: CircuitBreakerConfig | None = None) -> None:
    """Millisecond backoffs and short deadlines on every Stripe connector of the gateway."""
    for name in ("billing", "payments"):
        service: Any = getattr(gw.app.state, name, None)
        if service is None:
            continue
        service.connector.config = config
        if breaker is not None:
            service.connector.breaker = CircuitBreaker("stripe", breaker)


async def seed_customer(gw: Gateway, headers: dict[str, str]) -> dict[str, Any]:
    """A seeded customer (one with a CRM account), whatever other tests created since."""
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = (await gw.client.get("/system/billing/v1/customers", params=params, headers=headers)).json()
        found = next((c for c in page["items"] if c["crm_account_id"]), None)
        if found is not None:
            return dict(found)
        assert page["next_cursor"], "no seeded customer left"
        params["cursor"] = page["next_cursor"]
