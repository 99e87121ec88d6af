"""The spans of a governed request: its server span and one child per policy hook.

See :mod:`core.tracing` for the span tree and when tracing is on; the vendor-call spans are
made by :class:`core.tracing.TracedClient`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags

from core.correlation import parse_traceparent
from core.tracing import format_traceparent
from policies.context import RequestContext

T = TypeVar("T")


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
