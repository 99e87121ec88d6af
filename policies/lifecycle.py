"""Lifecycle of an API version (policy 2 of the chain, and the deprecation headers).

From the contract's ``info.x-strata-lifecycle``:

* ``retired`` → 410 problem before any other work (no token check, no body read);
* ``deprecated`` → every response carries ``Deprecation: @<epoch seconds>`` (RFC 9745),
  ``Sunset: <HTTP-date>`` (RFC 8594) when a sunset is set, and
  ``Link: <successor>; rel="successor-version"`` when a successor is named.

The header values are computed once per API at start-up.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import ClassVar

from policies.base import Policy, RequestHookNow
from policies.context import Denial, RequestContext
from policies.routes import CompiledRoute, Lifecycle


def lifecycle_headers(lifecycle: Lifecycle) -> tuple[tuple[str, str], ...]:
    """Response headers announcing a deprecation, sunset and successor."""
    headers: list[tuple[str, str]] = []
    if lifecycle.state in ("deprecated", "retired") and lifecycle.deprecated_at is not None:
        headers.append(("deprecation", f"@{int(lifecycle.deprecated_at)}"))
    if lifecycle.sunset_at is not None:
        headers.append(("sunset", formatdate(lifecycle.sunset_at, usegmt=True)))
    if lifecycle.successor:
        headers.append(("link", f'<{lifecycle.successor}>; rel="successor-version"'))
    return tuple(headers)


class LifecyclePolicy(Policy):
    """Refuse retired versions with 410; decorate deprecated ones."""

    name: ClassVar[str] = "lifecycle"

    def applies_to(self, route: CompiledRoute) -> bool:
        """Versions that are not active, or announce something: an active one has nothing to do."""
        lifecycle = route.api.lifecycle
        return lifecycle.state != "active" or bool(lifecycle_headers(lifecycle))

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """See :meth:`on_request_now` (no I/O: the pipeline calls that one)."""
        return self.on_request_now(ctx)

    def request_hook_now(self) -> RequestHookNow:
        """:meth:`on_request_now`: this hook does no I/O."""
        return self.on_request_now

    def on_request_now(self, ctx: RequestContext) -> Denial | None:
        lifecycle = ctx.route.api.lifecycle
        headers = lifecycle_headers(lifecycle)
        if lifecycle.state == "retired":
            successor = f" Use {lifecycle.successor} instead." if lifecycle.successor else ""
            return Denial(
                status=410,
                problem="api-version-retired",
                title="API version retired",
                detail=f"{ctx.route.api.api_id} has been retired.{successor}",
                headers=dict(headers),
            )
        ctx.response_headers.extend(headers)
        return None
