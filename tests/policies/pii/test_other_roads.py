"""Personal data leaving by the other roads: event envelopes (data platform, partner webhooks), audit, logs."""

from __future__ import annotations

import io
import json
import logging

import structlog

from apis.process.events import new_event
from core.logging import configure_logging
from core.personal_data import MASKS, mask_personal, scrub_text
from gateway.settings import load_settings

PERSON = {
    "contact": {"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@acme.example", "phone": "+49 30 1234567"},
    "billing_address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
    "tax_id": "DE811111111",
}
VALUES = ("Jane", "Doe", "jane.doe@acme.example", "1234567", "Hauptstr", "Berlin", "10115", "DE811111111")


def test_an_event_envelope_carries_no_personal_value_whatever_a_step_put_in_its_data() -> None:
    event = new_event("strata.customer.synced", event_id="evt_1", data={"customer_id": "cus_1", **PERSON})
    text = json.dumps(event.data)
    for value in VALUES:
        assert value not in text
    assert event.data["customer_id"] == "cus_1" and event.data["billing_address"]["country"] == "DE"
    assert event.data["contact"]["email"] == MASKS["email"]
    assert PERSON["tax_id"] == "DE811111111"  # the caller's data is not changed under it


def test_masking_by_name_leaves_ids_and_nulls() -> None:
    assert mask_personal({"items": [{"id": "x", "email": None, "name": "Acme"}]}) == {
        "items": [{"id": "x", "email": None, "name": "Acme"}]
    }


def test_audit_reasons_lose_quoted_email_addresses() -> None:
    assert scrub_text("email: 'jane.doe@acme.example' is not valid") == f"email: '{MASKS['email']}' is not valid"


def test_default_log_settings_redact_every_kind_by_key_and_emails_in_text() -> None:
    configure_logging("info", sorted(load_settings(environ={}).log_redact_field_names))
    (handler,) = [
        h for h in logging.getLogger().handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        structlog.get_logger("strata.test").warning(
            "sync failed for jane.doe@acme.example", customer=PERSON, customer_id="cus_1"
        )
    finally:
        handler.setStream(previous)
    text = buffer.getvalue()
    for value in VALUES:
        assert value not in text
    assert json.loads(text)["customer_id"] == "cus_1"  # ids are not personal data: kept
