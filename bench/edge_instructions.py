"""Instructions per request of the edge alone (:class:`policies.edge.Edge`), under callgrind.

The edge around a trivial ASGI app (a 200 with two headers), no server, no Litestar, against the
same trivial app without it; each run twice (``--requests`` and 11 × ``--requests`` calls) under
valgrind's callgrind, and (long − short) / (10 × requests) is the per-request count, so start-up
drops out (``PYTHONHASHSEED=0`` keeps it the same between runs). What the edge costs every request,
governed or not, apart from the rest of the app (``bench/request_cpu.py --instructions``).

Usage: ``uv run python bench/edge_instructions.py [--requests 1000]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HEADERS = [(b"host", b"127.0.0.1"), (b"authorization", b"Bearer abc"), (b"accept", b"*/*")]


async def _inner(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"pong":true,"echo":"hello"}', "more_body": False})


async def _sink(message: Any) -> None:
    return None


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _loop(app: Any, requests: int) -> None:
    for _ in range(requests):
        scope = {
            "type": "http", "method": "GET", "path": "/system/bench/v1/ping", "headers": list(HEADERS),
            "scheme": "http", "query_string": b"echo=hello", "client": ("127.0.0.1", 40000), "state": {},
        }  # fmt: skip
        await app(scope, _receive, _sink)


def _run_inside(mode: str, requests: int) -> None:
    sys.path.insert(0, str(ROOT))
    from policies.edge import Edge, EdgeConfig

    app = Edge(_inner, EdgeConfig()) if mode == "edge" else _inner
    asyncio.run(_loop(app, requests))


def _count(mode: str, requests: int) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
    command += ["--inside", mode, "--requests", str(requests)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=env, timeout=3600)
    match = re.search(r"Collected : (\d+)", result.stderr)
    assert match, result.stderr[-2000:]
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--inside", choices=("edge", "plain"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        _run_inside(args.inside, args.requests)
        return
    per_request = {}
    for mode in ("edge", "plain"):
        short, long = _count(mode, args.requests), _count(mode, 11 * args.requests)
        per_request[mode] = round((long - short) / (10 * args.requests))
    result = {**per_request, "edge_alone": per_request["edge"] - per_request["plain"]}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
