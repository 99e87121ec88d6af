"""Fixtures: a Business Central sandbox in process, a raw OData client and a connector bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from apis.system.erp.connectors.business_central import BusinessCentralConnector
from apis.system.erp.connectors.business_central_http import BusinessCentralConfig
from sandboxes.business_central import BusinessCentralSandbox, create_business_central_sandbox
from tests.support.sandbox_access import CLIENT_ID, CLIENT_SECRET, operator_hooks

BASE = "http://business-central.sandbox"
TENANT = "strata-sandbox.onmicrosoft.com"
API = f"/v2.0/{TENANT}/sandbox/api/v2.0"
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"
SCOPE = "https://api.businesscentral.dynamics.com/.default"
PAGE_SIZE = 7
FAST = BusinessCentralConfig(timeout_seconds=2.0, max_retries=3, backoff_base_seconds=0.001, backoff_max_seconds=1.0)


def token_form(**overrides: str) -> dict[str, str]:
    """A valid client-credentials form, with overrides."""
    return {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": SCOPE,
        **overrides,
    }


@pytest.fixture
def sandbox() -> BusinessCentralSandbox:
    return create_business_central_sandbox(page_size=PAGE_SIZE, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
async def plain(sandbox: BusinessCentralSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, event_hooks=operator_hooks(sandbox)) as client:
        yield client


@pytest.fixture
async def odata(plain: httpx.AsyncClient) -> httpx.AsyncClient:
    """The plain client with a bearer token."""
    answer = await plain.post(TOKEN_PATH, data=token_form())
    assert answer.status_code == 200, answer.text
    plain.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return plain


def make_connector(sandbox: Any, config: BusinessCentralConfig = FAST, **kwargs: Any) -> BusinessCentralConnector:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE)
    return BusinessCentralConnector(
        client,
        f"{BASE}{API}",
        f"{BASE}{TOKEN_PATH}",
        CLIENT_ID,
        CLIENT_SECRET,
        default_company="Strata Inc.",
        config=config,
        **kwargs,
    )


@pytest.fixture
async def connector(sandbox: BusinessCentralSandbox) -> AsyncIterator[BusinessCentralConnector]:
    connector = make_connector(sandbox)
    yield connector
    await connector.aclose()


def company_id(sandbox: BusinessCentralSandbox, name: str = "Strata Inc.") -> str:
    return str(next(c["id"] for c in sandbox.store.companies.values() if c["name"] == name))
