"""OpenTelemetry traces: the tracer of a process and traced vendor calls.

The pipeline's server and policy spans are made by :mod:`policies.spans`.

Tracing is on when ``STRATA_OTLP_ENDPOINT`` is set (spans are batched and posted over
OTLP/HTTP protobuf to ``<endpoint>/v1/traces``) or when a test hands the app factory a
tracer provider of its own. When it is off there is no tracer at all: the pipeline tests
one attribute per request and creates no span, context or attribute object.

The span tree of one governed request::

    SERVER  "GET /system/crm/v1/accounts/{account_id}"   (parent: the caller's traceparent)
     ├─ INTERNAL "authentication", "authorization", … one per request/response hook that ran
     └─ CLIENT   "GET"   one per vendor HTTP exchange (http.request.method, server.address,
                          http.response.status_code), whose traceparent the vendor receives

The trace id of the server span is the caller's when its ``traceparent`` is valid (parsed by
:func:`core.correlation.parse_traceparent`, the same rule the correlation step applies),
and the ``traceparent`` echoed on the response is the server span's own. Vendor requests
carry a ``traceparent`` whether tracing is on or not: the client span's when on, the
correlation step's otherwise, so a vendor's logs can be joined to ours either way.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanContext, SpanKind, StatusCode

from core.correlation import CURRENT

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from core.settings import CoreSettings

TRACER_NAME = "strata.gateway"
SERVICE_NAME = "strata"
EXPORT_TIMEOUT_SECONDS = 10.0
T = TypeVar("T")


def format_traceparent(span_context: SpanContext) -> str:
    """The W3C ``traceparent`` of a span (version 00)."""
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{int(span_context.trace_flags):02x}"


class Tracing:
    """The tracer of one gateway process (``tracer`` is None when tracing is off)."""

    def __init__(self, provider: TracerProvider | None, *, owned: bool) -> None:
        self.provider = provider
        self.owned = owned
        self.tracer: trace.Tracer | None = provider.get_tracer(TRACER_NAME) if provider is not None else None

    @classmethod
    def from_settings(cls, settings: CoreSettings, provider: TracerProvider | None = None) -> Tracing:
        """Tracing for these settings; an injected ``provider`` (tests) wins and is not shut down."""
        if provider is not None:
            return cls(provider, owned=False)
        if not settings.otlp_endpoint:
            return cls(None, owned=False)
        # Imported only when exporting: the SDK and protobuf stay out of an untraced process.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create()  # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, when set
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
        # The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on).
        owned_provider = TracerProvider(resource=resource)
        exporter = OTLPSpanExporter(endpoint=settings.otlp_traces_url, timeout=EXPORT_TIMEOUT_SECONDS)
        owned_provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(owned_provider, owned=True)

    async def shutdown(self) -> None:
        """Flush and stop the exporter of a provider this object created."""
        if self.owned and self.provider is not None:
            await asyncio.to_thread(self.provider.shutdown)


# -- vendor calls ------------------------------------------------------------------------------


class TracedClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose every exchange propagates the trace and, when tracing
    is on, is a CLIENT span.

    A subclass overriding :meth:`send` rather than a wrapping transport, so the client keeps
    its own transport choice (environment proxies, mounts) exactly as ``httpx.AsyncClient``
    makes it.
    """

    def __init__(self, *args: Any, tracer: trace.Tracer | None = None, peer_service: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tracer = tracer
        self._peer_service = peer_service

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if self._tracer is None:
            current = CURRENT.get()
            if current is not None:
                request.headers["traceparent"] = current[1]
            return await super().send(request, **kwargs)
        url = request.url
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            "server.address": url.host,
            "url.full": str(url.copy_with(query=None)),  # the query may carry PII (SOQL filters)
        }
        if url.port is not None:
            attributes["server.port"] = url.port
        if self._peer_service:
            attributes["peer.service"] = self._peer_service
        with self._tracer.start_as_current_span(request.method, kind=SpanKind.CLIENT, attributes=attributes) as span:
            request.headers["traceparent"] = format_traceparent(span.get_span_context())
            try:
                response = await super().send(request, **kwargs)
            except httpx.HTTPError as error:
                span.set_attribute("error.type", type(error).__name__)
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(StatusCode.ERROR)
                span.set_attribute("error.type", str(response.status_code))
            return response
