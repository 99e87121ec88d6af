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
    from gateway.app import create_app

    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {prepared['token']}".encode()), (b"accept", b"*/*")]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/system/bench/v1/ping",
            "raw_path": b"/system/bench/v1/ping",
            "query_string": b"echo=hello",
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8080),
            "state": {},
        }

    app = create_app(prepared["settings"], extra_route_handlers=[bench_ping], governed=governed)
    samples = []
    async with app.litestar.lifespan():
        for _ in range(300):  # warm caches (token cache, memoised checks)
            await app(scope(), receive, send)
        for _ in range(rounds):
            statuses.clear()
            start = time.thread_time()
            for _ in range(requests):
                await app(scope(), receive, send)
            samples.append((time.thread_time() - start) / requests * 1e6)
            assert statuses == [200] * requests, statuses[:5]
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
