"""Traces: one server span per governed request, its policies and vendor calls as children.

The app is the production factory with an SDK tracer provider whose spans go to the SDK's
in-memory exporter; the vendor is the real Salesforce sandbox, seen through a recorder that
notes the headers of each request it receives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from core.tracing import Tracing
from gateway.settings import load_settings
from tests.support.harness import running_gateway

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
CRM = "/system/crm/v1"


class _Recorder:
    """An ASGI app in front of the sandbox: keeps each request's headers, passes it on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


async def test_a_crm_read_is_one_trace_continuing_the_callers(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    recorders: list[_Recorder] = []

    def record_vendor(app: Litestar) -> None:
        sandboxes = app.state.components.sandbox_apps
        recorders.append(_Recorder(sandboxes["salesforce"]))
        sandboxes["salesforce"] = recorders[0]

    async with running_gateway(tmp_path, tracer_provider=provider, before_start=record_vendor) as gw:
        headers = await gw.bearer("system:crm:read")
        incoming = f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"
        response = await gw.client.get(
            f"{CRM}/accounts", params={"limit": 1}, headers={**headers, "traceparent": incoming}
        )
    assert response.status_code == 200, response.text

    spans = exporter.get_finished_spans()
    (server,) = [span for span in spans if span.kind == SpanKind.SERVER]
    assert server.name == "GET /system/crm/v1/accounts"
    assert server.context is not None and server.parent is not None
    assert f"{server.context.trace_id:032x}" == TRACE_ID
    assert f"{server.parent.span_id:016x}" == CALLER_SPAN_ID  # a child of the caller's span
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 200
    # The traceparent we echo is the server span's own.
    echoed = response.headers["traceparent"]
    assert echoed == f"00-{TRACE_ID}-{server.context.span_id:016x}-01"

    assert {f"{span.context.trace_id:032x}" for span in spans if span.context} == {TRACE_ID}
    children = [span for span in spans if span.parent is not None and span.parent.span_id == server.context.span_id]
    policy_names = {span.name for span in children if span.kind == SpanKind.INTERNAL}
    assert {"authentication", "authorization", "rate_limit", "request_contract", "response_contract"} <= policy_names

    vendor_calls = [span for span in children if span.kind == SpanKind.CLIENT]
    assert vendor_calls, [span.name for span in spans]
    for span in vendor_calls:
        assert span.attributes is not None
        assert span.attributes["server.address"] == "salesforce.sandbox"
        assert span.attributes["http.request.method"] in ("GET", "POST")
        assert span.attributes["http.response.status_code"] == 200
        assert "?" not in str(span.attributes["url.full"])  # SOQL stays out of the trace
    # What the vendor received: each call's own client span as parent, in the caller's trace.
    sent = [h["traceparent"] for h in recorders[0].headers]
    assert sent == [f"00-{TRACE_ID}-{span.context.span_id:016x}-01" for span in vendor_calls if span.context]


async def test_without_a_caller_trace_the_echoed_traceparent_names_the_new_trace(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with running_gateway(tmp_path, tracer_provider=provider) as gw:
        response = await gw.client.get(f"{CRM}/accounts/001000000000000AAA", headers={"traceparent": "garbage"})
    assert response.status_code == 401
    (server,) = [span for span in exporter.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert server.parent is None and server.context is not None
    assert response.headers["traceparent"].split("-")[1:3] == [
        f"{server.context.trace_id:032x}",
        f"{server.context.span_id:016x}",
    ]
    assert server.attributes is not None and server.attributes["strata.denied_by"] == "authentication"


async def test_vendor_calls_carry_the_request_traceparent_with_tracing_off(tmp_path: Path) -> None:
    recorders: list[_Recorder] = []

    def record_vendor(app: Litestar) -> None:
        sandboxes = app.state.components.sandbox_apps
        recorders.append(_Recorder(sandboxes["salesforce"]))
        sandboxes["salesforce"] = recorders[0]

    async with running_gateway(tmp_path, before_start=record_vendor) as gw:
        assert gw.app.state.components.tracing.tracer is None
        headers = await gw.bearer("system:crm:read")
        incoming = f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"
        response = await gw.client.get(
            f"{CRM}/accounts", params={"limit": 1}, headers={**headers, "traceparent": incoming}
        )
    assert response.status_code == 200
    echoed = response.headers["traceparent"]
    assert echoed.startswith(f"00-{TRACE_ID}-") and CALLER_SPAN_ID not in echoed
    assert recorders[0].headers and {h["traceparent"] for h in recorders[0].headers} == {echoed}


def test_tracing_is_off_unless_an_otlp_endpoint_is_configured() -> None:
    assert Tracing.from_settings(load_settings(environ={})).tracer is None
    on = Tracing.from_settings(load_settings(environ={"STRATA_OTLP_ENDPOINT": "http://127.0.0.1:4318"}))
    assert on.tracer is not None and on.owned
    assert on.provider is not None and on.provider.resource.attributes["service.name"] == "strata"
    on.provider.shutdown()
    assert load_settings(environ={"STRATA_OTLP_ENDPOINT": "http://collector:4318/"}).otlp_traces_url == (
        "http://collector:4318/v1/traces"
    )
