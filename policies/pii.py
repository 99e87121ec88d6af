"""Personal data by scope: marked response fields masked unless the caller holds the API's ``pii`` scope.

A contract marks personal fields with ``x-strata-pii`` (:mod:`policies.pii_masks`). On a
route whose responses hold any, this policy walks each JSON response along the marks: a
caller holding ``<layer>:<api>:pii`` (e.g. ``system:crm:pii``) gets the values, and the
kinds revealed are left in ``ctx.state`` under :data:`REVEALED_STATE_KEY` for the audit
(:mod:`policies.observe` records client, route and kinds, never a value); any other caller
gets each marked string replaced by its field's mask.

It sits innermost in the chain (``gateway.chain``), so its response hook runs first: the
response contract then checks the masked body, and the idempotency store keeps what the
caller was sent. Masking works on the body the handler produced, whatever query
parameters (``fields=``, ``expand=``) shaped it, so no parameter can unmask a field.

A filter on a personal field would still tell whether a person exists (one masked item or
none), so a query parameter the contract marks personal (:mod:`policies.pii_filters`) is
refused to a caller without the ``pii`` scope: 403 ``insufficient-scope`` naming the parameter,
before the handler asks any system.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar
from urllib.parse import parse_qsl

import msgspec

from policies.base import Policy, RequestHookNow, ResponseHookNow
from policies.context import CapturedResponse, Denial, RequestContext
from policies.pii_filters import personal_filters
from policies.pii_masks import Plan, apply_plan, mask_plan
from policies.request_contract import SEQUENCE_MEDIA_TYPES
from policies.request_limits import media_type
from policies.routes import CompiledRoute

PII_ACCESS = "pii"
REVEALED_STATE_KEY = "pii_revealed"
"""``ctx.state`` key: sorted kinds of personal data a response revealed to its caller."""

RouteKey = tuple[str, str, str]
T = TypeVar("T")


def pii_scope(layer: str, api: str) -> str:
    """The scope that reveals an API's personal data: ``<layer>:<api>:pii``."""
    return f"{layer}:{api}:{PII_ACCESS}"


def response_plans(operation: dict[str, object]) -> dict[str, Plan]:
    """Mask plans of an operation's JSON responses, by status key (``200``, ``2XX``, ``default``)."""
    plans: dict[str, Plan] = {}
    responses = operation.get("responses")
    if not isinstance(responses, dict):
        return plans
    for status, response in responses.items():
        content = response.get("content") if isinstance(response, dict) else None
        if not isinstance(content, dict):
            continue
        for media, item in content.items():
            if str(media).endswith("json") and media not in SEQUENCE_MEDIA_TYPES and isinstance(item, dict):
                plan = mask_plan(item.get("schema"))
                if plan is not None:
                    plans[str(status).upper()] = plan
    return plans


def _key(route: CompiledRoute) -> RouteKey:
    return (route.api.api_id, route.method, route.path_template)


def _keep(known: dict[RouteKey, T], key: RouteKey, value: T) -> None:
    """Remember ``value`` for the route (forget it when empty: a recompiled route may have lost it)."""
    if value:
        known[key] = value
    else:
        known.pop(key, None)


class PiiPolicy(Policy):
    """Mask marked fields for callers without the API's ``pii`` scope; note what was revealed to the others."""

    name: ClassVar[str] = "pii"

    def __init__(self) -> None:
        self._plans: dict[RouteKey, dict[str, Plan]] = {}
        self._filters: dict[RouteKey, dict[str, str]] = {}

    def applies_to(self, route: CompiledRoute) -> bool:
        """Routes whose responses hold marked fields or that take personal filters (chosen here, once)."""
        key = _key(route)
        plans = response_plans(route.operation)
        filters = personal_filters(route.operation)
        _keep(self._plans, key, plans)
        _keep(self._filters, key, filters)
        return bool(plans or filters)

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """See :meth:`on_request_now` (no I/O: the pipeline calls that one)."""
        return self.on_request_now(ctx)

    def request_hook_now(self) -> RequestHookNow:
        """:meth:`on_request_now`: this hook does no I/O."""
        return self.on_request_now

    def on_request_now(self, ctx: RequestContext) -> Denial | None:
        filters = self._filters.get(_key(ctx.route))
        if not filters or not ctx.query_string:
            return None
        api = ctx.route.api
        scope = pii_scope(api.layer, api.name)
        if ctx.principal is not None and scope in ctx.principal.oauth_scopes:
            return None
        used = sorted({name for name, _ in parse_qsl(ctx.query_string.decode("latin-1"), True)} & filters.keys())
        if not used:
            return None
        return Denial(
            status=403,
            problem="insufficient-scope",
            title="Insufficient scope",
            detail=f"filtering on personal data ({', '.join(used)}) needs the scope {scope}",
            headers={"www-authenticate": f'Bearer realm="strata", error="insufficient_scope", scope="{scope}"'},
            errors=[
                {"in": "query", "name": name, "detail": f"a filter on personal data ({filters[name]}) needs {scope}"}
                for name in used
            ],
        )

    async def on_response(self, ctx: RequestContext, response: CapturedResponse) -> None:
        """See :meth:`on_response_now` (no I/O: the pipeline calls that one)."""
        self.on_response_now(ctx, response)

    def response_hook_now(self) -> ResponseHookNow:
        """:meth:`on_response_now`: this hook does no I/O."""
        return self.on_response_now

    def on_response_now(self, ctx: RequestContext, response: CapturedResponse) -> None:
        plans = self._plans.get(_key(ctx.route))
        if not plans or not response.body:
            return
        status = response.status
        plan = plans.get(str(status)) or plans.get(f"{status // 100}XX") or plans.get("DEFAULT")
        if plan is None:
            return
        received = media_type((response.header(b"content-type") or b"").decode("latin-1"))
        if not received.endswith("json") or received in SEQUENCE_MEDIA_TYPES:
            return
        try:
            value = msgspec.json.decode(response.body)
        except msgspec.DecodeError:
            return  # the response contract reports a body that is not JSON
        principal = ctx.principal
        api = ctx.route.api
        reveal = principal is not None and pii_scope(api.layer, api.name) in principal.oauth_scopes
        kinds: set[str] = set()
        value = apply_plan(plan, value, kinds, mask=not reveal)
        if not kinds:
            return
        if reveal:
            ctx.state[REVEALED_STATE_KEY] = sorted(kinds)
        else:
            response.body = msgspec.json.encode(value)
