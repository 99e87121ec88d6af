"""Fixtures: a product platform sandbox in process and a connector bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from apis.system.product.connectors.product_platform import ProductPlatformConfig, ProductPlatformConnector
from apis.system.product.service import ProductService
from sandboxes.product_platform import ProductPlatformSandbox, create_product_platform_sandbox

BASE = "http://product-platform.sandbox"
API_KEY = "pp_test_sandbox"
FAST = ProductPlatformConfig(timeout_seconds=0.5, max_retries=3, backoff_base_seconds=0.001, backoff_max_seconds=0.5)


@pytest.fixture
def sandbox() -> ProductPlatformSandbox:
    """A fresh, seeded sandbox in memory (the CRM seed it derives from is cached per process)."""
    return create_product_platform_sandbox()


@pytest.fixture
async def http(sandbox: ProductPlatformSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE) as client:
        yield client


@pytest.fixture
def connector(http: httpx.AsyncClient) -> ProductPlatformConnector:
    return ProductPlatformConnector(http, BASE, API_KEY, config=FAST)


@pytest.fixture
def service(connector: ProductPlatformConnector) -> ProductService:
    return ProductService(connector)
