"""Alert events to a Slack incoming webhook (or a compatible one): an outbox subscriber.

The body is Slack's incoming-webhook message (https://api.slack.com/messaging/webhooks):
``text`` — the headline, shown in notifications and by receivers without Block Kit — and
``blocks``: a ``header`` block with the headline and a ``section`` block with the details in
``mrkdwn``. Mattermost and Rocket.Chat incoming webhooks take ``text`` and ignore what they do
not know. The URL (``alert_slack_webhook_url``) is a secret: its path is the credential, so it is
never logged and errors never name it. Requests go through the outbound destination policy
(:mod:`apis.process.alerts.outbound`); delivery is the outbox's (held while Slack is out of reach).
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from apis.process.alerts.message import alert_message
from apis.process.alerts.outbound import TIMEOUT, post
from apis.process.events import CloudEvent, Handler, Subscriber
from core.destinations import DestinationGuard, DestinationPolicy, Resolver, outbound_client, system_resolver

SUBSCRIBER = "alert-slack"
CHANNEL = "Slack webhook"
HEADER_LIMIT = 150
"""Slack's limit on a header block's text."""
SECTION_LIMIT = 3000
"""Slack's limit on a section block's text."""


def _escape(text: str) -> str:
    # Slack's three control characters in mrkdwn (https://api.slack.com/reference/surfaces/formatting).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: CloudEvent) -> dict[str, Any]:
    """The incoming-webhook message of one alert event."""
    message = alert_message(event)
    header = message.headline if len(message.headline) <= HEADER_LIMIT else message.headline[: HEADER_LIMIT - 1] + "…"
    details = "\n".join(_escape(line) for line in message.lines)[:SECTION_LIMIT]
    return {
        "text": _escape(message.headline),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header}},
            {"type": "section", "text": {"type": "mrkdwn", "text": details}},
        ],
    }


def slack_handler(
    url: str, *, allow_loopback: bool, resolve: Resolver = system_resolver, client: httpx.AsyncClient | None = None
) -> Handler:
    """Posts one alert event to ``url`` (raising: not delivered)."""
    guard = DestinationGuard(DestinationPolicy(allow_loopback=allow_loopback), resolve)
    http = client or outbound_client(TIMEOUT)

    async def deliver(event: CloudEvent) -> None:
        body = msgspec.json.encode(slack_body(event))
        await post(guard, http, url, channel=CHANNEL, headers={"content-type": "application/json"}, body=body)

    return deliver


def slack_subscribers(url: str, *, allow_loopback: bool, client: httpx.AsyncClient | None = None) -> list[Subscriber]:
    """The outbox subscriber posting alert events to ``url``; none when it is empty."""
    if not url:
        return []
    handler = slack_handler(url, allow_loopback=allow_loopback, client=client)
    return [Subscriber(name=SUBSCRIBER, handler=handler, types=("strata.alert.",))]
