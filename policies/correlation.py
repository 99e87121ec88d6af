"""Correlation: W3C ``traceparent`` and ``X-Request-ID`` (step 1 of the chain).

The pipeline applies it to every request before any policy, whatever the modes: no denial,
log line or audit record may lack a request id, so it is not a switchable policy. The rules
for the ids themselves are in :mod:`core.correlation`.
"""

from __future__ import annotations

from core.correlation import correlation_ids
from policies.context import RequestContext


def correlate(ctx: RequestContext) -> None:
    """Set the request id and trace context of ``ctx`` and the response headers echoing them."""
    ctx.request_id, ctx.traceparent = correlation_ids(ctx.headers.get("x-request-id"), ctx.headers.get("traceparent"))
    ctx.response_headers.append(("x-request-id", ctx.request_id))
    ctx.response_headers.append(("traceparent", ctx.traceparent))
