"""Alert events to the operator's webhook: an outbox subscriber POSTing each ``strata.alert.*`` envelope.

The URL is the ``alert_webhook_url`` setting, a secret (an incoming-webhook URL carries its
credential in the path: it is never logged, and lives outside the governance file, which the
management API shows). Every request goes through the outbound destination policy
(:mod:`core.destinations`): the host is resolved and refused if an address is not public
(loopback only with ``allow_loopback_destinations``), and the request is pinned to the checked
address. Delivery is the outbox's: at least once, retried with backoff, then dead-lettered
(:class:`~apis.process.events.OutboxRelay`); receivers de-duplicate by the ``ce-id`` header,
the event id.
"""

from __future__ import annotations

import httpx
import msgspec

from apis.process.events import CloudEvent, Handler, Subscriber
from core.destinations import DestinationGuard, DestinationPolicy, Resolver, outbound_client, system_resolver

SUBSCRIBER = "alert-webhook"
TIMEOUT = httpx.Timeout(10.0)


class AlertWebhookFailed(Exception):
    """The webhook did not take the event (the relay tries again later)."""


def alert_webhook_handler(
    url: str,
    *,
    allow_loopback: bool,
    resolve: Resolver = system_resolver,
    client: httpx.AsyncClient | None = None,
) -> Handler:
    """Delivers one alert event to ``url`` (raising: not delivered). Errors never name the URL."""
    guard = DestinationGuard(DestinationPolicy(allow_loopback=allow_loopback), resolve)
    http = client or outbound_client(TIMEOUT)

    async def deliver(event: CloudEvent) -> None:
        headers = {"content-type": "application/cloudevents+json", "ce-id": event.id, "ce-type": event.type}
        try:
            async with guard.stream(http, "POST", url, headers=headers, content=msgspec.json.encode(event)) as answer:
                status = answer.status_code  # the receiver's body is never read
        except httpx.HTTPError as exc:
            raise AlertWebhookFailed(f"{type(exc).__name__}: could not deliver to the alert webhook") from None
        if not 200 <= status < 300:
            raise AlertWebhookFailed(f"the alert webhook answered HTTP {status}")

    return deliver


def alert_webhook_subscribers(
    url: str, *, allow_loopback: bool, client: httpx.AsyncClient | None = None
) -> list[Subscriber]:
    """The outbox subscriber of alert events (``strata.alert.*``) for ``url``; none when it is empty.

    ``client``: an outbound client (:func:`core.destinations.outbound_client`) its owner closes.
    """
    if not url:
        return []
    handler = alert_webhook_handler(url, allow_loopback=allow_loopback, client=client)
    return [Subscriber(name=SUBSCRIBER, handler=handler, types=("strata.alert.",))]
