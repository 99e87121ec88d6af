"""Authorization: contract scopes and audience confinement, policy 6 of the chain.

Required scopes come only from the operation's ``security`` in its contract (compiled into
``CompiledRoute.security``): any one alternative suffices, and an alternative needs all of
its scopes (OpenAPI semantics). No scope list lives in Python code.

Audience confinement is independent of scopes: a principal bound to a ``partner_id``
reaches only the partner-portal experience API, one bound to a ``customer_id`` only the
customer-portal API, whatever scopes it was granted — a mis-scoped partner client must
not become a back door into system APIs. The partner-portal API is also the other way round:
it answers only partner-bound principals (its every answer is about "your" customers and
deals, which an unbound client does not have), so an unbound one gets the same 403.
"""

from __future__ import annotations

from typing import ClassVar

from policies.base import Policy, RequestHookNow
from policies.context import Denial, RequestContext
from policies.routes import CompiledRoute

PARTNER_API = ("experience", "partner-portal")
CUSTOMER_API = ("experience", "customer-portal")


class AuthorizationPolicy(Policy):
    """Deny with 403 unless the principal holds one alternative's scopes and may reach the API."""

    name: ClassVar[str] = "authorization"

    def applies_to(self, route: CompiledRoute) -> bool:
        """Secured operations only: a public one has no scopes to hold."""
        return bool(route.security)

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """See :meth:`on_request_now` (no I/O: the pipeline calls that one)."""
        return self.on_request_now(ctx)

    def request_hook_now(self) -> RequestHookNow:
        """:meth:`on_request_now`: this hook does no I/O."""
        return self.on_request_now

    def on_request_now(self, ctx: RequestContext) -> Denial | None:
        principal = ctx.principal
        route = ctx.route
        if principal is None:
            # Authentication runs first on every secured route; reaching here without a
            # principal means the route is public.
            return None
        api = (route.api.layer, route.api.name)
        if principal.partner_id is not None and api != PARTNER_API:
            return _confined("a partner-bound client may only call the partner-portal API")
        if principal.partner_id is None and api == PARTNER_API:
            return _confined("the partner-portal API answers only clients bound to a partner (partner_id)")
        if principal.customer_id is not None and principal.partner_id is None and api != CUSTOMER_API:
            return _confined("a customer-bound client may only call the customer-portal API")
        granted = principal.oauth_scopes
        for alternative in route.security:
            if alternative <= granted:
                return None
        smallest: frozenset[str] = min(route.security, key=len) if route.security else frozenset()
        needed = " ".join(sorted(smallest))
        return Denial(
            status=403,
            problem="insufficient-scope",
            title="Insufficient scope",
            detail=f"this operation needs the scope(s): {needed}",
            headers={
                "www-authenticate": f'Bearer realm="strata", error="insufficient_scope", scope="{needed}"',
            },
        )


def _confined(detail: str) -> Denial:
    return Denial(
        status=403,
        problem="audience-confined",
        title="API not available to this client",
        detail=detail,
        headers={"www-authenticate": 'Bearer realm="strata", error="insufficient_scope"'},
    )
