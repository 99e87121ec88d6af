"""Log lines: JSON from structlog and the standard library, request ids, nothing secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from core.correlation import CURRENT
from core.logging import REDACTED, Redactor, configure_logging

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the root handler writes, as configured by the gateway (stream swapped for a buffer)."""
    configure_logging("info", ["email", "phone", "tax_id"])
    (handler,) = [
        h for h in logging.getLogger().handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def _events(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_lines_from_both_apis_carry_the_ids_of_the_request_being_handled(lines: io.StringIO) -> None:
    token = CURRENT.set(("req-42", TRACEPARENT))
    try:
        logging.getLogger("strata.test").warning("from logging")
        structlog.get_logger("strata.test").warning("from structlog")
    finally:
        CURRENT.reset(token)
    logging.getLogger("strata.test").warning("outside any request")
    inside_std, inside_struct, outside = _events(lines)
    for event in (inside_std, inside_struct):
        assert event["request_id"] == "req-42"
        assert event["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert "request_id" not in outside and "trace_id" not in outside


def test_secrets_and_personal_data_are_redacted_in_both_apis(lines: io.StringIO) -> None:
    secret = "s3cr3t-VALUE-nobody-may-read"
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGlfMSJ9.c2lnbmF0dXJl"
    logging.getLogger("strata.test").warning(
        "calling https://vendor.example/q?email=a@b.c&key=%s with Bearer %s",
        secret,
        jwt,
        extra={"client_secret": secret, "contact": {"Email": "a@b.c", "phones": [{"phone": "+49 30 1234"}]}},
    )
    structlog.get_logger("strata.test").warning(
        "token refused",
        headers={"Authorization": f"Basic {secret}", "X-Other": "kept"},
        access_token=jwt,
        tax_id="DE123456789",
        query_string="limit=1&access_token=" + jwt,
        note=f"got {jwt} in a body",
        form=f"grant_type=client_credentials&client_secret={secret}&scope=a",
    )
    text = lines.getvalue()
    for leaked in (secret, jwt, "a@b.c", "+49 30 1234", "DE123456789", "key="):
        assert leaked not in text
    std, struct = _events(lines)
    assert std["event"] == f"calling https://vendor.example/q?{REDACTED} with Bearer {REDACTED}"
    assert std["client_secret"] == REDACTED
    assert std["contact"] == {"Email": REDACTED, "phones": [{"phone": REDACTED}]}
    assert struct["headers"] == {"Authorization": REDACTED, "X-Other": "kept"}
    assert struct["access_token"] == REDACTED and struct["tax_id"] == REDACTED
    assert struct["query_string"] == REDACTED
    assert struct["note"] == f"got {REDACTED} in a body"
    assert struct["form"] == f"grant_type=client_credentials&client_secret={REDACTED}&scope=a"


def test_vendor_api_keys_and_license_keys_are_redacted(lines: io.StringIO) -> None:
    key = "pp_live_4f9a-nobody-may-read"
    structlog.get_logger("strata.test").warning(
        "vendor refused the key",
        headers={"X-Api-Key": key},
        avalara_license_key=key,
        form=f"account=1100&licenseKey={key}",
    )
    assert key not in lines.getvalue()
    (event,) = _events(lines)
    assert event["headers"] == {"X-Api-Key": REDACTED} and event["avalara_license_key"] == REDACTED
    assert event["form"] == f"account=1100&licenseKey={REDACTED}"


def test_exception_messages_are_scrubbed_after_rendering(lines: io.StringIO) -> None:
    try:
        raise RuntimeError("vendor said no for https://vendor.example/services?q=SELECT+Email+FROM+Contact")
    except RuntimeError:
        logging.getLogger("strata.test").exception("vendor call failed")
    (event,) = _events(lines)
    assert "SELECT" not in event["exception"]
    assert f"https://vendor.example/services?{REDACTED}" in event["exception"]


def test_the_personal_data_fields_come_from_the_settings() -> None:
    redactor = Redactor(["Customer-Name"])
    event = redactor(
        None, "info", {"customer_name": "Ada", "email": "kept@example.com", "nested": {"CUSTOMER_NAME": 1}}
    )
    assert event == {"customer_name": REDACTED, "email": "kept@example.com", "nested": {"CUSTOMER_NAME": REDACTED}}


def test_the_app_logs_json_not_litestars_text_format(tmp_path: Any, lines: io.StringIO) -> None:
    """Litestar's default logging config would replace our handler (the alembic-lines nit)."""
    from gateway.app import create_app
    from tests.harness import gateway_settings

    create_app(gateway_settings(tmp_path))
    logging.getLogger("alembic.runtime.migration").warning("Context impl SQLiteImpl.")
    (event,) = _events(lines)
    assert event["logger"] == "alembic.runtime.migration" and event["event"] == "Context impl SQLiteImpl."
