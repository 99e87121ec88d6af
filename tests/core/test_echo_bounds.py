"""A problem quotes at most 128 characters of a caller's value: 1 MB in is never 1 MB out.

Every road by which a value can come back in a problem, through the whole gateway: body
fields against maxLength, pattern, enum, type and additionalProperties (jsonschema-rs),
query, path and header parameters (our coercion and jsonschema-rs), the Content-Type
(request limits), the management API (the contract, and msgspec behind the governance
reload), and a path no route matches. Each answer must stay small, still name the field,
and say that the value was truncated and how long it was.

Query strings and paths of a megabyte are more than httpx will build (it refuses URL parts
over 64 KiB), so those requests are handed to the ASGI app directly; a real server would
refuse them even earlier. Headers are bounded by the 16 KiB header limit (431 above it).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from sqlalchemy import select

from core.db import audit_events
from tests.support.harness import Gateway, problem, running_gateway
from tests.support.procs import PROJECT_ROOT

pytestmark = pytest.mark.asyncio(loop_scope="module")

MEGABYTE = 1_000_000
FILL = "q"  # a letter no message of ours repeats: a run of it is the caller's value
BIG = FILL * MEGABYTE
HEADER_VALUE_CHARS = 15_000  # under the 16 KiB header limit with the other headers
SMALL_ANSWER_BYTES = 4096
MAX_ECHO_CHARS = 128
PAYMENTS = "/system/payments/v1"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path_factory.mktemp("echo")) as gateway:
        yield gateway


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def payments(gw: Gateway) -> dict[str, str]:
    return await gw.bearer("system:payments:read system:payments:write system:billing:read")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def admin(gw: Gateway) -> dict[str, str]:
    return await gw.bearer("gateway:clients:admin gateway:governance:admin", tier="internal")


def _longest_echo(text: str) -> int:
    return max((len(run) for run in re.findall(f"{FILL}+", text)), default=0)


def assert_bounded(response: httpx.Response, status: int, length: int = MEGABYTE) -> dict[str, Any]:
    """A small problem that quotes at most 128 characters of the value and says how long it was."""
    assert response.status_code == status, response.text[:500]
    assert len(response.content) < SMALL_ANSWER_BYTES, len(response.content)
    body = problem(response)
    assert _longest_echo(response.text) <= MAX_ECHO_CHARS
    assert f"…(truncated, {length} characters)" in response.text
    return body


def only_error(body: dict[str, Any]) -> dict[str, str]:
    [error] = body["errors"]
    return dict(error)


async def raw_get(
    gw: Gateway, path: str, query: str = "", headers: dict[str, str] | None = None, method: str = "GET"
) -> httpx.Response:
    """A request without a body through the ASGI app itself, for a path or query longer than httpx builds."""
    asgi_headers = [(b"host", b"127.0.0.1:8080")]
    asgi_headers += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": asgi_headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await gw.app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return httpx.Response(start["status"], headers=start["headers"], content=body)


# ------------------------------------------------------------------------------ body


async def _intent(gw: Gateway, headers: dict[str, str], **fields: Any) -> httpx.Response:
    body = {"amount": {"amount": "1.00", "currency": "EUR"}, **fields}
    return await gw.client.post(f"{PAYMENTS}/payment-intents", json=body, headers=headers)


async def test_a_body_field_over_its_max_length(gw: Gateway, payments: dict[str, str]) -> None:
    error = only_error(assert_bounded(await _intent(gw, payments, description=BIG), 422))
    assert error["pointer"] == "/description" and error["detail"].endswith("is longer than 1000 characters")


async def test_a_body_field_against_its_pattern(gw: Gateway, payments: dict[str, str]) -> None:
    response = await _intent(gw, payments, amount={"amount": BIG, "currency": "EUR"})
    error = only_error(assert_bounded(response, 422))
    assert error["pointer"] == "/amount/amount" and "does not match" in error["detail"]


async def test_a_body_field_against_its_enum(gw: Gateway, payments: dict[str, str]) -> None:
    body = {"payment_intent_id": "pi_1", "reason": BIG}
    response = await gw.client.post(f"{PAYMENTS}/refunds", json=body, headers=payments)
    error = only_error(assert_bounded(response, 422))
    assert error["pointer"] == "/reason" and "is not one of" in error["detail"]


async def test_an_array_where_a_string_belongs(gw: Gateway, payments: dict[str, str]) -> None:
    value = [FILL * 100] * 9000
    as_json = len(json.dumps(value, separators=(",", ":")))  # how the message quotes it
    error = only_error(assert_bounded(await _intent(gw, payments, description=value), 422, length=as_json))
    assert error["pointer"] == "/description" and "is not of types" in error["detail"]


async def test_an_unknown_member_with_a_long_name(gw: Gateway, payments: dict[str, str]) -> None:
    error = only_error(assert_bounded(await _intent(gw, payments, **{BIG: 1}), 422))
    assert error["pointer"] == "" and error["detail"].startswith("Additional properties are not allowed")


# ------------------------------------------------------------------------------ parameters


async def test_a_query_parameter_that_is_not_an_integer(gw: Gateway, payments: dict[str, str]) -> None:
    response = await raw_get(gw, f"{PAYMENTS}/refunds", f"limit={BIG}", payments)
    error = only_error(assert_bounded(response, 422))
    assert error == {"in": "query", "name": "limit", "detail": error["detail"]}
    assert error["detail"].endswith("is not an integer")


async def test_a_query_parameter_over_its_max_length(gw: Gateway, payments: dict[str, str]) -> None:
    response = await raw_get(gw, f"{PAYMENTS}/refunds", f"cursor={BIG}", payments)
    error = only_error(assert_bounded(response, 422))
    assert error["name"] == "cursor" and error["detail"].endswith("is longer than 512 characters")


async def test_an_unknown_query_parameter_with_a_long_name(gw: Gateway, payments: dict[str, str]) -> None:
    error = only_error(assert_bounded(await raw_get(gw, f"{PAYMENTS}/refunds", f"{BIG}=1", payments), 422))
    assert error["in"] == "query" and error["detail"] == "unknown query parameter"


async def test_a_path_parameter_against_its_pattern(gw: Gateway, payments: dict[str, str]) -> None:
    body = assert_bounded(await raw_get(gw, f"/system/billing/v1/customers/{BIG}", headers=payments), 422)
    error = only_error(body)
    assert error["name"] == "customer_id" and "does not match" in error["detail"]
    assert body["instance"].startswith("/system/billing/v1/customers/" + FILL * MAX_ECHO_CHARS + "…")


async def test_a_header_parameter_over_its_max_length(gw: Gateway) -> None:
    bound = await gw.bearer("experience:customer-portal:read", customer_id="C-1")
    headers = {**bound, "If-None-Match": FILL * HEADER_VALUE_CHARS}
    response = await gw.client.get("/experience/customer-portal/v1/customers/C-1/overview", headers=headers)
    error = only_error(assert_bounded(response, 422, length=HEADER_VALUE_CHARS))
    assert error["in"] == "header" and error["name"] == "if-none-match"


async def test_a_content_type_that_is_not_accepted(gw: Gateway, payments: dict[str, str]) -> None:
    media_type = "application/" + FILL * HEADER_VALUE_CHARS
    headers = {**payments, "Content-Type": media_type}
    response = await gw.client.post(f"{PAYMENTS}/payment-intents", content=b"{}", headers=headers)
    body = assert_bounded(response, 415, length=len(media_type))
    assert only_error(body)["name"] == "Content-Type"


async def test_a_path_no_route_matches(gw: Gateway) -> None:
    body = assert_bounded(await raw_get(gw, f"/system/nothing/{BIG}"), 404)
    assert body["instance"].startswith("/system/nothing/")


async def test_a_docs_page_of_no_api(gw: Gateway) -> None:
    """An ungoverned route whose own 404 quotes the path."""
    body = assert_bounded(await raw_get(gw, f"/docs/system/{BIG}/v1"), 404)
    assert body["detail"].startswith("no API system/") and body["detail"].endswith("/v1 is documented here")


async def test_a_console_action_that_does_not_exist(gw: Gateway) -> None:
    """The console's JSON (not a problem) quotes the action before anyone signs in."""
    response = await raw_get(gw, f"/console/api/exceptions/txn_1/{BIG}", method="POST")
    assert response.status_code == 404 and len(response.content) < SMALL_ANSWER_BYTES
    assert _longest_echo(response.text) <= MAX_ECHO_CHARS
    assert f"…(truncated, {MEGABYTE} characters)" in response.json()["problem"]


