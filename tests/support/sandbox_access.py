"""Tests that talk to a sandbox directly: the credentials they build it with, and its control API.

A sandbox draws random credentials when built without any; tests that speak the vendor's dialect
by hand build theirs with the fixed test values below (test code only: no credential constant
lives in the product's code). :func:`operator_hooks` gives a client's ``/_control`` calls the
sandbox's admin token, as the demo's operator would send it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

CLIENT_ID = "strata-sandbox"
"""Client id (Salesforce consumer key, Business Central application id, NetSuite integration) of tests."""
CLIENT_SECRET = "sandbox-secret"
"""Its secret, where the vendor has one."""
STRIPE_KEY = "sk_test_strata_sandbox"
"""The Stripe secret key of tests."""
STRIPE_WEBHOOK_SECRET = "whsec_strata_sandbox"
"""The Stripe webhook signing secret of tests."""
PRODUCT_PLATFORM_KEY = "pp_test_sandbox"
"""The product platform API key of tests."""
AVALARA_LICENSE_KEY = "sandbox-license-key"
"""The AvaTax license key of tests."""
INTEGRATION_USER = "strata.integration"
"""The Oracle Fusion integration user of tests (HTTP Basic)."""
INTEGRATION_PASSWORD = "sandbox-password"
"""Its password."""


def operator_hooks(sandbox: Any) -> dict[str, list[Callable[[httpx.Request], Any]]]:
    """httpx ``event_hooks`` giving ``sandbox``'s ``/_control`` calls its admin token.

    It replaces whatever ``Authorization`` the client adds to every call (a vendor's bearer token
    or Basic credentials are no admin token): a test of the refusal sends from a client without it.
    """

    async def hook(request: httpx.Request) -> None:
        if "/_control" in request.url.path:
            request.headers["Authorization"] = f"Bearer {sandbox.admin_token}"

    return {"request": [hook]}
