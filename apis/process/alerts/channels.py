"""Every alert channel the settings configure, as outbox subscribers of ``strata.alert.*``.

Each channel is its own subscriber with its own cursor: one that is down holds its events (and
only its own) while the others go on delivering.
"""

from __future__ import annotations

import httpx

from apis.process.alerts.email import SmtpTarget, email_subscribers
from apis.process.alerts.slack import slack_subscribers
from apis.process.alerts.webhook import alert_webhook_subscribers
from apis.process.events import Subscriber
from core.settings import CoreSettings


def smtp_target(settings: CoreSettings) -> SmtpTarget | None:
    """The e-mail channel of ``settings``; None when ``alert_smtp_host`` is empty."""
    if not settings.alert_smtp_host:
        return None
    return SmtpTarget(
        host=settings.alert_smtp_host,
        port=settings.alert_smtp_port,
        sender=settings.alert_smtp_from,
        recipients=settings.alert_smtp_recipients,
        username=settings.alert_smtp_username,
        password=settings.alert_smtp_password,
        starttls=settings.alert_smtp_starttls,
    )


def alert_channel_subscribers(settings: CoreSettings, *, client: httpx.AsyncClient | None = None) -> list[Subscriber]:
    """The subscribers of the configured channels (webhook, Slack, e-mail); ``client`` is closed by its owner."""
    loopback = settings.allow_loopback_destinations
    return [
        *alert_webhook_subscribers(
            settings.alert_webhook_url,
            allow_loopback=loopback,
            signing_secret=settings.alert_webhook_secret,
            client=client,
        ),
        *slack_subscribers(settings.alert_slack_webhook_url, allow_loopback=loopback, client=client),
        *email_subscribers(smtp_target(settings)),
    ]
