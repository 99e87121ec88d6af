"""``/experience/partner-portal/v1/webhooks``: a partner's webhook subscriptions and their delivery log.

Every operation needs a partner-bound caller (``experience:partner-portal:read`` to read,
``:write`` to change); an unbound client is refused with 403 whatever its scopes. A partner
sees only its own subscriptions and their deliveries: another partner's answer 404, exactly as
ids that do not exist. The signing secret is in the answers of create and rotate-secret only
(neither honours ``Idempotency-Key``: a stored replay would keep the secret at rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.canonical import Page
from apis.experience.partner_portal.webhooks.audience import PARTNER_EVENT_TYPES
from apis.experience.partner_portal.webhooks.deliveries import Attempt, Delivery, DeliveryQueue, new_owner
from apis.experience.partner_portal.webhooks.signing import SecretBox
from apis.experience.partner_portal.webhooks.subscriptions import Subscription, SubscriptionStore
from apis.experience.partner_portal.webhooks.worker import enqueue_redelivery
from apis.system.http import Limit, decode_body, json_response, page_response
from apis.system.paging import cursor_position
from core.cursors import Keyset
from core.destinations import (
    DestinationGuard,
    DestinationPolicy,
    DestinationRefused,
    DestinationUnresolved,
    Resolver,
    system_resolver,
)
from core.errors import InvalidInput, PermanentError
from core.instants import rfc3339
from policies.context import principal_of, request_context
from policies.observe import AUDIT_NOTE_KEY

BASE = "/experience/partner-portal/v1"
REGISTRATION_RESOLVE_TIMEOUT_SECONDS = 2.0
"""How long a registration waits for DNS (a delivery's own timeout bounds its lookup)."""


class PartnerRequired(PermanentError):
    """The caller is not bound to a partner: the partner portal has nothing to show it."""

    status = 403
    problem = "partner-required"
    title = "Partner-bound client required"


class WebhookCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /webhooks``."""

    url: str
    event_types: list[str]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class PartnerWebhooks:
    """What the webhook routes read (their one dependency, built once by the composition root)."""

    subscriptions: SubscriptionStore
    deliveries: DeliveryQueue
    allow_loopback: bool
    """``allow_loopback_destinations``: a registration may name a loopback URL (tests, the demo)."""
    secret_grace_seconds: float
    """How long a rotated-out secret keeps signing (``partner_webhook_secret_grace_hours``)."""

    @classmethod
    def build(
        cls, engine: AsyncEngine, master_key: str, *, allow_loopback: bool, secret_grace_hours: float
    ) -> PartnerWebhooks:
        """The stores over ``engine``, secrets sealed under ``master_key``."""
        subscriptions = SubscriptionStore(engine, SecretBox(master_key))
        return cls(subscriptions, DeliveryQueue(engine), allow_loopback, secret_grace_hours * 3600.0)


def bound_partner(request: Request[Any, Any, Any]) -> str:
    """The partner the caller's token is bound to.

    Raises:
        PartnerRequired: the caller is not partner-bound.
    """
    principal = principal_of(request)
    partner_id = principal.partner_id if principal is not None else None
    if not partner_id:
        raise PartnerRequired("the partner portal serves partner-bound clients only")
    return partner_id


def _note(request: Request[Any, Any, Any], note: str) -> None:
    """Say in the audit record what this call changed (never a secret)."""
    context = request_context(request)
    if context is not None:
        context.state[AUDIT_NOTE_KEY] = note


async def registration_problem(url: str, allow_loopback: bool, resolve: Resolver = system_resolver) -> str | None:
    """Why ``url`` cannot be registered (``None``: it can): the outbound destination policy, now.

    A name that does not resolve (yet) is accepted — its DNS may be set up after the
    subscription — and, like every URL, checked again at every delivery.
    """
    policy = DestinationPolicy(allow_loopback=allow_loopback)
    guard = DestinationGuard(policy, resolve, REGISTRATION_RESOLVE_TIMEOUT_SECONDS)
    try:
        await guard.check(url)
    except DestinationRefused as refused:
        return str(refused)
    except DestinationUnresolved:
        return None
    return None


async def _check_create(body: WebhookCreate, allow_loopback: bool) -> None:
    errors = []
    problem = await registration_problem(body.url, allow_loopback)
    if problem is not None:
        errors.append({"in": "body", "pointer": "/url", "detail": problem})
    if not body.event_types:
        errors.append({"in": "body", "pointer": "/event_types", "detail": "name at least one event type"})
    for index, event_type in enumerate(body.event_types):
        if event_type not in PARTNER_EVENT_TYPES:
            detail = f"{event_type!r} is not an event type partners receive; allowed: {', '.join(PARTNER_EVENT_TYPES)}"
            errors.append({"in": "body", "pointer": f"/event_types/{index}", "detail": detail})
    if errors:
        raise InvalidInput("the webhook subscription is not acceptable", field_errors=errors)


_time = rfc3339


def subscription_view(subscription: Subscription) -> dict[str, Any]:
    """A subscription as the contract's ``WebhookSubscription``."""
    return {
        "id": subscription.id,
        "url": subscription.url,
        "event_types": subscription.event_types,
        "description": subscription.description,
        "created_at": _time(subscription.created_at),
        "updated_at": _time(subscription.updated_at),
        "previous_secret_expires_at": _time(subscription.previous_secret_expires_at),
    }


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    """A delivery as the contract's ``WebhookDelivery``."""
    return {
        "id": delivery.id,
        "webhook_id": delivery.subscription_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "last_attempt_at": _time(delivery.last_attempt_at),
        "next_attempt_at": _time(delivery.next_attempt_at),
        "delivered_at": _time(delivery.delivered_at),
        "created_at": _time(delivery.created_at),
    }


def _attempt_view(attempt: Attempt) -> dict[str, Any]:
    return {
        "at": _time(attempt.at),
        "status_code": attempt.status_code,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
    }


@post("/webhooks", operation_id="createWebhook")
async def create_webhook(
    request: Request[Any, Any, Any], partner_webhooks: NamedDependency[PartnerWebhooks]
) -> Response[bytes]:
    """Register an endpoint; the signing secret is in this answer only."""
    partner_id = bound_partner(request)
    body = await decode_body(request, WebhookCreate)
    await _check_create(body, partner_webhooks.allow_loopback)
    subscription, secret = await partner_webhooks.subscriptions.create(
        partner_id, body.url, body.event_types, body.description
    )
    _note(request, f"created webhook subscription {subscription.id}")
    location = f"{BASE}/webhooks/{subscription.id}"
    return json_response({**subscription_view(subscription), "secret": secret}, 201, {"Location": location})


@get("/webhooks", operation_id="listWebhooks")
async def list_webhooks(
    request: Request[Any, Any, Any], partner_webhooks: NamedDependency[PartnerWebhooks], limit: Limit = 50
) -> Response[bytes]:
    """The partner's subscriptions, oldest first."""
    items, next_position = await partner_webhooks.subscriptions.page(
        bound_partner(request), limit=limit, position=cursor_position(request, Keyset)
    )
    return page_response(request, Page(items=[subscription_view(s) for s in items], next_position=next_position))


@get("/webhooks/{webhook_id:str}", operation_id="getWebhook")
async def get_webhook(
    request: Request[Any, Any, Any], partner_webhooks: NamedDependency[PartnerWebhooks], webhook_id: FromPath[str]
) -> Response[bytes]:
    """One subscription (never its secret)."""
    return json_response(
        subscription_view(await partner_webhooks.subscriptions.get(bound_partner(request), webhook_id))
    )


@delete("/webhooks/{webhook_id:str}", operation_id="deleteWebhook", status_code=204)
async def delete_webhook(
    request: Request[Any, Any, Any], partner_webhooks: NamedDependency[PartnerWebhooks], webhook_id: FromPath[str]
) -> None:
    """Delete a subscription with its delivery log; nothing more is sent to it."""
    await partner_webhooks.subscriptions.delete(bound_partner(request), webhook_id)
    _note(request, f"deleted webhook subscription {webhook_id}")


@post("/webhooks/{webhook_id:str}/rotate-secret", operation_id="rotateWebhookSecret", status_code=200)
async def rotate_secret(
    request: Request[Any, Any, Any], partner_webhooks: NamedDependency[PartnerWebhooks], webhook_id: FromPath[str]
) -> Response[bytes]:
    """A new signing secret (in this answer only); the old one keeps signing during the grace period."""
    subscription, secret = await partner_webhooks.subscriptions.rotate_secret(
        bound_partner(request), webhook_id, partner_webhooks.secret_grace_seconds
    )
    _note(request, f"rotated the secret of webhook subscription {webhook_id}")
    return json_response({**subscription_view(subscription), "secret": secret})


@get("/webhooks/{webhook_id:str}/deliveries", operation_id="listWebhookDeliveries")
async def list_deliveries(
    request: Request[Any, Any, Any],
    partner_webhooks: NamedDependency[PartnerWebhooks],
    webhook_id: FromPath[str],
    limit: Limit = 50,
    status: FromQuery[str | None] = None,
) -> Response[bytes]:
    """The subscription's deliveries, newest first, optionally of one status."""
    partner_id = bound_partner(request)
    await partner_webhooks.subscriptions.get(partner_id, webhook_id)
    items, next_position = await partner_webhooks.deliveries.page(
        partner_id, webhook_id, limit=limit, position=cursor_position(request, Keyset), status=status
    )
    return page_response(request, Page(items=[delivery_view(d) for d in items], next_position=next_position))


@get("/webhooks/{webhook_id:str}/deliveries/{delivery_id:str}", operation_id="getWebhookDelivery")
async def get_delivery(
    request: Request[Any, Any, Any],
    partner_webhooks: NamedDependency[PartnerWebhooks],
    webhook_id: FromPath[str],
    delivery_id: FromPath[str],
) -> Response[bytes]:
    """One delivery with every attempt, oldest first."""
    delivery, attempts = await partner_webhooks.deliveries.get(bound_partner(request), webhook_id, delivery_id)
    return json_response({**delivery_view(delivery), "attempt_log": [_attempt_view(a) for a in attempts]})


@post(
    "/webhooks/{webhook_id:str}/deliveries/{delivery_id:str}/redeliver",
    operation_id="redeliverWebhook",
    status_code=202,
)
async def redeliver(
    request: Request[Any, Any, Any],
    partner_webhooks: NamedDependency[PartnerWebhooks],
    webhook_id: FromPath[str],
    delivery_id: FromPath[str],
) -> Response[bytes]:
    """Send the delivery again now, with a fresh round of attempts (a dead one too)."""
    partner_id = bound_partner(request)
    owner = new_owner(delivery_id)
    delivery = await partner_webhooks.deliveries.redeliver(partner_id, webhook_id, delivery_id, owner)
    await enqueue_redelivery(delivery.id, partner_id, owner)
    _note(request, f"asked for a redelivery of {delivery_id}")
    return json_response(delivery_view(delivery), 202)


router = Router(
    path=BASE,
    route_handlers=[
        create_webhook,
        list_webhooks,
        get_webhook,
        delete_webhook,
        rotate_secret,
        list_deliveries,
        get_delivery,
        redeliver,
    ],
)
