"""CPU and instructions per request through the whole app, in process, for each configuration.

Raw ASGI calls of the cheap route (``bench.raw_asgi.PingCaller``: no server, no HTTP client)
into four apps:

* ``bare`` — Litestar alone serving the same handler (``bench.app.create_bare_app``);
* ``off`` — the gateway app (edge, Litestar, correlation) with contracts not bound;
* ``memory`` — governed, the full chain, rate limits in memory;
* ``redis`` — governed, rate limits in Redis (``--redis-url``; one round trip per request).

Two measures, both steadier than requests/s on a shared machine:

* **CPU µs per request** by ``time.thread_time()``: only the event loop's thread counts, not the
  workflow engine's or the database drivers' threads, nor other processes. Contention still
  inflates it (caches, frequency), so compare lines of one run.
* **Instructions per request** (``--instructions``): the same loop under valgrind's callgrind,
  instrumentation switched on (``callgrind_control -i on``) only around the measured requests,
  counted on the main thread only (``--separate-threads``); the count does not depend on the
  machine's load. Two windows of different length are measured in one process and subtracted,
  so the toggling's own cost drops out. Slow (~50× native): keep ``--requests`` small.

Usage: ``uv run python bench/request_cpu.py [--requests 2000] [--rounds 5] [--configs bare off memory redis]
[--instructions]``; prints the minimum and median µs of the rounds (or instructions per request).
Run it in two checkouts alternately for a before/after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = ("bare", "off", "memory", "redis")
UNDER_CALLGRIND = "BENCH_UNDER_CALLGRIND"
WINDOW_PAIRS = 3


def _build(prepared: dict[str, Any], config: str, redis_url: str) -> tuple[Any, Any]:
    """The ASGI app of ``config`` and the async context manager running its lifespan."""
    from bench.app import bench_ping, create_bare_app
    from gateway.app import create_app
    from gateway.settings import load_settings

    if config == "bare":
        bare = create_bare_app()
        return bare, bare.lifespan()
    settings = prepared["settings"]
    if config == "redis":
        settings = load_settings(environ={**prepared["env"], "STRATA_REDIS_URL": redis_url})
    app = create_app(settings, extra_route_handlers=[bench_ping], governed=config != "off")
    return app, app.litestar.lifespan()


def _callgrind(command: str) -> None:
    """``callgrind_control`` on this process; it returns once valgrind has acted on it."""
    subprocess.run(["callgrind_control", command, str(os.getpid())], check=True, capture_output=True)


async def _rounds(
    prepared: dict[str, Any], config: str, requests: int, rounds: int, redis_url: str, concurrency: int
) -> list[float]:
    from bench.raw_asgi import PingCaller

    caller = PingCaller(prepared["token"])
    app, lifespan = _build(prepared, config, redis_url)
    samples = []
    async with lifespan:
        await caller.call(app, 300)  # warm caches (token cache, memoised checks)
        if os.environ.get(UNDER_CALLGRIND):
            # Windows of ``requests`` and 2 × ``requests`` pings, three of each, alternating;
            # each is zeroed, instrumented and dumped alone. The event loop's periodic tasks
            # (key and client refresh, relays) land in some windows: the minimum of each
            # size leaves them out, and (min 2N - min N) / N the toggling's own cost.
            for count in (requests, 2 * requests) * WINDOW_PAIRS:
                _callgrind("--zero")
                _callgrind("--instr=on")
                await caller.call(app, count, concurrency)
                _callgrind("--instr=off")
                _callgrind("--dump")
            return []
        for _ in range(rounds):
            samples.append(await caller.cpu_us_per_request(app, requests, time.thread_time, concurrency))
    return samples


def _main_thread_instructions(dump: Path) -> int:
    """``Ir`` of a callgrind dump's totals."""
    match = re.search(r"^totals: (\d+)", dump.read_text(), re.M)
    assert match, dump
    return int(match.group(1))


def instructions_per_request(config: str, requests: int, redis_url: str, concurrency: int) -> dict[str, Any]:
    """Run this script under callgrind for ``config``: instructions per request of the main thread,
    and each window's count (N, 2N, N, 2N, ...)."""
    with tempfile.TemporaryDirectory(prefix="strata-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
            f"--callgrind-out-file={out}.%p", sys.executable, __file__, "--configs", config,
            "--requests", str(requests), "--redis-url", redis_url, "--concurrency", str(concurrency),
        ]  # fmt: skip
        env = {**os.environ, UNDER_CALLGRIND: "1"}
        subprocess.run(command, check=True, env=env, capture_output=True, timeout=3600)
        # Dumps are numbered in order (.1, .2, ...) per thread; -01 is the main thread.
        counts = [
            _main_thread_instructions(next(Path(tmp).glob(f"callgrind.out.*.{number}-01")))
            for number in range(1, 2 * WINDOW_PAIRS + 1)
        ]
        first, second = min(counts[0::2]), min(counts[1::2])
        return {"instructions_per_request": round((second - first) / requests), "windows": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--configs", nargs="*", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight at once (tasks)")
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    args = parser.parse_args()
    if args.instructions:
        result = {}
        for config in args.configs:
            result[config] = instructions_per_request(config, args.requests, args.redis_url, args.concurrency)
            print(config, result[config], flush=True)
        print(json.dumps(result, indent=2))
        return
    from bench.pipeline import prepare

    with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp:
        prepared = prepare(Path(tmp))
        samples: dict[str, list[float]] = {config: [] for config in args.configs}
        # Configurations interleaved, one round each per pass, so drift hits them alike.
        for _ in range(1 if os.environ.get(UNDER_CALLGRIND) else args.rounds):
            for config in args.configs:
                rounds = 1
                samples[config] += asyncio.run(
                    _rounds(prepared, config, args.requests, rounds, args.redis_url, args.concurrency)
                )
        if os.environ.get(UNDER_CALLGRIND):
            return
    result = {
        config: {"min_us": round(min(values), 1), "median_us": round(statistics.median(values), 1)}
        for config, values in samples.items()
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
