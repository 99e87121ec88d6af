"""P3: what validating a 2 KB JSON request body costs, next to parsing it with msgspec.

In process, no server: the body is a valid ``POST /process/usage-to-billing/v1/batches``
(``submitUsageBatch``, a real contract with string patterns, lengths, minimums and a
``date-time`` format) of ~2 KB. Measured per call, CPU time, rounds interleaved:

* **parse**: ``msgspec.json.decode(body)`` — the floor;
* **request limits**: the policy's body work (decode once, shape check: depth, members, items);
* **request contract**: the policy's check of the decoded body against the compiled schema
  (``jsonschema-rs``), parameters included;
* **validation** = request limits + request contract − parse: what validating adds to parsing.

Usage: ``uv run python bench/request_validation.py [--iterations 2000] [--rounds 5]``.
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

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OPERATION = "submitUsageBatch"


def body_of_size(target: int = 2048) -> bytes:
    """A valid usage batch whose JSON is just over ``target`` bytes."""
    events: list[dict[str, Any]] = []
    batch = {"subscription_id": "sub_1Q2w3E4r5T6y7U8k", "period": "2026-11", "events": events}
    while len(msgspec.json.encode(batch)) < target:
        number = len(events)
        events.append(
            {
                "id": f"evt-{number:06d}-3f2a9c",
                "event_name": "api_calls",
                "quantity": 1000 + number,
                "timestamp": f"2026-11-{1 + number % 28:02d}T12:{number % 60:02d}:00Z",
            }
        )
    return msgspec.json.encode(batch)


def _route(workdir: Path) -> Any:
    from gateway.app import create_app
    from gateway.settings import load_settings

    settings = load_settings(
        environ={"STRATA_STATE_DIR": str(workdir), "STRATA_SEED_DEMO": "false", "STRATA_LOG_LEVEL": "error"}
    )
    app = create_app(settings)
    route = next(r for r in app.state.route_table.routes if r.operation_id == OPERATION)
    return app, route


def measure(iterations: int = 2000, rounds: int = 5) -> dict[str, Any]:
    """Per-call CPU µs of parse, request limits and request contract on the 2 KB body; medians of the rounds."""
    from policies.context import RequestContext
    from policies.request_contract import RequestContractPolicy
    from policies.request_limits import RequestLimitsPolicy

    body = body_of_size()
    with tempfile.TemporaryDirectory(prefix="strata-p3-") as tmp:
        app, route = _route(Path(tmp))
        limits = app.state.chain.policy(RequestLimitsPolicy)
        contract = app.state.chain.policy(RequestContractPolicy)

        def context() -> RequestContext:
            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            return RequestContext(
                method="POST",
                path=route.path_template,
                headers={"content-type": "application/json", "content-length": str(len(body))},
                query_string=b"",
                path_params={},
                source="127.0.0.1",
                route=route,
                state={"header_bytes": 200, "authorization_count": 1},
                receive=receive,
            )

        async def run_limits(n: int) -> float:
            start = time.process_time()
            for _ in range(n):
                ctx = context()
                assert await limits.on_request(ctx) is None
            return (time.process_time() - start) / n

        async def run_contract(n: int, ctx: RequestContext) -> float:
            start = time.process_time()
            for _ in range(n):
                assert await contract.on_request(ctx) is None
            return (time.process_time() - start) / n

        def run_parse(n: int) -> float:
            decode = msgspec.json.decode
            start = time.process_time()
            for _ in range(n):
                decode(body)
            return (time.process_time() - start) / n

        async def run_context(n: int) -> float:  # the context and receive the limits loop builds
            start = time.process_time()
            for _ in range(n):
                context()
            return (time.process_time() - start) / n

        async def all_rounds() -> dict[str, list[float]]:
            warm = context()
            await limits.on_request(warm)
            samples: dict[str, list[float]] = {"parse": [], "request limits": [], "request contract": []}
            for _ in range(rounds):
                samples["parse"].append(run_parse(iterations))
                samples["request limits"].append(await run_limits(iterations) - await run_context(iterations))
                samples["request contract"].append(await run_contract(iterations, warm))
            return samples

        samples = asyncio.run(all_rounds())
    us = {name: [value * 1e6 for value in values] for name, values in samples.items()}
    per_round_validation = [
        lim + con - par for par, lim, con in zip(us["parse"], us["request limits"], us["request contract"], strict=True)
    ]
    per_round_ratio = [v / p for v, p in zip(per_round_validation, us["parse"], strict=True)]
    return {
        "body_bytes": len(body),
        "us": {name: round(statistics.median(values), 2) for name, values in us.items()},
        "validation_us": round(statistics.median(per_round_validation), 2),
        "validation_over_parse": round(statistics.median(per_round_ratio), 2),
        "validation_over_parse_rounds": [round(value, 2) for value in per_round_ratio],
        "target": 2.0,
        "met": statistics.median(per_round_ratio) <= 2.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(measure(args.iterations, args.rounds), indent=2))


if __name__ == "__main__":
    main()
