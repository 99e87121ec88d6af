"""The governance pipeline end to end, on the tests-only probe API (real app, real policies)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import audit_events
from tests.support.harness import Gateway, problem, running_gateway
from tests.support.probe import probe_options

ITEMS = "/system/probe/v1/items"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state", **probe_options(tmp_path)) as gateway:
        yield gateway


@pytest.fixture
async def reader(gw: Gateway) -> dict[str, str]:
    return await gw.bearer("system:probe:read")


@pytest.fixture
async def writer(gw: Gateway) -> dict[str, str]:
    return await gw.bearer("system:probe:read system:probe:write")


# ------------------------------------------------------------------ correlation


async def test_request_id_and_traceparent_are_kept_and_echoed(gw: Gateway, reader: dict[str, str]) -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await gw.client.get(f"{ITEMS}/abc", headers={**reader, "X-Request-ID": "req-123", "traceparent": trace})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-123"
    assert response.headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert response.headers["traceparent"] != trace  # our own span id


async def test_bad_request_ids_and_traceparents_are_replaced(gw: Gateway, reader: dict[str, str]) -> None:
    response = await gw.client.get(
        f"{ITEMS}/abc", headers={**reader, "X-Request-ID": "bad id\twith spaces", "traceparent": "00-zz-1-01"}
    )
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["traceparent"].startswith("00-")


# ------------------------------------------------------------------ request limits


async def test_oversized_body_is_413(gw: Gateway, writer: dict[str, str]) -> None:
    body = json.dumps({"name": "x", "pad": "a" * (1024 * 1024 + 10)})
    response = await gw.client.post(
        ITEMS, content=body, headers={**writer, "Idempotency-Key": "k1", "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    problem(response)


async def test_a_content_length_of_unicode_digits_is_400_not_500(gw: Gateway, writer: dict[str, str]) -> None:
    # "²".isdigit() is true and int("²") raises; header bytes arrive decoded from latin-1.
    # (h11 and hyper refuse such a header themselves; an ASGI server need not.)
    headers = {**writer, "Idempotency-Key": "k-cl", "Content-Type": "application/json", "Content-Length": b"\xb2"}
    response = await gw.client.post(ITEMS, content=b'{"name": "x"}', headers=headers)
    assert response.status_code == 400, response.text
    assert "content-length" in problem(response)["detail"].lower()


async def test_wrong_media_type_is_415(gw: Gateway, writer: dict[str, str]) -> None:
    response = await gw.client.post(
        ITEMS, content=b"name=x", headers={**writer, "Idempotency-Key": "k1", "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert problem(response)["errors"][0]["name"] == "Content-Type"


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "x",',
        b"\xff\xfe",
        json.dumps({"name": "x", "deep": json.loads("[" * 40 + "]" * 40)}).encode(),
        json.dumps({"name": "x", **{f"k{i}": i for i in range(1001)}}).encode(),
        json.dumps({"name": "x", "many": list(range(10_001))}).encode(),
        b'{"name": "x", "\xed\xa0\x80": 1}',
    ],
    ids=["truncated", "not-utf8", "too-deep", "too-many-members", "array-too-long", "not-utf8-in-a-key"],
)
async def test_malformed_or_oversized_json_is_400(gw: Gateway, writer: dict[str, str], body: bytes) -> None:
    response = await gw.client.post(
        ITEMS, content=body, headers={**writer, "Idempotency-Key": "k1", "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert problem(response)["errors"][0]["in"] == "body"


async def test_oversized_headers_are_431(gw: Gateway, reader: dict[str, str]) -> None:
    response = await gw.client.get(f"{ITEMS}/abc", headers={**reader, "X-Padding": "p" * 20_000})
    assert response.status_code == 431
    problem(response)


# ------------------------------------------------------------------ request contract


async def test_every_wrong_field_is_listed(gw: Gateway, writer: dict[str, str]) -> None:
    body = {"quantity": "three", "tags": ["ok", 7], "price": {"amount": "12.345.6", "currency": "eur"}, "extra": 1}
    response = await gw.client.post(ITEMS, json=body, headers={**writer, "Idempotency-Key": "k1"})
    assert response.status_code == 422
    errors = problem(response)["errors"]
    pointers = {error["pointer"] for error in errors if error["in"] == "body"}
    assert {"/quantity", "/tags/1", "/price/amount", "/price/currency"} <= pointers
    details = " ".join(error["detail"] for error in errors)
    assert "name" in details and "extra" in details


async def test_query_and_path_parameters_are_checked(gw: Gateway, reader: dict[str, str]) -> None:
    response = await gw.client.get(
        f"{ITEMS}/NOT_VALID", params={"verbose": "maybe", "limit": "x", "limt": "1"}, headers=reader
    )
    assert response.status_code == 422
    errors = {(error["in"], error["name"]) for error in problem(response)["errors"]}
    assert errors == {("path", "item_id"), ("query", "verbose"), ("query", "limit"), ("query", "limt")}


async def test_valid_parameters_pass(gw: Gateway, reader: dict[str, str]) -> None:
    response = await gw.client.get(f"{ITEMS}/abc", params={"verbose": "true", "limit": "3"}, headers=reader)
    assert response.status_code == 200, response.text


# ------------------------------------------------------------------ scopes


async def test_missing_scope_is_403_naming_the_scope(gw: Gateway, reader: dict[str, str]) -> None:
    response = await gw.client.post(ITEMS, json={"name": "x"}, headers={**reader, "Idempotency-Key": "k1"})
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="strata", error="insufficient_scope", scope="system:probe:write"'
    )
    assert problem(response)["type"].endswith("insufficient-scope")


async def test_any_security_alternative_suffices(gw: Gateway) -> None:
    admin = await gw.bearer("system:probe:admin")
    assert (await gw.client.get(f"{ITEMS}/abc", headers=admin)).status_code == 200
    unrelated = await gw.bearer("system:crm:read")
    assert (await gw.client.get(f"{ITEMS}/abc", headers=unrelated)).status_code == 403


@pytest.mark.parametrize("binding", [{"partner_id": "P-1"}, {"customer_id": "C-1"}])
async def test_bound_clients_are_confined_whatever_their_scopes(gw: Gateway, binding: dict[str, str]) -> None:
    headers = await gw.bearer("system:probe:read", **binding)
    response = await gw.client.get(f"{ITEMS}/abc", headers=headers)
    assert response.status_code == 403
    assert problem(response)["type"].endswith("audience-confined")


async def test_public_operations_need_no_token(gw: Gateway) -> None:
    assert (await gw.client.get("/system/probe/v1/public")).status_code == 200


# ------------------------------------------------------------------ rate limit


async def test_rate_limit_headers_and_429(gw: Gateway) -> None:
    headers = await gw.bearer("system:probe:read", tier="tiny")
    statuses = []
    for _ in range(6):
        response = await gw.client.get(f"{ITEMS}/abc", headers=headers)
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 200, 200, 429]
    assert response.headers["retry-after"].isdigit()
    body = problem(response)
    assert body["type"] == "https://iana.org/assignments/http-problem-types#quota-exceeded"
    assert body["violated-policies"]
    assert "RateLimit-Policy".lower() in response.headers


async def test_rate_limit_headers_on_success(gw: Gateway) -> None:
    headers = await gw.bearer("system:probe:read", tier="tiny")
    response = await gw.client.get(f"{ITEMS}/abc", headers=headers)
    assert response.headers["ratelimit-policy"] == '"5-per-hour";q=5;w=3600'
    assert response.headers["ratelimit"].startswith('"5-per-hour";r=4;t=')


# ------------------------------------------------------------------ idempotency


async def test_idempotency_required_replayed_and_fingerprinted(gw: Gateway, writer: dict[str, str]) -> None:
    missing = await gw.client.post(ITEMS, json={"name": "a"}, headers=writer)
    assert missing.status_code == 400
    assert problem(missing)["errors"][0]["name"] == "Idempotency-Key"
    first = await gw.client.post(ITEMS, json={"name": "a"}, headers={**writer, "Idempotency-Key": '"order-1"'})
    assert first.status_code == 201
    again = await gw.client.post(ITEMS, json={"name": "a"}, headers={**writer, "Idempotency-Key": "order-1"})
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await gw.client.post(ITEMS, json={"name": "b"}, headers={**writer, "Idempotency-Key": "order-1"})
    assert other.status_code == 422
    problem(other)


# ------------------------------------------------------------------ errors and drift


async def test_response_drift_is_a_502_when_enforced(gw: Gateway, reader: dict[str, str]) -> None:
    response = await gw.client.get("/system/probe/v1/drift", headers=reader)
    assert response.status_code == 502
    assert problem(response)["type"].endswith("response-contract-violation")


async def test_unexpected_exceptions_are_problems_without_internals(gw: Gateway, reader: dict[str, str]) -> None:
    response = await gw.client.get("/system/probe/v1/boom", headers=reader)
    assert response.status_code == 500
    body = problem(response)
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


async def test_handler_errors_map_to_their_status(gw: Gateway, reader: dict[str, str]) -> None:
    response = await gw.client.get(f"{ITEMS}/missing", headers=reader)
    assert response.status_code == 404
    assert problem(response)["detail"] == "no item missing"


async def test_unknown_paths_and_methods_are_problems(gw: Gateway) -> None:
    not_found = await gw.client.get("/system/nothing/v1/here")
    assert not_found.status_code == 404
    assert problem(not_found)["request_id"]
    wrong_method = await gw.client.delete("/system/probe/v1/public")
    assert wrong_method.status_code == 405
    problem(wrong_method)


# ------------------------------------------------------------------ lifecycle


async def test_deprecated_versions_announce_their_sunset(tmp_path: Path) -> None:
    lifecycle = {
        "state": "deprecated",
        "deprecated_at": "2026-01-01T00:00:00Z",
        "sunset_at": "2027-06-30T00:00:00Z",
        "successor": "/system/probe/v2",
    }
    async with running_gateway(tmp_path / "state", **probe_options(tmp_path, lifecycle=lifecycle)) as gw:
        response = await gw.client.get("/system/probe/v1/public")
        assert response.status_code == 200
        assert response.headers["deprecation"] == "@1767225600"
        assert response.headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
        assert response.headers["link"] == '</system/probe/v2>; rel="successor-version"'


async def test_retired_versions_are_gone_before_any_other_check(tmp_path: Path) -> None:
    lifecycle = {
        "state": "retired",
        "deprecated_at": "2025-01-01T00:00:00Z",
        "sunset_at": "2026-01-01T00:00:00Z",
        "successor": "/system/probe/v2",
    }
    async with running_gateway(tmp_path / "state", **probe_options(tmp_path, lifecycle=lifecycle)) as gw:
        response = await gw.client.get(f"{ITEMS}/abc")  # no token: still 410, not 401
        assert response.status_code == 410
        assert "/system/probe/v2" in problem(response)["detail"]


# ------------------------------------------------------------------ audit and metrics


async def test_denials_and_writes_are_audited_without_secrets(gw: Gateway, writer: dict[str, str]) -> None:
    await gw.client.get(f"{ITEMS}/abc")  # denied: no token
    created = await gw.client.post(ITEMS, json={"name": "a"}, headers={**writer, "Idempotency-Key": "audit-1"})
    assert created.status_code == 201, created.text
    replayed = await gw.client.post(ITEMS, json={"name": "a"}, headers={**writer, "Idempotency-Key": "audit-1"})
    assert replayed.headers["idempotent-replayed"] == "true"
    audit = gw.app.state.components.audit
    await audit.flush()
    async with gw.app.state.components.engine.connect() as connection:
        rows = (await connection.execute(select(audit_events).order_by(audit_events.c.id))).mappings().all()
    denied = [row for row in rows if row["outcome"] == "denied"]
    allowed = [row for row in rows if row["outcome"] == "allowed"]
    assert denied and denied[0]["policy"] == "authentication" and denied[0]["status"] == 401
    assert allowed and allowed[0]["route"] == "/system/probe/v1/items" and allowed[0]["client_id"]
    assert [row["outcome"] for row in rows if row["method"] == "POST"] == ["allowed", "replayed"]
    assert all(writer["Authorization"][7:] not in json.dumps(dict(row)) for row in rows)


async def test_metrics_count_requests_and_denials(gw: Gateway, reader: dict[str, str]) -> None:
    await gw.client.get(f"{ITEMS}/abc", headers=reader)
    await gw.client.get(f"{ITEMS}/abc")
    text = (await gw.client.get("/metrics")).text
    assert (
        'strata_requests_total{api="probe",method="GET",route="/system/probe/v1/items/{item_id}",status="200",version="v1"}'
        in text
    )
    assert 'strata_policy_denials_total{policy="authentication",status="401"}' in text
