"""OTLP export from a real gateway process: spans arrive as HTTP/protobuf at <endpoint>/v1/traces."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.integration.test_log_redaction import PUBLIC_URL, _client
from tests.support.procs import GatewayProcess

TRACE_ID = "8a3c60f7d188f8fa79d48a391a778fa6"


class _Collector(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append((self.path, self.headers.get("content-type", ""), body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_spans_are_posted_to_the_configured_collector(
    tmp_path: Path, collector: tuple[str, list[tuple[str, str, bytes]]]
) -> None:
    endpoint, received = collector
    state = tmp_path / "state"
    client_id, secret = _client(state)
    with GatewayProcess(state, public_url=PUBLIC_URL, otlp_endpoint=endpoint) as gateway:
        token = httpx.post(
            f"{gateway.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).json()["access_token"]
        response = httpx.get(
            f"{gateway.url}/system/crm/v1/accounts?limit=1",
            headers={"Authorization": f"Bearer {token}", "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
            timeout=15,
        )
        assert response.status_code == 200
    # Stopping the process flushed the batch.
    assert received, "no export reached the collector"
    spans = []
    for path, content_type, body in received:
        assert path == "/v1/traces" and content_type == "application/x-protobuf"
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert attributes["service.name"] == "strata"
            spans += [span for scope in resource_spans.scope_spans for span in scope.spans]
    ours = [span for span in spans if span.trace_id.hex() == TRACE_ID]
    names = {span.name for span in ours}
    assert "GET /system/crm/v1/accounts" in names and "authentication" in names and "GET" in names
