"""Alert events to the operator's webhook: sent as CloudEvents JSON, through the destination policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from apis.process.alerts.outbound import AlertChannelRefused, AlertChannelUnreachable
from apis.process.alerts.webhook import alert_webhook_handler, alert_webhook_subscribers
from apis.process.events import new_event
from core.destinations import DestinationRefused
from core.settings import SettingsError
from gateway.settings import load_settings
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


async def test_an_alert_event_arrives_as_its_cloudevents_envelope(receiver: Receiver) -> None:
    await alert_webhook_handler(receiver.url, allow_loopback=True)(EVENT)
    (request,) = receiver.requests
    assert request.headers["content-type"] == "application/cloudevents+json"
    assert request.headers["ce-id"] == "evt_alert_1" and request.headers["ce-type"] == "strata.alert.fired"
    assert msgspec.json.decode(request.body)["data"]["rule"] == "vendor-down"


async def test_a_webhook_answering_an_error_is_not_delivered_so_the_outbox_retries(receiver: Receiver) -> None:
    receiver.status = 500
    with pytest.raises(AlertChannelUnreachable, match="HTTP 500"):
        await alert_webhook_handler(receiver.url, allow_loopback=True)(EVENT)


async def test_a_loopback_url_is_refused_in_production_and_nothing_is_sent(receiver: Receiver) -> None:
    with pytest.raises(DestinationRefused):
        await alert_webhook_handler(receiver.url, allow_loopback=False)(EVENT)
    assert receiver.requests == []


async def test_an_error_does_not_name_the_url(receiver: Receiver) -> None:
    receiver.status = 404
    with pytest.raises(AlertChannelRefused) as failed:
        await alert_webhook_handler(receiver.url, allow_loopback=True)(EVENT)
    assert receiver.path not in str(failed.value)


def test_only_alert_events_are_taken_and_no_url_means_no_subscriber() -> None:
    assert alert_webhook_subscribers("", allow_loopback=False) == []
    (subscriber,) = alert_webhook_subscribers("https://hooks.example.com/T0/B0/x", allow_loopback=False)
    assert subscriber.wants("strata.alert.resolved") and not subscriber.wants("strata.invoice.posted")


def test_the_url_is_a_secret_setting_read_from_a_file_too(tmp_path: Path) -> None:
    secret = tmp_path / "alert-webhook"
    secret.write_text("https://hooks.example.com/services/T0/B0/token\n")
    settings = load_settings(environ={"STRATA_ALERT_WEBHOOK_URL_FILE": str(secret)})
    assert settings.alert_webhook_url == "https://hooks.example.com/services/T0/B0/token"
    assert "alert_webhook_url" in settings.SECRETS
    with pytest.raises(SettingsError, match="alert_webhook_url"):
        load_settings({"alert_webhook_url": "hooks.example.com/x"}, environ={})
