"""Fixtures: an Oracle Fusion sandbox in process, a raw REST client (Basic) and a connector bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from apis.system.erp.connectors.oracle_fusion import build_oracle_fusion_connector
from apis.system.erp.settings import OracleFusionSettings
from apis.system.kit.link import BasicCredentials, ClientSecret, VendorLink
from sandboxes.oracle_fusion import OracleFusionSandbox, create_oracle_fusion_sandbox
from tests.support.sandbox_access import (
    CLIENT_ID,
    CLIENT_SECRET,
    INTEGRATION_PASSWORD,
    INTEGRATION_USER,
    operator_hooks,
)

BASE = "http://oracle-fusion.sandbox"
FSCM = "/fscmRestApi/resources/11.13.18.05"
CRM = "/crmRestApi/resources/11.13.18.05"
FAST = {"timeout_ms": 2000, "max_retries": 3, "backoff_base_ms": 1, "backoff_max_ms": 1000}


@pytest.fixture
def sandbox() -> OracleFusionSandbox:
    return create_oracle_fusion_sandbox(
        user=INTEGRATION_USER, password=INTEGRATION_PASSWORD, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


@pytest.fixture
async def plain(sandbox: OracleFusionSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A client without credentials (the control API gets the admin token)."""
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, event_hooks=operator_hooks(sandbox)) as client:
        yield client


@pytest.fixture
async def rest(plain: httpx.AsyncClient) -> httpx.AsyncClient:
    """The plain client as the integration user (HTTP Basic)."""
    plain.auth = httpx.BasicAuth(INTEGRATION_USER, INTEGRATION_PASSWORD)
    return plain


def make_connector(sandbox: Any, **settings: Any) -> Any:
    """A connector over ``sandbox`` with fast retries (``auth="oauth2"`` uses the sandbox's token endpoint)."""
    chosen = OracleFusionSettings(**{**FAST, **settings})
    credentials: Any = (
        ClientSecret(CLIENT_ID, CLIENT_SECRET)
        if chosen.auth == "oauth2"
        else BasicCredentials(INTEGRATION_USER, INTEGRATION_PASSWORD)
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE)
    return build_oracle_fusion_connector(VendorLink(client=client, base_url=BASE, credentials=credentials), chosen)