# ------------------------------------------------------------------------------ management API


async def test_a_client_name_over_its_max_length(gw: Gateway, admin: dict[str, str]) -> None:
    body = {"name": BIG, "scopes": ["gateway:catalog:read"], "tier": "bronze"}
    response = await gw.client.post("/gateway/v1/clients", json=body, headers=admin)
    assert only_error(assert_bounded(response, 422))["pointer"] == "/name"


async def test_a_governance_document_msgspec_refuses(gw: Gateway, admin: dict[str, str]) -> None:
    """The contract takes any section member; msgspec's enum check quotes the value."""
    document = yaml.safe_load((PROJECT_ROOT / "contracts" / "governance.yaml").read_text())
    document["request_limits"] = {**document.get("request_limits", {}), "mode": BIG}
    response = await gw.client.put("/gateway/v1/governance", json=document, headers=admin)
    error = only_error(assert_bounded(response, 422))
    assert error["pointer"] == "/request_limits/mode" and "Invalid enum value" in error["detail"]


# ------------------------------------------------------------------------------ audit and logs


async def test_audit_and_logs_keep_no_more_of_the_value(
    gw: Gateway, payments: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    headers = {**payments, "Content-Type": "application/" + FILL * HEADER_VALUE_CHARS}
    refused = await gw.client.post(f"{PAYMENTS}/payment-intents", content=b"{}", headers=headers)
    invalid = await _intent(gw, payments, description=BIG)
    await gw.app.state.components.audit.flush()
    request_ids = [refused.headers["x-request-id"], invalid.headers["x-request-id"]]
    async with gw.app.state.components.engine.connect() as connection:
        rows = (await connection.execute(select(audit_events).where(audit_events.c.request_id.in_(request_ids)))).all()
    assert len(rows) == 2
    assert all(_longest_echo(str(row.reason)) <= MAX_ECHO_CHARS for row in rows)
    assert all(_longest_echo(record.getMessage() + str(record.__dict__)) <= MAX_ECHO_CHARS for record in caplog.records)


async def test_a_long_query_string_is_checked_but_not_remembered(gw: Gateway, payments: dict[str, str]) -> None:
    """The per-operation memo of checked query strings keeps short ones only: 1,024 megabyte keys are a gigabyte."""
    [route] = [r for r in gw.app.state.route_table.routes if r.operation_id == "listRefunds"]
    for _ in range(2):  # the second answer is the same without the memo
        response = await raw_get(gw, f"{PAYMENTS}/refunds", f"cursor={BIG}", payments)
        assert response.status_code == 422 and problem(response)["errors"][0]["name"] == "cursor"
    assert all(len(key) <= 1024 for key in route.validators.query_memo)
    assert (await raw_get(gw, f"{PAYMENTS}/refunds", "limit=5", payments)).status_code == 200
    assert b"limit=5" in route.validators.query_memo  # short query strings still are
