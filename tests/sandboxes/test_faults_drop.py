"""``drop`` faults: the connection goes away without an answer, before or after the write."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from apis.system.kit.vendor_http import exchange
from core.errors import UpstreamUnavailable
from sandboxes.faults import FaultInjector, decode_rules


def _renderer(status: int) -> tuple[bytes, str]:
    return f'{{"injected": {status}}}'.encode(), "application/json"


@pytest.mark.parametrize(("after_write", "writes_applied"), [(False, 0), (True, 1)])
async def test_a_dropped_connection_is_an_outage_and_applies_the_write_only_when_after(
    after_write: bool, writes_applied: int
) -> None:
    writes: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        writes.append(scope["path"])
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"created"})

    faults = FaultInjector(_renderer)
    rule = {"kind": "drop", "after_write": after_write, "count": 1}
    faults.add(*decode_rules(json.dumps(rule).encode()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=faults.wrap(app)), base_url="http://x") as client:
        with pytest.raises(UpstreamUnavailable, match="dropped the connection"):
            await exchange(client, "POST", "/orders", vendor="Vendor", timeout_seconds=1.0)
        assert len(writes) == writes_applied
        served = await exchange(client, "POST", "/orders", vendor="Vendor", timeout_seconds=1.0)
    assert served.status_code == 201
    assert faults.counts()["faults_injected"] == {"drop": 1}
