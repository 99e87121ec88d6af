"""OpenTelemetry traces: a server span per governed request, policy and vendor-call children.

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
:func:`policies.correlation.parse_traceparent`, the same rule the correlation step applies),
and the ``traceparent`` echoed on the response is the server span's own. Vendor requests
carry a ``traceparent`` whether tracing is on or not: the client span's when on, the
correlation step's otherwise, so a vendor's logs can be joined to ours either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags

from policies.correlation import CURRENT, parse_traceparent

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from gateway.settings import Settings
    from policies.context import RequestContext

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
    def from_settings(cls, settings: Settings, provider: TracerProvider | None = None) -> Tracing:
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


# -- the server span of a governed request ----------------------------------------------------


def start_server_span(tracer: trace.Tracer, ctx: RequestContext) -> tuple[trace.Span, object]:
    """Start the request's server span, make it current, and echo its ``traceparent``.

    Returns the span and the context token :func:`end_server_span` detaches.
    """
    parent = parse_traceparent(ctx.headers.get("traceparent"))
    parent_context = None
    if parent is not None:
        remote = SpanContext(
            int(parent.trace_id, 16),
            int(parent.parent_id, 16),
            is_remote=True,
            trace_flags=TraceFlags(int(parent.flags, 16)),
        )
        parent_context = trace.set_span_in_context(NonRecordingSpan(remote))
    route = ctx.route
    span = tracer.start_span(
        route.label,
        context=parent_context,
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": ctx.method,
            "http.route": route.path_template,
            "url.path": ctx.path,  # never url.query: query strings may carry PII
            "client.address": ctx.source,
            "strata.request_id": ctx.request_id,
            "strata.api": route.api.api_id,
            "strata.operation_id": route.operation_id,
        },
    )
    ctx.traceparent = format_traceparent(span.get_span_context())
    ctx.response_headers[:] = [
        (name, ctx.traceparent if name == "traceparent" else value) for name, value in ctx.response_headers
    ]
    token = otel_context.attach(trace.set_span_in_context(span))
    return span, token


def end_server_span(span: trace.Span, token: object, ctx: RequestContext, status: int) -> None:
    """Record the outcome on the server span, end it and restore the previous context."""
    span.set_attribute("http.response.status_code", status)
    if ctx.principal is not None:
        span.set_attribute("strata.client_id", ctx.principal.client_id)
    if ctx.denied is not None:
        span.set_attribute("strata.denied_by", ctx.denied.policy)
    if ctx.shadow_denials:
        span.set_attribute("strata.shadow_denials", list(ctx.shadow_denials))
    if status >= 500:
        span.set_status(StatusCode.ERROR)
    span.end()
    otel_context.detach(token)  # type: ignore[arg-type]


_HOOK_ATTRIBUTES = {hook: {"strata.policy.hook": hook} for hook in ("request", "response")}


async def traced_hook(tracer: trace.Tracer, name: str, hook: str, call: Awaitable[T]) -> T:
    """Await one policy hook as a child span of the current (server) span.

    The span is not made current: a hook starts no spans of its own, and attaching a
    context per hook would double the cost of the span. A request hook that denies marks
    its span with ``strata.policy.decision = deny``.
    """
    span = tracer.start_span(name, attributes=_HOOK_ATTRIBUTES[hook])
    try:
        result = await call
    except Exception as error:
        span.record_exception(error)
        span.set_status(StatusCode.ERROR)
        raise
    else:
        if result is not None and hook == "request":
            span.set_attribute("strata.policy.decision", "deny")
        return result
    finally:
        span.end()


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
