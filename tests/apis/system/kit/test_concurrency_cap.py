"""The concurrency cap shared through Redis: two connectors (as two gateway processes would hold)
keep a NetSuite account under its concurrency limit together; a holder that dies frees its slot
when its lease runs out; a Redis outage is answered as configured."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Sequence

import httpx
import pytest

from apis.system.erp.connectors.netsuite import NetSuiteConfig, NetSuiteConnector, NetSuiteCredentials
from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.concurrency_cap import (
    BACKEND_ERRORS,
    ConcurrencyCap,
    ProcessCap,
    SharedCap,
    concurrency_cap,
)
from core.errors import UpstreamRateLimited
from core.redis_pool import fail_fast_redis
from sandboxes.faults import FaultRule
from sandboxes.netsuite import KeyPair, NetSuiteSandbox, create_netsuite_sandbox, generate_key_pair
from tests.support.procs import PROJECT_ROOT

BASE = "http://netsuite.sandbox"
CAP = 4
"""Each connector's ``max_concurrency``: one alone stays under the sandbox account's limit of 5."""
CONFIG = NetSuiteConfig(
    timeout_seconds=2.0, max_retries=0, backoff_base_seconds=0.001, backoff_max_seconds=0.01, max_concurrency=CAP
)
UNREACHABLE_REDIS = "redis://127.0.0.1:1"


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return generate_key_pair("cert-es256", "ES256")


def _connector(sandbox: NetSuiteSandbox, pair: KeyPair, cap: ConcurrencyCap) -> NetSuiteConnector:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE)
    credentials = NetSuiteCredentials("strata-sandbox", pair.certificate_id, pair.private_key, pair.algorithm)
    return NetSuiteConnector(client, BASE, credentials, CONFIG, CircuitBreaker("netsuite"), cap)


async def _burst(sandbox: NetSuiteSandbox, connectors: Sequence[NetSuiteConnector]) -> tuple[int, int]:
    """20 record reads through each connector at once; (the most in flight across them, 429s of the account)."""
    sandbox.faults.add(FaultRule(kind="latency", latency_seconds=0.03, path_prefix="/services/rest/record/"))
    most = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal most
        while not done.is_set():
            most = max(most, sum(c.in_flight for c in connectors))
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    try:
        results = await asyncio.gather(
            *(c.get_customer("112") for c in connectors for _ in range(20)), return_exceptions=True
        )
    finally:
        done.set()
        await watcher
        for connector in connectors:
            await connector.aclose()
    assert all(not isinstance(r, BaseException) or isinstance(r, UpstreamRateLimited) for r in results), results
    return most, sandbox.concurrency_refused


async def test_two_connectors_sharing_the_cap_through_redis_keep_the_account_under_its_limit(
    any_redis_url: str, pair: KeyPair
) -> None:
    redis_url = any_redis_url  # each kind of deployment: one server, TLS, a Cluster
    # Without Redis each process has its own 4 slots: together 8, over the account's limit of 5.
    sandbox = create_netsuite_sandbox(client_id="strata-sandbox", certificates={pair.certificate_id: pair.public_pem})
    apart = [_connector(sandbox, pair, ProcessCap(CAP)) for _ in range(2)]
    most, refused = await _burst(sandbox, apart)
    assert most > CAP and refused > 0, (most, refused)  # NetSuite answered 429s

    sandbox = create_netsuite_sandbox(client_id="strata-sandbox", certificates={pair.certificate_id: pair.public_pem})
    name = f"netsuite:test-{uuid.uuid4().hex}"
    shared = [
        _connector(sandbox, pair, concurrency_cap(name, CAP, redis_url=redis_url, hold_seconds=2.0)) for _ in range(2)
    ]
    assert all(isinstance(c.cap, SharedCap) for c in shared)
    most, refused = await _burst(sandbox, shared)
    assert (most, refused) == (CAP, 0)  # the cap was reached, never exceeded, and NetSuite refused nothing


HOLDER = """
import asyncio, sys
from apis.system.kit.concurrency_cap import SharedCap
from core.redis_pool import fail_fast_redis

async def main() -> None:
    cap = SharedCap(fail_fast_redis(sys.argv[1], timeout=1.0, max_connections=2), sys.argv[2], 1, lease_seconds=1.5)
    async with cap.slot():
        print("holding", flush=True)
        await asyncio.sleep(60)  # killed long before

asyncio.run(main())
"""


async def test_a_holder_that_dies_frees_its_slot_when_its_lease_runs_out(redis_url: str) -> None:
    name = f"test-{uuid.uuid4().hex}"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, redis_url, name, cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(holder.stdout.readline(), 30)
        assert line.strip() == b"holding"
    finally:
        holder.kill()  # SIGKILL: it never gives its slot back
        await asyncio.wait_for(holder.wait(), 10)
    killed = time.monotonic()
    cap = SharedCap(fail_fast_redis(redis_url, timeout=1.0, max_connections=2), name, 1, lease_seconds=1.5)
    try:
        async with cap.slot():
            waited = time.monotonic() - killed
    finally:
        await cap.aclose()
    # The slot was taken until the dead holder's lease (1.5 s from its start) ran out, then freed.
    assert 0.5 < waited < 3.0, waited


@pytest.mark.parametrize("answer", ["allow", "deny"])
async def test_a_redis_outage_is_answered_as_configured(answer: str) -> None:
    cap = concurrency_cap("test-outage", 1, redis_url=UNREACHABLE_REDIS, hold_seconds=1.0, on_backend_error=answer)  # type: ignore[arg-type]
    errors_before = BACKEND_ERRORS.labels(cap="test-outage")._value.get()
    try:
        if answer == "allow":
            async with cap.slot():  # on under this process's own cap
                pass
        else:
            with pytest.raises(UpstreamRateLimited, match="Redis unavailable"):
                async with cap.slot():
                    pass
    finally:
        await cap.aclose()
    assert BACKEND_ERRORS.labels(cap="test-outage")._value.get() == errors_before + 1
