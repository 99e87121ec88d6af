"""Every experience API's router, in one list (the gateway serves each), the web console's, and
what experience APIs run next to the process engine: outbox subscribers and background jobs,
which the composition root (``gateway.components``) hands to
:func:`apis.process.runtime.start_runtime` (the process layer never imports this one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apis.process.events import Subscriber
    from apis.process.runtime import BackgroundJob, ProcessRuntime


def experience_routers() -> list[Any]:
    """The routers of every experience API."""
    from apis.experience.console.routes import router as console
    from apis.experience.customer_portal.routes import router as customer_portal
    from apis.experience.operations.routes import router as operations
    from apis.experience.partner_portal.routes import router as partner_portal
    from apis.experience.partner_portal.webhooks.routes import router as partner_webhooks

    return [customer_portal, partner_portal, partner_webhooks, operations, console]


def experience_event_subscribers(process: ProcessRuntime) -> list[Subscriber]:
    """Outbox subscribers of the experience APIs (each with a cursor, or a consumer group, of its own)."""
    from apis.experience.partner_portal.webhooks.fanout import partner_webhook_fanout

    return [partner_webhook_fanout(process)]


def experience_background_jobs() -> list[BackgroundJob]:
    """Loops the experience APIs run in every process with the engine."""
    from apis.experience.partner_portal.webhooks.worker import partner_webhook_queue

    return [partner_webhook_queue]
