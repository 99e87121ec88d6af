"""Stripe preflight: the secret key works, the pinned API version is accepted, and the webhook
endpoint that feeds ``/system/payments/v1/webhooks/stripe`` renders events in that version.

Stripe renders the events it sends to an endpoint in the endpoint's own ``api_version`` (fixed
when the endpoint is created), or in the account's default version when it has none — not in the
``Stripe-Version`` our requests pin. An endpoint in another version sends objects of another
shape, so the check insists on the pinned one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from apis.system.billing.connectors.stripe import STRIPE_API_VERSION, StripeConfig, StripeConnector
from apis.system.billing.settings import StripeSettings
from apis.system.kit.link import ApiKey, VendorLink
from apis.system.kit.preflight import Check, Checks

VENDOR = "stripe"
WEBHOOK_PATH = "/system/payments/v1/webhooks/stripe"
"""Where the gateway receives Stripe's webhooks (the payments system API's route)."""
NEEDED_EVENTS = ("invoice.finalized", "invoice.paid", "charge.refunded", "credit_note.created")
"""Event types the ledger's Stripe intake acts on (``apis/process/ledger/inbox.py``)."""
PREFLIGHT_CONFIG = StripeConfig(timeout_seconds=10.0, max_retries=0)
MAX_ENDPOINT_PAGES = 5
CREATE_ENDPOINT = (
    f"create a webhook endpoint for https://<gateway>{WEBHOOK_PATH} with api_version={STRIPE_API_VERSION} "
    "(Dashboard → Developers → Webhooks, or POST /v1/webhook_endpoints with api_version); "
    "an endpoint's version cannot be changed later"
)


async def stripe_preflight(link: VendorLink[ApiKey], settings: StripeSettings) -> list[Check]:
    """Check the Stripe account ``link`` reaches against what the connector needs."""
    connector = StripeConnector(link.client, link.base_url, link.credentials.key, config=PREFLIGHT_CONFIG)
    checks = Checks(VENDOR)
    endpoints: list[dict[str, Any]] | None = None
    async with checks.step(
        "credentials",
        "set STRATA_STRIPE_SECRET_KEY to a secret key of this account (sk_live_… or sk_test_…; "
        "a restricted key needs read access to webhook endpoints)",
    ):
        endpoints = await _webhook_endpoints(connector)
        mode = "live" if link.credentials.key.startswith(("sk_live_", "rk_live_")) else "test"
        checks.passed("credentials", f"the secret key was accepted ({mode} mode)")
        checks.passed("api_version", f"requests pin Stripe-Version {STRIPE_API_VERSION}; Stripe accepted it")
    if endpoints is not None:
        _check_endpoint(checks, endpoints, settings)
    return checks.results


async def _webhook_endpoints(connector: StripeConnector) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_ENDPOINT_PAGES):
        page, more = await connector.page("/v1/webhook_endpoints", {}, limit=100, after=after)
        found.extend(page)
        if not more or not page:
            break
        after = page[-1]["id"]
    return found


def _ours(endpoint: dict[str, Any], settings: StripeSettings) -> bool:
    url = str(endpoint.get("url") or "")
    if settings.webhook_url:
        return url == settings.webhook_url
    return urlsplit(url).path.rstrip("/").endswith(WEBHOOK_PATH)


def _check_endpoint(checks: Checks, endpoints: list[dict[str, Any]], settings: StripeSettings) -> None:
    ours = [e for e in endpoints if _ours(e, settings) and e.get("status") == "enabled"]
    target = settings.webhook_url or f"…{WEBHOOK_PATH}"
    if not ours:
        checks.failed("webhook_endpoint", f"no enabled webhook endpoint delivers to {target}", CREATE_ENDPOINT)
        return
    for endpoint in ours:
        version = endpoint.get("api_version")
        name = f"webhook endpoint {endpoint.get('id')} ({endpoint.get('url')})"
        checks.check(
            "webhook_api_version",
            version == STRIPE_API_VERSION,
            f"{name} renders events in {version or 'the account default version'}; pinned: {STRIPE_API_VERSION}",
            f"{CREATE_ENDPOINT}, then delete {endpoint.get('id')}",
        )
        enabled = set(endpoint.get("enabled_events") or ())
        missing = [kind for kind in NEEDED_EVENTS if "*" not in enabled and kind not in enabled]
        checks.check(
            "webhook_events",
            not missing,
            f"{name} sends {'every event type we act on' if not missing else 'no ' + ', '.join(missing)}",
            f"add {', '.join(missing)} to the enabled events of {endpoint.get('id')}",
        )
