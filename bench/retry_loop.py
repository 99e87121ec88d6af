"""Benchmark: what tenacity's retry loop costs a vendor call, next to the hand-written loop it replaced.

Every connector call runs through :func:`apis.system.kit.vendor_http.call_with_retries`, whose
loop is tenacity's ``AsyncRetrying`` since the connector kit was built. This measures, in
process and without I/O, the CPU microseconds per call of:

* ``hand loop``  — the loop the kit had before (a ``while True`` with ``try``/``except``);
* ``tenacity``   — today's :func:`call_with_retries` (first attempt outside tenacity, retries in it);
* ``tenacity, every call`` — every call inside ``AsyncRetrying``, as a plain use of tenacity would be;

each with a circuit breaker, for a call that succeeds at once (the common case) and one that
fails once with a retryable error (backoff ~0: the loop's own cost, not the sleep). The two
run interleaved for ``--rounds`` rounds; medians are reported. Compare with an in-process
sandbox exchange (~1 ms) or a network one (tens of ms).

Usage: ``uv run python bench/retry_loop.py [--calls 20000] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import TypeVar

import tenacity

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.vendor_http import RetryPolicy, call_with_retries
from core.backoff import backoff_delay
from core.errors import RetryableError, StrataError, UpstreamUnavailable

T = TypeVar("T")
_RNG = random.Random()
POLICY = RetryPolicy(max_retries=3, backoff_base_seconds=0.0, backoff_max_seconds=0.0)


async def hand_loop(
    attempt: Callable[[], Awaitable[T]], *, policy: RetryPolicy, idempotent: bool, breaker: CircuitBreaker
) -> T:
    """The kit's loop before tenacity (apis/system/kit/vendor_http.py at 68776be)."""
    rng = _RNG  # the old loop drew full jitter from its connector's generator
    tries = 0
    while True:
        breaker.before_call()
        try:
            result = await attempt()
        except StrataError as error:
            breaker.record(error)
            if not isinstance(error, RetryableError) or not idempotent or tries >= policy.max_retries:
                raise
            delay = backoff_delay(
                tries, base=policy.backoff_base_seconds, cap=policy.backoff_max_seconds, jitter="full", rng=rng
            )
            tries += 1
            await asyncio.sleep(delay)
        except BaseException:
            breaker.abandon()
            raise
        else:
            breaker.record(None)
            return result


async def tenacity_every_call(
    attempt: Callable[[], Awaitable[T]], *, policy: RetryPolicy, idempotent: bool, breaker: CircuitBreaker
) -> T:
    """The same loop with every call inside ``AsyncRetrying`` (the first attempt included)."""

    async def guarded() -> T:
        breaker.before_call()
        try:
            result = await attempt()
        except StrataError as error:
            breaker.record(error)
            raise
        breaker.record(None)
        return result

    retrying = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(policy.max_retries + 1),
        retry=tenacity.retry_if_exception_type(RetryableError),
        wait=lambda state: backoff_delay(
            state.attempt_number - 1, base=policy.backoff_base_seconds, cap=policy.backoff_max_seconds, jitter="full"
        ),
        sleep=asyncio.sleep,
        reraise=True,
    )
    return await retrying(guarded)


def _attempts(fail_first: bool) -> Callable[[], Awaitable[int]]:
    state = {"calls": 0}

    async def attempt() -> int:
        state["calls"] += 1
        if fail_first and state["calls"] % 2 == 1:
            raise UpstreamUnavailable("down once")
        return 1

    return attempt


async def _measure(loop_name: str, fail_first: bool, calls: int) -> float:
    breaker = CircuitBreaker(f"bench-{loop_name}")
    attempt = _attempts(fail_first)
    started = time.perf_counter()
    for _ in range(calls):
        if loop_name == "tenacity":
            await call_with_retries(attempt, policy=POLICY, idempotent=True, breaker=breaker)
        elif loop_name == "tenacity, every call":
            await tenacity_every_call(attempt, policy=POLICY, idempotent=True, breaker=breaker)
        else:
            await hand_loop(attempt, policy=POLICY, idempotent=True, breaker=breaker)
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int, rounds: int) -> None:
    cases = [(loop, fail) for fail in (False, True) for loop in ("hand loop", "tenacity", "tenacity, every call")]
    results: dict[tuple[str, bool], list[float]] = {case: [] for case in cases}
    for _ in range(rounds):
        for loop, fail in cases:
            results[(loop, fail)].append(await _measure(loop, fail, calls))
    print(f"Python {sys.version.split()[0]}, tenacity {version('tenacity')}")
    print(f"{platform.machine()} {platform.system()} {platform.release()}; {calls} calls x {rounds} rounds")
    print("| loop | call | µs per call (median) | per round |")
    print("|---|---|---:|---|")
    for (loop, fail), values in results.items():
        rounds_text = " / ".join(f"{v:.1f}" for v in values)
        kind = "fails once, then succeeds" if fail else "succeeds at once"
        print(f"| {loop} | {kind} | {statistics.median(values):.1f} | {rounds_text} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.calls, arguments.rounds))
