"""Fixtures: a product platform sandbox in process and a connector bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from apis.system.product.connectors.product_platform import ProductPlatformConfig, ProductPlatformConnector
from apis.system.product.service import ProductService
from sandboxes.product_platform import ProductPlatformSandbox, create_product_platform_sandbox
from tests.support.sandbox_access import PRODUCT_PLATFORM_KEY, operator_hooks

BASE = "http://product-platform.sandbox"
API_KEY = PRODUCT_PLATFORM_KEY
FAST = ProductPlatformConfig(timeout_seconds=0.5, max_retries=3, backoff_base_seconds=0.001, backoff_max_seconds=0.5)


@pytest.fixture
def sandbox() -> ProductPlatformSandbox:
    """A fresh, seeded sandbox in memory (the CRM seed it derives from is cached per process)."""
    return create_product_platform_sandbox(api_key=API_KEY)


@pytest.fixture
async def http(sandbox: ProductPlatformSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, event_hooks=operator_hooks(sandbox)) as client:
        yield client


@pytest.fixture
def connector(http: httpx.AsyncClient) -> ProductPlatformConnector:
    return ProductPlatformConnector(http, BASE, API_KEY, config=FAST)


@pytest.fixture
def service(connector: ProductPlatformConnector) -> ProductService:
    return ProductService(connector)
