"""Fixtures: a Salesforce sandbox in process and a connector bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from apis.system.crm.connectors.salesforce import SalesforceConfig, SalesforceConnector
from apis.system.crm.service import CrmService
from sandboxes.salesforce import SalesforceSandbox, create_salesforce_sandbox
from tests.support.sandbox_access import CLIENT_ID, CLIENT_SECRET

BASE = "http://salesforce.sandbox"
FAST = SalesforceConfig(timeout_seconds=2.0, max_retries=3, backoff_base_seconds=0.001, backoff_max_seconds=1.0)


@pytest.fixture
def sandbox() -> SalesforceSandbox:
    return create_salesforce_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
async def http(sandbox: SalesforceSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE) as client:
        yield client


@pytest.fixture
def connector(http: httpx.AsyncClient) -> SalesforceConnector:
    return SalesforceConnector(http, BASE, "strata-sandbox", "sandbox-secret", config=FAST)


@pytest.fixture
def service(connector: SalesforceConnector) -> CrmService:
    return CrmService(connector)
