"""Alert events to the operator's webhook: an outbox subscriber POSTing each ``strata.alert.*`` envelope.

The URL is the ``alert_webhook_url`` setting, a secret (an incoming-webhook URL carries its
credential in the path: it is never logged, and lives outside the governance file, which the
management API shows). With ``alert_webhook_secret`` every attempt is signed as the partner
webhooks are (Standard Webhooks v1, :mod:`core.webhook_signing`): ``webhook-id`` is the event id,
``webhook-timestamp`` the time of the attempt. Requests go through the outbound destination
policy (:mod:`apis.process.alerts.outbound`). Delivery is the outbox's: at least once, held while
the receiver is out of reach, retried then dead-lettered when it refuses
(:class:`~apis.process.events.OutboxRelay`); receivers de-duplicate by the ``ce-id`` (and
``webhook-id``) header, the event id.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import msgspec

from apis.process.alerts.outbound import TIMEOUT, post
from apis.process.events import CloudEvent, Handler, Subscriber
from core.destinations import DestinationGuard, DestinationPolicy, Resolver, outbound_client, system_resolver
from core.webhook_signing import signed_headers

SUBSCRIBER = "alert-webhook"
CHANNEL = "alert webhook"


def alert_webhook_handler(
    url: str,
    *,
    allow_loopback: bool,
    signing_secret: str = "",
    resolve: Resolver = system_resolver,
    client: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> Handler:
    """Delivers one alert event to ``url`` (raising: not delivered). Errors never name the URL."""
    guard = DestinationGuard(DestinationPolicy(allow_loopback=allow_loopback), resolve)
    http = client or outbound_client(TIMEOUT)

    async def deliver(event: CloudEvent) -> None:
        body = msgspec.json.encode(event)
        headers = {"content-type": "application/cloudevents+json", "ce-id": event.id, "ce-type": event.type}
        if signing_secret:
            headers |= signed_headers(event.id, int(clock()), body, [signing_secret])
        await post(guard, http, url, channel=CHANNEL, headers=headers, body=body)

    return deliver


def alert_webhook_subscribers(
    url: str, *, allow_loopback: bool, signing_secret: str = "", client: httpx.AsyncClient | None = None
) -> list[Subscriber]:
    """The outbox subscriber of alert events (``strata.alert.*``) for ``url``; none when it is empty.

    ``client``: an outbound client (:func:`core.destinations.outbound_client`) its owner closes.
    """
    if not url:
        return []
    handler = alert_webhook_handler(url, allow_loopback=allow_loopback, signing_secret=signing_secret, client=client)
    return [Subscriber(name=SUBSCRIBER, handler=handler, types=("strata.alert.",))]
