"""Microsoft's own client library gets a token from the sandbox's Entra-style endpoints.

``msal.ConfidentialClientApplication`` (Microsoft's, not ours) reads the tenant's OpenID
discovery document and runs the client-credentials grant, as it does against
``login.microsoftonline.com``. It insists on an https authority and asks Microsoft about unknown
ones unless ``instance_discovery=False``; its ``http_client`` hook carries its requests into the
sandbox in process (an https URL, served by the ASGI app without a socket).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msal

from sandboxes.business_central import BusinessCentralSandbox
from tests.support.business_central import SCOPE, TENANT

AUTHORITY_HOST = "https://login.sandbox.test"


class InProcessHttp:
    """The requests-like client msal's ``http_client`` hook wants (``get``/``post`` → a response with
    ``status_code``, ``text``, ``headers``), sending each request to an ASGI app."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.requests: list[tuple[str, str]] = []

    def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        self.requests.append((method, url))

        async def exchange() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self._app)) as client:
                return await client.request(
                    method, url, params=options.get("params"), data=options.get("data"), headers=options.get("headers")
                )

        return asyncio.run(exchange())

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self._send("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self._send("POST", url, **options)

    def close(self) -> None:
        """Nothing to release."""


def _application(
    sandbox: BusinessCentralSandbox, secret: str
) -> tuple[msal.ConfidentialClientApplication, InProcessHttp]:
    http = InProcessHttp(sandbox)
    application = msal.ConfidentialClientApplication(
        "strata-sandbox",
        client_credential=secret,
        authority=f"{AUTHORITY_HOST}/{TENANT}",
        instance_discovery=False,
        http_client=http,
    )
    return application, http


def test_msal_gets_a_token_the_api_accepts(sandbox: BusinessCentralSandbox) -> None:
    application, http = _application(sandbox, "sandbox-secret")
    result = application.acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result
    assert result["token_type"].lower() == "bearer" and result["expires_in"] > 0
    assert http.requests == [
        ("GET", f"{AUTHORITY_HOST}/{TENANT}/v2.0/.well-known/openid-configuration"),
        ("POST", f"{AUTHORITY_HOST}/{TENANT}/oauth2/v2.0/token"),
    ]

    async def companies() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox)) as client:
            return await client.get(
                f"{AUTHORITY_HOST}/v2.0/{TENANT}/sandbox/api/v2.0/companies",
                headers={"Authorization": f"Bearer {result['access_token']}"},
            )

    answer = asyncio.run(companies())
    assert answer.status_code == 200 and len(answer.json()["value"]) == 3
    again = application.acquire_token_for_client(scopes=[SCOPE])
    assert again["access_token"] == result["access_token"] and len(http.requests) == 2  # msal's own cache


def test_msal_reports_entras_refusal_of_a_wrong_secret(sandbox: BusinessCentralSandbox) -> None:
    application, _ = _application(sandbox, "not-the-secret")
    result = application.acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" not in result
    assert result["error"] == "invalid_client" and result["error_codes"]
