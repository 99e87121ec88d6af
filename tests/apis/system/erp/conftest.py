"""Fixtures of the ERP tests: a governed gateway per ERP vendor, and canonical test data.

Everything here speaks canonical terms or the shared sandbox control API
(``/sandbox/<vendor>/_control/faults|counts|reset``); what differs per vendor is only the
settings that make its connector fast in tests and where its sandbox is mounted.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from apis.system.erp.vendors import ERP_VENDORS
from tests.support.harness import Gateway, running_gateway

ERP = "/system/erp/v1"

FAST_SETTINGS: dict[str, dict[str, Any]] = {
    "netsuite": {
        "netsuite_signing_algorithm": "ES256",
        "netsuite_timeout_ms": 2000,
        "netsuite_max_retries": 5,
        "netsuite_backoff_base_ms": 1,
        "netsuite_backoff_max_ms": 1000,
    },
    "business-central": {
        "business_central_timeout_ms": 2000,
        "business_central_max_retries": 5,
        "business_central_backoff_base_ms": 1,
        "business_central_backoff_max_ms": 1000,
    },
    "sap-s4hana": {
        "sap_s4hana_timeout_ms": 2000,
        "sap_s4hana_max_retries": 5,
        "sap_s4hana_backoff_base_ms": 1,
        "sap_s4hana_backoff_max_ms": 1000,
    },
    "oracle-fusion": {
        "oracle_fusion_timeout_ms": 2000,
        "oracle_fusion_max_retries": 5,
        "oracle_fusion_backoff_base_ms": 1,
        "oracle_fusion_backoff_max_ms": 1000,
    },
}
"""Per vendor: millisecond backoffs and short deadlines (settings of its own connector)."""

DEADLINE_SETTINGS: dict[str, dict[str, Any]] = {
    "netsuite": {"netsuite_timeout_ms": 100, "netsuite_max_retries": 0},
    "business-central": {"business_central_timeout_ms": 100, "business_central_max_retries": 0},
    "sap-s4hana": {"sap_s4hana_timeout_ms": 100, "sap_s4hana_max_retries": 0},
    "oracle-fusion": {"oracle_fusion_timeout_ms": 100, "oracle_fusion_max_retries": 0},
}
"""Per vendor: a 100 ms deadline and no retries (the deadline test)."""


CANCEL_WRITE: dict[str, str] = {
    "netsuite": "PATCH",  # the salesOrder, closing its lines
    "business-central": "DELETE",  # the unposted salesOrder
    "sap-s4hana": "PATCH",  # each A_SalesOrderItem, with a reason for rejection
    "oracle-fusion": "POST",  # salesOrdersForOrderHub/{key}/action/cancelSalesOrder
}
"""Per vendor: the HTTP method of the write a cancel makes (what a fault rule aims at)."""


VENDORS = sorted(ERP_VENDORS)


@dataclass
class Erp:
    """A governed gateway serving the ERP API over one vendor, with tokens and sandbox controls."""

    gw: Gateway
    vendor: str
    reader: dict[str, str]
    writer: dict[str, str]

    @property
    def client(self) -> httpx.AsyncClient:
        return self.gw.client

    @property
    def sandbox(self) -> str:
        """Mount path of the vendor's sandbox (vendor keys and sandbox names agree)."""
        assert self.vendor in self.gw.app.state.components.sandbox_apps
        return f"/sandbox/{self.vendor}"

    async def faults(self, *rules: dict[str, Any]) -> None:
        response = await self.client.post(f"{self.sandbox}/_control/faults", json=list(rules))
        assert response.status_code == 201, response.text

    async def clear_faults(self) -> None:
        assert (await self.client.delete(f"{self.sandbox}/_control/faults")).status_code == 204

    async def counts(self) -> dict[str, Any]:
        response = await self.client.get(f"{self.sandbox}/_control/counts")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def writes(self) -> int:
        """Writes the sandbox applied, all record kinds together."""
        return sum((await self.counts())["writes"].values())

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> Awaitable[httpx.Response]:
        return self.client.post(f"{ERP}{path}", json=body, headers={**self.writer, "Idempotency-Key": key or _key()})


_KEYS = itertools.count()


def _key() -> str:
    return f"test-key-{next(_KEYS)}"


MakeErp = Callable[..., AbstractAsyncContextManager[Erp]]


@pytest.fixture(scope="module", params=VENDORS)
def vendor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def _started(
    vendor: str, state_dir: Path, before_start: Callable[[Any], None] | None = None, **overrides: Any
) -> AsyncIterator[Erp]:
    settings = {"erp_vendor": vendor, **FAST_SETTINGS[vendor], **overrides}
    async with running_gateway(state_dir, before_start=before_start, **settings) as gw:
        reader = await gw.bearer("system:erp:read", tier="internal")
        writer = await gw.bearer("system:erp:read system:erp:write", tier="internal")
        yield Erp(gw, vendor, reader, writer)


@pytest.fixture
def make_erp(vendor: str, tmp_path: Path) -> MakeErp:
    """Start a gateway of its own on ``vendor`` with the fast settings plus ``overrides``."""
    counter = itertools.count()

    def start(before_start: Callable[[Any], None] | None = None, **overrides: Any) -> AbstractAsyncContextManager[Erp]:
        return _started(vendor, tmp_path / f"gw{next(counter)}", before_start, **overrides)

    return start


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def erp(vendor: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Erp]:
    """One gateway per vendor shared by a module's tests that leave no faults or open circuits behind."""
    async with _started(vendor, tmp_path_factory.mktemp(f"erp-{vendor}")) as started:
        yield started


@dataclass(frozen=True)
class Data:
    """Canonical test data found or made through the API itself."""

    customer_id: str
    legal_entity_id: str
    item_id: str
    open_day: dt.date
    closed_day: dt.date


async def canonical_data(erp: Erp, external_id: str = "cus_erp_suite") -> Data:
    """A EUR customer upserted through the API, an item by code, an open and a closed day."""
    upsert = {"name": "Suite Test GmbH", "currency": "EUR", "billing_address": {"city": "Berlin", "country": "DE"}}
    customer = await erp.client.put(f"{ERP}/customers/by-external-id/{external_id}", json=upsert, headers=erp.writer)
    assert customer.status_code in (200, 201), customer.text
    items = await erp.client.get(f"{ERP}/items", params={"code": "STRATA-CORE"}, headers=erp.reader)
    assert items.status_code == 200, items.text
    periods = (await erp.client.get(f"{ERP}/accounting-periods", headers=erp.reader)).json()["items"]
    open_period = next(p for p in periods if not p["closed"] and p["start_date"] >= "2026-01-01")
    closed_period = next(p for p in periods if p["closed"])
    body = customer.json()
    return Data(
        customer_id=body["id"],
        legal_entity_id=body["legal_entity_id"],
        item_id=items.json()["items"][0]["id"],
        open_day=dt.date.fromisoformat(open_period["start_date"]) + dt.timedelta(days=9),
        closed_day=dt.date.fromisoformat(closed_period["start_date"]) + dt.timedelta(days=9),
    )


def invoice_body(data: Data, external_id: str, *, day: dt.date | None = None, **extra: Any) -> dict[str, Any]:
    """An invoice of two units of the test item."""
    return {
        "external_id": external_id,
        "customer_id": data.customer_id,
        "date": (day or data.open_day).isoformat(),
        "currency": "EUR",
        "lines": [{"item_id": data.item_id, "quantity": "2", "unit_price": "1200.00", "description": "Core"}],
        **extra,
    }
