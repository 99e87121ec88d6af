"""Fixtures of the SAP S/4HANA Cloud sandbox tests: a sandbox in memory and a client of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from sandboxes.sap_s4hana import SapS4HanaSandbox, create_sap_s4hana_sandbox

USER, PASSWORD = "STRATA_COMM_TEST", "sandbox-test-password"
BASE = "http://sap-s4hana.sandbox"
ODATA = "/sap/opu/odata/sap"


@pytest.fixture
def sandbox() -> SapS4HanaSandbox:
    """A fresh tenant in memory, paging at 5 so ``__next`` shows."""
    return create_sap_s4hana_sandbox(user=USER, password=PASSWORD, client_id="sb-test", client_secret="secret",
                                     page_size=5)  # fmt: skip


@pytest_asyncio.fixture
async def client(sandbox: SapS4HanaSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """The communication user's client (HTTP Basic)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url=BASE, auth=(USER, PASSWORD)
    ) as client:
        yield client


async def csrf(client: httpx.AsyncClient, service: str) -> dict[str, str]:
    """The headers of a write: the fetched CSRF token and the session cookie of its answer."""
    fetched = await client.get(f"{ODATA}/{service}/", headers={"x-csrf-token": "Fetch"})
    assert fetched.status_code == 200
    cookie = fetched.headers["set-cookie"].split(";", 1)[0]
    return {"x-csrf-token": fetched.headers["x-csrf-token"], "Cookie": cookie}
