"""From the outbox to partner webhook deliveries: one outbox subscriber, ``partner-webhooks``.

For each event of a partner-visible type (:data:`PARTNER_EVENT_TYPES`), the handler finds the
customer the event is about and that customer's partner
(:mod:`apis.experience.partner_portal.webhooks.audience`), then queues one delivery per
subscription of that partner to that event type which existed when the event happened.
Queuing is idempotent per (subscription, event), so the outbox's at-least-once relay never
queues an event twice; raising (the CRM is unreachable) makes the relay retry the event.
Each queued delivery's first attempt is then put on the engine's queue (again when the relay
hands the event over again: idempotent by the attempt's workflow id, so a crash between the two
writes loses nothing). Sending is the worker's (:mod:`apis.experience.partner_portal.webhooks.worker`).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from apis.experience.partner_portal.webhooks.audience import (
    PARTNER_EVENT_TYPES,
    crm_account_of_event,
    partner_of_customer,
)
from apis.experience.partner_portal.webhooks.deliveries import DeliveryQueue
from apis.experience.partner_portal.webhooks.signing import SecretBox
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from apis.experience.partner_portal.webhooks.worker import enqueue_attempt
from apis.process.events import CloudEvent, Subscriber
from core.master_key import resolve_master_key

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime

SUBSCRIBER_NAME = "partner-webhooks"
"""The outbox cursor (and, with Redis, the consumer group) of the fan-out."""
CLOCK_TOLERANCE_SECONDS = 1.0
"""An event time is to the millisecond and written by another process's clock: a subscription
made within this long after an event still receives it."""


def _happened_at(event: CloudEvent) -> float:
    if event.time:
        try:
            return dt.datetime.fromisoformat(event.time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time()


def partner_webhook_fanout(process: ProcessRuntime) -> Subscriber:
    """The outbox subscriber queuing partner webhook deliveries."""
    subscriptions = SubscriptionStore(process.database, SecretBox(resolve_master_key(process.settings)))
    queue = DeliveryQueue(process.database)

    async def fan_out(event: CloudEvent) -> None:
        if event.type not in PARTNER_EVENT_TYPES:
            return
        happened_at = _happened_at(event) + CLOCK_TOLERANCE_SECONDS
        if not await subscriptions.any_for(event.type, happened_at):
            return  # nobody listens: no CRM lookup for the event
        account = await crm_account_of_event(process, process.xref, process.erp_system, event)
        partner_id = await partner_of_customer(process, account) if account else None
        if partner_id is None:
            return
        for subscription_id in await subscriptions.matching(partner_id, event.type, happened_at):
            _, first = await queue.queue_first(subscription_id, partner_id, event)
            if first is not None:
                await enqueue_attempt(process.settings, first)

    return Subscriber(name=SUBSCRIBER_NAME, handler=fan_out, types=PARTNER_EVENT_TYPES)
