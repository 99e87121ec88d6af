"""Correlation: W3C ``traceparent`` and ``X-Request-ID`` (step 1 of the chain).

The pipeline applies it to every request before any policy, whatever the modes: no denial,
log line or audit record may lack a request id, so it is not a switchable policy.

An incoming ``X-Request-ID`` is kept when it is a sane token (1-128 of ``[A-Za-z0-9._:-]``),
otherwise one is generated. An incoming ``traceparent`` (W3C Trace Context level 1) keeps
its trace id; the gateway's own span gets a fresh parent id. Both are echoed on the response
and appear in every log line and audit record of the request.
"""

from __future__ import annotations

import os
import re

from policies.context import RequestContext

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TRACEPARENT = re.compile(
    r"^(?P<version>[0-9a-f]{2})-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$"
)
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16


def new_request_id() -> str:
    """A random request id (128 bits, hex)."""
    return os.urandom(16).hex()


def continue_trace(incoming: str | None, span_id: str) -> str:
    """Our span's ``traceparent``: the caller's trace id when valid, a new trace otherwise."""
    if incoming:
        match = TRACEPARENT.match(incoming.strip().lower())
        if match and match["version"] != "ff" and match["trace"] != _ZERO_TRACE and match["parent"] != _ZERO_PARENT:
            return f"00-{match['trace']}-{span_id}-{match['flags']}"
    return f"00-{os.urandom(16).hex()}-{span_id}-01"


def correlate(ctx: RequestContext) -> None:
    """Set the request id and trace context of ``ctx`` and the response headers echoing them."""
    # One read of the system's random source for the request id and the span id.
    random_hex = os.urandom(24).hex()
    incoming = ctx.headers.get("x-request-id")
    ctx.request_id = incoming if incoming and REQUEST_ID.match(incoming) else random_hex[:32]
    ctx.traceparent = continue_trace(ctx.headers.get("traceparent"), random_hex[32:])
    ctx.response_headers.append(("x-request-id", ctx.request_id))
    ctx.response_headers.append(("traceparent", ctx.traceparent))
