"""The vendor connector kit: the token cache, the client-credentials grant, lenient decoding, the
retry loop and errors that name their system — what every connector is built from."""

from __future__ import annotations

import asyncio
import pickle
import time
from urllib.parse import parse_qs

import httpx
import pytest
from authlib.oauth2.auth import ClientAuth

from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig, CircuitOpen
from apis.system.kit.connector import VendorConnector
from apis.system.kit.decoding import decode_struct, required
from apis.system.kit.tokens import AccessToken, ClientCredentialsGrant, TokenCache
from apis.system.kit.vendor_http import RetryPolicy, call_with_retries, exchange
from core.errors import (
    NotFound,
    UpstreamContractViolation,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)

TOKEN_URL = "http://vendor.test/oauth/token"
FAST = RetryPolicy(timeout_seconds=1.0, max_retries=3, backoff_base_seconds=0.001, backoff_max_seconds=1.0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- token cache ------------------------------------------------------------------------------------
async def test_one_fetch_for_concurrent_callers_and_a_new_token_before_expiry_or_when_refused() -> None:
    clock, fetched = Clock(), []

    async def fetch() -> AccessToken:
        await asyncio.sleep(0.01)  # every caller arrives while the first fetch runs
        fetched.append(clock.now)
        return AccessToken(access_token=f"t{len(fetched)}", expires_in=600)

    cache = TokenCache(fetch, refresh_margin_seconds=60, clock=clock)
    tokens = await asyncio.gather(*(cache.current() for _ in range(10)))
    assert {t.access_token for t in tokens} == {"t1"} and len(fetched) == 1
    clock.now += 539
    assert (await cache.current()).access_token == "t1"
    clock.now += 1  # 60 s before expires_in runs out
    assert (await cache.current()).access_token == "t2"
    refused = await cache.current()
    assert (await cache.current(stale=refused)).access_token == "t3"  # a 401 with it: fetch anew, once
    assert (await cache.current(stale=refused)).access_token == "t3"


async def test_a_token_without_expires_in_lives_the_default_lifetime() -> None:
    clock, count = Clock(), iter(range(1, 10))
    cache = TokenCache(
        lambda: _token(AccessToken(access_token=f"t{next(count)}")), default_lifetime_seconds=3600, clock=clock
    )
    assert (await cache.current()).access_token == "t1"
    clock.now += 3599
    assert (await cache.current()).access_token == "t1"
    clock.now += 1
    assert (await cache.current()).access_token == "t2"


async def _token(token: AccessToken) -> AccessToken:
    return token


# -- the client-credentials grant ----------------------------------------------------------------------
def _grant(answer: httpx.Response, seen: list[httpx.Request], **kwargs: str) -> ClientCredentialsGrant:
    async def send(method: str, url: str, **httpx_kwargs: object) -> httpx.Response:
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return answer

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await exchange(client, method, url, vendor="Vendor", timeout_seconds=1.0, **httpx_kwargs)  # type: ignore[arg-type]

    auth = ClientAuth("the-id", "the-secret", "client_secret_post")
    return ClientCredentialsGrant(send, TOKEN_URL, auth, display="Vendor", **kwargs)


async def test_the_grant_posts_authlib_client_secret_post_and_reads_the_token() -> None:
    seen: list[httpx.Request] = []
    answer = httpx.Response(200, json={"access_token": "abc", "expires_in": "3599", "extra": "ignored"})
    token = await _grant(answer, seen, scope="api/.default").fetch(AccessToken)
    assert token.access_token == "abc" and token.expires_in == 3599.0  # Entra's v1 sends text
    (request,) = seen
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["api/.default"],
        "client_id": ["the-id"],
        "client_secret": ["the-secret"],
    }


@pytest.mark.parametrize(
    ("answer", "expected", "detail"),
    [
        (httpx.Response(429, headers={"Retry-After": "7"}), UpstreamRateLimited, "throttled the token request"),
        (httpx.Response(503), UpstreamUnavailable, "token endpoint answered 503"),
        (
            httpx.Response(400, json={"error": "invalid_client", "error_description": "bad secret"}),
            UpstreamRejected,
            "refused the client credentials: bad secret",
        ),
        (httpx.Response(200, json={"token_type": "Bearer"}), UpstreamContractViolation, "access_token"),
        (httpx.Response(200, content=b"<html>"), UpstreamContractViolation, "not JSON"),
    ],
)
async def test_token_endpoint_failures_map_onto_the_error_tree(
    answer: httpx.Response, expected: type[Exception], detail: str
) -> None:
    with pytest.raises(expected, match=detail) as caught:
        await _grant(answer, []).fetch(AccessToken)
    if isinstance(caught.value, UpstreamRateLimited):
        assert caught.value.retry_after == 7.0
    if isinstance(caught.value, UpstreamRejected):
        assert caught.value.vendor_code == "invalid_client"


