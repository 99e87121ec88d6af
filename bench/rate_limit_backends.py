"""Cost of one rate-limit admission on the memory and Redis backends, in µs.

Usage: ``uv run python bench/rate_limit_backends.py [--redis redis://127.0.0.1:6379/0]``

Measures, per admission of a request against the bronze tier's two limits
(``5/second``-like limits sized so nothing is rejected):

* memory backend, ``admit`` awaited (the policy's path) and ``admit_now`` (pre-auth's path);
* the whole ``RateLimitPolicy.on_request`` on the memory backend (parsing cache, headers);
* Redis backend, sequential (latency: one EVALSHA round trip each) and with 64 concurrent
  tasks (throughput of one process).

Wall-clock medians of a few runs; on a shared 2-core machine treat them as orders of size.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from policies.context import Principal, RequestContext
from policies.governance import Governance, TierConfig
from policies.rate_limit import RateLimitPolicy
from policies.rate_limit_backends import MemoryRateLimitBackend, RedisRateLimitBackend, parse_limits
from policies.routes import ApiVersion, CompiledRoute

LIMITS = parse_limits(("1000000000/second", "1000000000/day"))
RUNS = 5


def _median_us(samples: list[float], count: int) -> float:
    return statistics.median(samples) / count * 1e6


async def memory(count: int) -> tuple[float, float]:
    samples_async: list[float] = []
    samples_sync: list[float] = []
    for _ in range(RUNS):
        backend = MemoryRateLimitBackend()
        start = time.perf_counter()
        for index in range(count):
            await backend.admit(f"client-{index % 100}", LIMITS, 1)
        samples_async.append(time.perf_counter() - start)
        start = time.perf_counter()
        for index in range(count):
            backend.admit_now(f"client-{index % 100}", LIMITS, 1)
        samples_sync.append(time.perf_counter() - start)
    return _median_us(samples_async, count), _median_us(samples_sync, count)


async def policy_on_memory(count: int) -> float:
    governance = Governance(tiers={"bronze": TierConfig(limits=("1000000000/second", "1000000000/day"))})
    policy = RateLimitPolicy(governance, MemoryRateLimitBackend())
    route = CompiledRoute(
        api=ApiVersion(layer="system", name="bench", version=1, base_path="/system/bench/v1"),
        operation_id="ping",
        method="GET",
        path_template="/system/bench/v1/ping",
        security=(frozenset({"system:bench:read"}),),
    )
    who = Principal(subject="acme", client_id="acme", issuer="bench", oauth_scopes=frozenset(), tier="bronze")
    samples: list[float] = []
    for _ in range(RUNS):
        contexts = [
            RequestContext(
                method="GET",
                path="/system/bench/v1/ping",
                headers={},
                query_string=b"",
                path_params={},
                source="127.0.0.1",
                route=route,
                principal=who,
            )
            for _ in range(count)
        ]
        start = time.perf_counter()
        for ctx in contexts:
            await policy.on_request(ctx)
        samples.append(time.perf_counter() - start)
    return _median_us(samples, count)


async def redis(url: str, count: int, concurrency: int) -> tuple[float, float]:
    backend = RedisRateLimitBackend(url, key_prefix=f"strata:rl:bench:{uuid.uuid4().hex}:", socket_timeout=5.0)
    await backend.admit("warm-up", LIMITS, 1)
    sequential: list[float] = []
    concurrent: list[float] = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(count):
            await backend.admit("acme", LIMITS, 1)
        sequential.append(time.perf_counter() - start)

        async def worker() -> None:
            for _ in range(count // concurrency):
                await backend.admit("acme", LIMITS, 1)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        concurrent.append(time.perf_counter() - start)
    await backend.aclose()
    return _median_us(sequential, count), _median_us(concurrent, count // concurrency * concurrency)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    admit_us, admit_now_us = await memory(args.count)
    print(f"memory admit (awaited), 2 limits   {admit_us:8.2f} µs")
    print(f"memory admit_now (sync), 2 limits  {admit_now_us:8.2f} µs")
    print(f"RateLimitPolicy.on_request, memory {await policy_on_memory(args.count):8.2f} µs")
    try:
        seq_us, conc_us = await redis(args.redis, args.count // 4, 64)
    except Exception as exc:
        print(f"redis: skipped ({type(exc).__name__}: {exc})")
        return
    print(f"redis admit, sequential            {seq_us:8.2f} µs  (one EVALSHA round trip)")
    print(f"redis admit, 64 concurrent tasks   {conc_us:8.2f} µs  (= {1e6 / conc_us:,.0f} admissions/s)")


if __name__ == "__main__":
    asyncio.run(main())
