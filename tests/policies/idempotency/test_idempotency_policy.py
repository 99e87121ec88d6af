"""Idempotency policy over the SQLite, PostgreSQL and Redis stores."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from core.db import create_engine
from core.idempotency_store import (
    IdempotencyStore,
    RedisIdempotencyStore,
    SqlIdempotencyStore,
    idempotency_store_for,
)
from policies.context import CapturedResponse, Denial, Principal, RequestContext
from policies.idempotency import (
    STATE_REPLAY,
    IdempotencyConfig,
    IdempotencyPolicy,
    fingerprint,
    parse_idempotency_key,
)
from policies.routes import ApiVersion, CompiledRoute, IdempotencyMode

T0 = datetime(2030, 1, 7, 12, 0, 0, tzinfo=UTC)
RETENTION = 3600
API = ApiVersion(layer="process", name="quote-to-cash", version=1, base_path="/process/quote-to-cash/v1")


def route(mode: IdempotencyMode = "required") -> CompiledRoute:
    return CompiledRoute(
        api=API,
        operation_id="startQuoteToCash",
        method="POST",
        path_template="/process/quote-to-cash/v1/orders/{order_id}",
        security=(frozenset({"process:quote-to-cash:execute"}),),
        idempotency=mode,
    )


def ctx(
    key: str | None = "order-42",
    body: bytes = b'{"amount": "10.00"}',
    client: str = "acme",
    method: str = "POST",
    mode: IdempotencyMode = "required",
) -> RequestContext:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["idempotency-key"] = key
    return RequestContext(
        method=method,
        path="/process/quote-to-cash/v1/orders/42",
        headers=headers,
        query_string=b"",
        path_params={"order_id": "42"},
        source="192.0.2.1",
        route=route(mode),
        body=body,
        principal=Principal(subject=client, client_id=client, issuer="https://strata.test", oauth_scopes=frozenset()),
    )


CREATED = CapturedResponse(
    201,
    [
        (b"content-type", b"application/json"),
        (b"location", b"/process/quote-to-cash/v1/orders/42"),
        (b"ratelimit", b'"5-per-second";r=4;t=1'),
        (b"x-request-id", b"req-1"),
    ],
    b'{"id": "ord_1"}',
)


def policy_for(store: IdempotencyStore, **config: object) -> IdempotencyPolicy:
    return IdempotencyPolicy(IdempotencyConfig(retention_seconds=RETENTION, **config), store)  # type: ignore[arg-type]


def is_replay(outcome: Denial | None) -> bool:
    replay = outcome.replay if outcome is not None else None
    return replay is not None and replay.header(b"idempotent-replayed") == b"true"


async def run(policy: IdempotencyPolicy, request: RequestContext, response: CapturedResponse | None = CREATED) -> None:
    """Drive one request through the policy as the pipeline does: claimed, handled, completed."""
    assert await policy.on_request(request) is None
    if response is not None:
        await policy.on_response(request, response)
    await policy.on_complete(request, response.status if response else 500)


async def test_first_request_then_replay(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    await run(policy, ctx())
    retry = ctx()
    denial = await policy.on_request(retry)
    assert denial is not None
    replay = denial.replay
    assert replay is not None
    assert denial.status == replay.status == 201
    assert replay.body == b'{"id": "ord_1"}'
    assert replay.header(b"idempotent-replayed") == b"true"
    assert replay.header(b"content-type") == b"application/json"
    assert replay.header(b"location") == b"/process/quote-to-cash/v1/orders/42"
    assert replay.header(b"ratelimit") is None  # belongs to the request answered now
    assert replay.header(b"x-request-id") is None
    assert retry.state[STATE_REPLAY] is replay
    # A quoted key is the same key as its bare form.
    assert is_replay(await policy.on_request(ctx('"order-42"')))


async def test_same_key_other_payload_is_422(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    await run(policy, ctx())
    denial = await policy.on_request(ctx(body=b'{"amount": "99.00"}'))
    assert denial is not None
    assert denial.status == 422
    assert denial.errors == [
        {"in": "header", "name": "Idempotency-Key", "detail": "was used with a different request payload"}
    ]


async def test_same_key_in_flight_is_409(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    first = ctx()
    assert await policy.on_request(first) is None
    denial = await policy.on_request(ctx())
    assert denial is not None
    assert denial.status == 409
    await policy.on_response(first, CREATED)
    await policy.on_complete(first, 201)
    assert is_replay(await policy.on_request(ctx()))


async def test_keys_are_scoped_per_client(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    await run(policy, ctx(client="acme"))
    assert await policy.on_request(ctx(client="globex")) is None


async def test_server_error_releases_the_claim(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    await run(policy, ctx(), CapturedResponse(503, [(b"content-type", b"application/problem+json")], b"{}"))
    await run(policy, ctx())  # the retry runs the handler again
    assert is_replay(await policy.on_request(ctx()))


async def test_no_response_releases_the_claim(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    await run(policy, ctx(), response=None)
    await run(policy, ctx())


async def test_client_errors_are_stored_and_replayed(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    await run(policy, ctx(), CapturedResponse(404, [(b"content-type", b"application/problem+json")], b"{}"))
    denial = await policy.on_request(ctx())
    assert denial is not None and denial.replay is not None
    assert denial.replay.status == 404


async def test_records_expire_after_the_retention(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    with time_machine.travel(T0, tick=False) as clock:
        await run(policy, ctx())
        clock.shift(timedelta(seconds=RETENTION - 1))
        assert is_replay(await policy.on_request(ctx()))
        clock.shift(timedelta(seconds=2))
        await run(policy, ctx())  # expired = absent: claimed afresh


async def test_abandoned_claims_expire_after_the_lease(store: IdempotencyStore) -> None:
    policy = policy_for(store, in_flight_lease_seconds=60)
    with time_machine.travel(T0, tick=False) as clock:
        assert await policy.on_request(ctx()) is None  # a process that then crashed
        clock.shift(30)
        denial = await policy.on_request(ctx())
        assert denial is not None and denial.status == 409
        clock.shift(31)
        await run(policy, ctx())


async def test_purge_expired(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    with time_machine.travel(T0, tick=False) as clock:
        await run(policy, ctx("a"))
        await run(policy, ctx("b"))
        clock.shift(timedelta(seconds=RETENTION + 1))
        await run(policy, ctx("c"))
        purged = await policy.purge_expired()
        assert purged in (2, -1)  # -1: Redis expires keys itself
        assert is_replay(await policy.on_request(ctx("c")))


async def test_concurrent_first_requests_claim_once(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    outcomes = await asyncio.gather(*(policy.on_request(ctx()) for _ in range(20)))
    assert sum(outcome is None for outcome in outcomes) == 1
    assert sorted({outcome.status for outcome in outcomes if outcome is not None}) == [409]


async def test_required_key_missing_is_400() -> None:
    policy = policy_for(_NO_STORE)
    denial = await policy.on_request(ctx(key=None))
    assert denial is not None
    assert denial.status == 400
    assert denial.errors is not None
    assert denial.errors[0]["in"] == "header"
    assert denial.errors[0]["name"] == "Idempotency-Key"


@pytest.mark.parametrize("key", ["", '""', "x" * 256, '"unterminated', '"a"b', "two words", 'a"b', "é", '"\\n"'])
async def test_malformed_key_is_400(key: str) -> None:
    denial = await policy_for(_NO_STORE).on_request(ctx(key=key))
    assert denial is not None
    assert denial.status == 400
    assert denial.errors is not None and denial.errors[0]["name"] == "Idempotency-Key"


async def test_untouched_requests() -> None:
    policy = policy_for(_NO_STORE)
    assert await policy.on_request(ctx(key=None, mode="optional")) is None
    assert await policy.on_request(ctx(key=None, method="GET")) is None
    assert await policy.on_request(ctx(key=None, mode="none")) is None
    shadow = ctx(key="")
    assert await policy_for(_NO_STORE, mode="shadow").on_request(shadow) is None
    assert shadow.shadow_denials == ["idempotency"]


@pytest.mark.parametrize("outcome", ["allow", "deny"])
async def test_store_failure_follows_on_backend_error(outcome: str) -> None:
    dead = RedisIdempotencyStore("redis://127.0.0.1:1/0", socket_timeout=0.2)
    denial = await policy_for(dead, on_backend_error=outcome).on_request(ctx())
    await dead.aclose()
    assert (denial.status if denial else None) == (503 if outcome == "deny" else None)


def test_key_parsing() -> None:
    assert parse_idempotency_key('"8e03978e-40d5-43e8-bc93-6894a57f9324"') == "8e03978e-40d5-43e8-bc93-6894a57f9324"
    assert parse_idempotency_key("abc") == "abc"
    assert parse_idempotency_key(' "a \\"quoted\\" key" ') == 'a "quoted" key'
    assert parse_idempotency_key("x" * 255) == "x" * 255


def test_fingerprint_covers_method_path_and_body() -> None:
    base = fingerprint("POST", "/a", b"{}")
    assert base == fingerprint("post", "/a", b"{}")
    assert (
        len({base, fingerprint("PUT", "/a", b"{}"), fingerprint("POST", "/b", b"{}"), fingerprint("POST", "/a", b"")})
        == 4
    )


def test_store_is_chosen_by_redis_url() -> None:
    assert isinstance(idempotency_store_for("redis://127.0.0.1:6379/0", _ENGINE), RedisIdempotencyStore)
    assert isinstance(idempotency_store_for("", _ENGINE), SqlIdempotencyStore)


_ENGINE = create_engine("sqlite+aiosqlite:///:memory:")
_NO_STORE = SqlIdempotencyStore(_ENGINE)
"""For tests that must be answered before the store is touched."""


async def test_reads_the_body_itself_when_no_policy_did(store: IdempotencyStore) -> None:
    policy = policy_for(store)
    await run(policy, ctx())
    unread = ctx(body=b"")
    messages = [{"type": "http.request", "body": b'{"amount": ', "more_body": True}]
    messages.append({"type": "http.request", "body": b'"10.00"}', "more_body": False})

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    unread.receive = receive
    assert is_replay(await policy.on_request(unread))
    assert unread.body == b'{"amount": "10.00"}'