# -- lenient decoding -------------------------------------------------------------------------------
def test_unknown_fields_are_tolerated_and_a_missing_required_one_is_named() -> None:
    assert required({"id": "7", "new_field": 1}, "id", what="Vendor record") == "7"
    with pytest.raises(UpstreamContractViolation, match="Vendor record lacks 'id'"):
        required({"name": "x"}, "id", what="Vendor record")
    with pytest.raises(UpstreamContractViolation, match=r"Vendor list lacks 'count' \(int\)"):
        required({"count": True}, "count", what="Vendor list", kind=int)  # a JSON true is no count
    with pytest.raises(UpstreamContractViolation, match="lacks 'id'"):
        required({"id": ""}, "id", what="Vendor record", allow_empty=False)
    with pytest.raises(UpstreamContractViolation, match="lacks 'id'"):
        required(["not", "an", "object"], "id", what="Vendor record")
    with pytest.raises(UpstreamContractViolation, match="missing required field `access_token`"):
        decode_struct({"expires_in": 5}, AccessToken, what="Vendor token response")


# -- the retry loop and the system of an error -------------------------------------------------------
class Flaky(VendorConnector):
    system = "vendor-x"
    display = "Vendor X"

    def __init__(self, failures: list[Exception], breaker: CircuitBreaker | None = None) -> None:
        super().__init__(httpx.AsyncClient(), "http://vendor.test", FAST, breaker)
        self.failures, self.calls = failures, 0

    async def call(self, *, idempotent: bool = True) -> str:
        return await self._retrying(self._attempt, idempotent=idempotent)

    async def _attempt(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


async def test_retryable_errors_are_retried_never_sooner_than_retry_after() -> None:
    throttled = UpstreamRateLimited("slow down", retry_after=0.2)
    connector = Flaky([UpstreamUnavailable("down"), throttled])
    started = time.monotonic()
    assert await connector.call() == "ok" and connector.calls == 3
    assert time.monotonic() - started >= 0.2


async def test_what_is_not_retried() -> None:
    too_long = Flaky([UpstreamRateLimited("come back in an hour", retry_after=3600)])
    with pytest.raises(UpstreamRateLimited):  # raised at once, for a durable workflow to schedule
        await too_long.call()
    not_safe = Flaky([UpstreamUnavailable("down")])
    with pytest.raises(UpstreamUnavailable):
        await not_safe.call(idempotent=False)
    permanent = Flaky([NotFound("gone")])
    with pytest.raises(NotFound):
        await permanent.call()
    exhausted = Flaky([UpstreamUnavailable(f"down {n}") for n in range(10)])
    with pytest.raises(UpstreamUnavailable, match="down 3"):
        await exhausted.call()
    assert [too_long.calls, not_safe.calls, permanent.calls, exhausted.calls] == [1, 1, 1, 4]


async def test_an_open_circuit_is_not_retried_and_errors_name_their_system() -> None:
    breaker = CircuitBreaker("vendor-x", CircuitBreakerConfig(failure_threshold=2, open_seconds=30))
    connector = Flaky([UpstreamUnavailable("down")] * 2, breaker)
    with pytest.raises(UpstreamUnavailable) as caught:
        await connector.call()
    assert caught.value.system == "vendor-x"  # the third attempt met the open circuit
    assert isinstance(caught.value, CircuitOpen) and connector.calls == 2
    with pytest.raises(CircuitOpen):
        await call_with_retries(connector._attempt, policy=FAST, idempotent=True, breaker=breaker)
    assert connector.calls == 2  # refused without a call


def test_the_system_of_an_error_survives_the_engine_pickling_it() -> None:
    error = UpstreamUnavailable("Vendor X answered 503")
    assert error.system is None
    error.system = "vendor-x"
    assert pickle.loads(pickle.dumps(error)).system == "vendor-x"
    older = pickle.loads(pickle.dumps(UpstreamUnavailable("recorded before the attribute existed")))
    assert older.system is None
