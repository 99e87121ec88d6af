"""Fixtures: an AvaTax sandbox in process, a connector and a service bound to it, request bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from apis.system.tax.connectors.avalara import AvalaraConfig, AvalaraConnector
from apis.system.tax.service import TaxService
from sandboxes.avalara import AvalaraSandbox, create_avalara_sandbox
from sandboxes.avalara.seed import ACCOUNT_ID
from tests.support.sandbox_access import AVALARA_LICENSE_KEY as LICENSE_KEY
from tests.support.sandbox_access import operator_hooks

BASE = "http://avalara.sandbox"
FAST = AvalaraConfig(timeout_seconds=2.0, max_retries=3, backoff_base_seconds=0.001, backoff_max_seconds=1.0)
SAN_FRANCISCO = {
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}
PARIS = {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def quote_body(**changes: Any) -> dict[str, Any]:
    """A canonical quote request: STRATA-US selling 1000 USD of STRATA-CORE into San Francisco."""
    body: dict[str, Any] = {
        "company": "STRATA-US",
        "customer_id": "001Qy0000000008IAA",
        "date": "2026-03-01",
        "currency": "USD",
        "ship_to": SAN_FRANCISCO,
        "lines": [{"amount": usd("1000.00"), "product_code": "STRATA-CORE", "quantity": "2"}],
    }
    body.update(changes)
    return body


def eu_body(**changes: Any) -> dict[str, Any]:
    """STRATA-DE selling 1000 EUR into Paris."""
    lines = [{"amount": {"amount": "1000.00", "currency": "EUR"}, "product_code": "STRATA-CORE"}]
    return quote_body(company="STRATA-DE", currency="EUR", ship_to=PARIS, lines=lines, **changes)


@pytest.fixture
def sandbox() -> AvalaraSandbox:
    return create_avalara_sandbox(license_key=LICENSE_KEY)


@pytest.fixture
async def http(sandbox: AvalaraSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, event_hooks=operator_hooks(sandbox)) as client:
        yield client


@pytest.fixture
def connector(http: httpx.AsyncClient) -> AvalaraConnector:
    return AvalaraConnector(http, BASE, ACCOUNT_ID, LICENSE_KEY, config=FAST)


@pytest.fixture
def service(connector: AvalaraConnector) -> TaxService:
    return TaxService(connector)
