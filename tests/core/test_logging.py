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
    from tests.support.harness import gateway_settings

    create_app(gateway_settings(tmp_path))
    logging.getLogger("alembic.runtime.migration").warning("Context impl SQLiteImpl.")
    (event,) = _events(lines)
    assert event["logger"] == "alembic.runtime.migration" and event["event"] == "Context impl SQLiteImpl."


def test_structlog_formats_positional_arguments_like_the_standard_library(lines: io.StringIO) -> None:
    structlog.get_logger("strata.test").warning("purged %d records of %s", 3, "audit", table="audit_events")
    (event,) = _events(lines)
    assert event["event"] == "purged 3 records of audit" and event["table"] == "audit_events"
    assert "positional_args" not in event


def test_dbos_lines_are_json_lines_through_the_same_redaction(lines: io.StringIO) -> None:
    """DBOS gives its logger a plain-text handler of its own (and stops propagation) at start."""
    from dbos._logger import init_logger

    init_logger()  # what DBOS(config=...) does when the engine launches, after the app's configuration
    logging.getLogger("dbos").warning("recovering for https://vendor.example/q?token=abc123 now")
    (event,) = _events(lines)
    assert event["logger"] == "dbos" and event["level"] == "warning"
    assert event["event"] == f"recovering for https://vendor.example/q?{REDACTED} now"


def test_server_loggers_configured_before_the_app_end_up_in_the_json_handler(lines: io.StringIO) -> None:
    """granian (and uvicorn) configure plain-text handlers on their loggers before the app factory runs."""
    import logging.config

    from granian.log import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"plain": {"class": "logging.StreamHandler"}},
            "loggers": {"uvicorn.error": {"handlers": ["plain"], "propagate": False}},
        }
    )
    configure_logging("info", ["email", "phone", "tax_id"])  # what create_app does in the worker
    logging.getLogger("_granian").info("Spawning worker-1 with pid: 42")
    logging.getLogger("granian.access").info("GET /oauth/token?client_secret=s3cr3t 200")
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    granian, access, uvicorn = _events(lines)
    assert granian["logger"] == "_granian" and granian["event"] == "Spawning worker-1 with pid: 42"
    assert access["event"] == f"GET /oauth/token?client_secret={REDACTED} 200"
    assert uvicorn["logger"] == "uvicorn.error" and uvicorn["level"] == "warning"


def test_our_code_logs_through_structlog_only() -> None:
    """One logging API: ``structlog.get_logger``; ``logging.getLogger`` only for a library's logger."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for package in ("core", "gateway", "policies", "apis", "sandboxes"):
        for path in sorted((root / package).rglob("*.py")):
            if path == root / "core" / "logging.py":
                continue  # configures the standard library's loggers
            for node in ast.walk(ast.parse(path.read_text())):
                if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "logging.getLogger"):
                    continue
                name = node.args[0] if node.args else None
                library = isinstance(name, ast.Constant) and not str(name.value).startswith("strata")
                if not library:
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []
