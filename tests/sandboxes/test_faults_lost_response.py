"""``lost_response`` faults: the request is served (the write happens), the client still sees an error."""

from __future__ import annotations

from typing import Any

import httpx

from sandboxes.faults import FaultInjector, FaultRule, decode_rules


def _renderer(status: int) -> tuple[bytes, str]:
    return f'{{"injected": {status}}}'.encode(), "application/json"


async def test_lost_response_serves_then_answers_the_fault_status() -> None:
    writes: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        writes.append(scope["path"])
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"created"})

    faults = FaultInjector(_renderer)
    faults.add(*decode_rules(b'{"kind": "lost_response", "status": 504, "retry_after": 1, "count": 1}'))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=faults.wrap(app)), base_url="http://x") as client:
        lost = await client.post("/orders")
        served = await client.post("/orders")
    assert writes == ["/orders", "/orders"]
    assert lost.status_code == 504 and lost.json() == {"injected": 504} and lost.headers["retry-after"] == "1"
    assert served.status_code == 201 and served.text == "created"
    assert faults.counts()["faults_injected"] == {"lost_response": 1}


def test_existing_fault_kinds_are_unchanged() -> None:
    assert [rule.kind for rule in decode_rules(b'[{"kind": "latency"}, {"kind": "status"}, {"kind": "timeout"}]')] == [
        "latency",
        "status",
        "timeout",
    ]
    assert FaultRule(kind="status").status == 503
