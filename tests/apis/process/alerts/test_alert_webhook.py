"""Alert events to the operator's webhook: sent as CloudEvents JSON, through the destination policy."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

from apis.process.alerts.webhook import AlertWebhookFailed, alert_webhook_handler, alert_webhook_subscriber
from apis.process.events import new_event
from core.destinations import DestinationRefused
from policies.alert_rules import AlertsConfig
from tests.apis.experience.partner_webhooks.receiver import Receiver

EVENT = new_event(
    "strata.alert.fired",
    event_id="evt_alert_1",
    subject="alr_1",
    data={"alert_id": "alr_1", "rule": "vendor-down", "summary": "netsuite: circuit not closed for 12 min"},
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    try:
        yield server
    finally:
        server.close()


def to(url: str | None) -> AlertsConfig:
    return AlertsConfig(webhook_url=url)


async def test_an_alert_event_arrives_as_its_cloudevents_envelope(receiver: Receiver) -> None:
    await alert_webhook_handler(lambda: to(receiver.url), allow_loopback=True)(EVENT)
    (request,) = receiver.requests
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.headers["ce-id"] == "evt_alert_1" and request.headers["ce-type"] == "strata.alert.fired"
    assert msgspec.json.decode(request.body)["data"]["rule"] == "vendor-down"


async def test_a_webhook_answering_an_error_is_not_delivered_so_the_outbox_retries(receiver: Receiver) -> None:
    receiver.status = 500
    with pytest.raises(AlertWebhookFailed, match="HTTP 500"):
        await alert_webhook_handler(lambda: to(receiver.url), allow_loopback=True)(EVENT)


async def test_a_loopback_url_is_refused_in_production_and_nothing_is_sent(receiver: Receiver) -> None:
    with pytest.raises(DestinationRefused):
        await alert_webhook_handler(lambda: to(receiver.url), allow_loopback=False)(EVENT)
    assert receiver.requests == []


async def test_without_a_url_nothing_is_sent_and_only_alert_events_are_taken(receiver: Receiver) -> None:
    await alert_webhook_handler(lambda: to(None), allow_loopback=True)(EVENT)
    assert receiver.requests == []
    subscriber = alert_webhook_subscriber(lambda: to(None), allow_loopback=True)
    assert subscriber.wants("strata.alert.resolved") and not subscriber.wants("strata.invoice.posted")
