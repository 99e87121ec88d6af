"""Main-thread CPU per request through the whole app, pipeline off and governed, in process.

Raw ASGI calls of the cheap route (edge, Litestar, pipeline, handler; the app's lifespan
running, no server), timed with ``time.thread_time()``: only the event loop's thread counts,
not the workflow engine's or the database drivers' threads, nor other processes on a shared
machine — the steadiest before/after figure of the request path itself. Run it in two
checkouts alternately (``cd <other worktree> && .venv/bin/python bench/request_cpu.py``).

Usage: ``uv run python bench/request_cpu.py [--requests 2000] [--rounds 5]``; prints the
minimum and median µs of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def _rounds(prepared: dict[str, Any], governed: bool, requests: int, rounds: int) -> list[float]:
    from bench.app import bench_ping
    from bench.raw_asgi import PingCaller
    from gateway.app import create_app

    caller = PingCaller(prepared["token"])
    app = create_app(prepared["settings"], extra_route_handlers=[bench_ping], governed=governed)
    samples = []
    async with app.litestar.lifespan():
        await caller.call(app, 300)  # warm caches (token cache, memoised checks)
        for _ in range(rounds):
            samples.append(await caller.cpu_us_per_request(app, requests, time.thread_time))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from bench.pipeline import prepare

    with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp:
        prepared = prepare(Path(tmp))
        result = {}
        for name, governed in (("pipeline off", False), ("governed", True)):
            values = asyncio.run(_rounds(prepared, governed, args.requests, args.rounds))
            result[name] = {"min_us": round(min(values), 1), "median_us": round(statistics.median(values), 1)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
