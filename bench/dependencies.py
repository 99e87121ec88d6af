"""Benchmark: what a Litestar dependency costs a request, by how its provider is written.

A bare Litestar app (no governance: only the dependency mechanism differs between routes) is
called in-process through its ASGI interface, ``--requests`` times per route and round; routes
run interleaved for ``--rounds`` rounds and the median of the rounds is reported, next to the
baseline of a handler that reads the service from ``request.app.state`` (what the routes did
before :mod:`gateway.dependencies`). Also measured: the list cursor a list route signs
(:mod:`core.cursors`), encode and decode.

Usage: ``uv run python bench/dependencies.py [--requests 5000] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from core.cursors import CursorCodec, Keyset


class Service:
    """Stands for a system API's service."""

    value = 1


SERVICE = Service()
HOLDER = {"service": SERVICE}


def inline_provider() -> Service:
    return HOLDER["service"]


def other_provider() -> Service:
    return HOLDER["service"]


def threaded_provider() -> Service:
    return HOLDER["service"]


async def async_provider() -> Service:
    return HOLDER["service"]


def request_provider(request: Request[Any, Any, Any]) -> Service:
    return HOLDER["service"]


async def state_provider(state: State) -> Service:
    return state["service"]


def chained_provider(inline: NamedDependency[Service]) -> Service:
    return inline


@get("/app-state-getter", sync_to_thread=False)
def app_state_getter(request: Request[Any, Any, Any]) -> int:
    service: Service = request.app.state.service
    return service.value


@get("/inline", sync_to_thread=False)
def inline_route(inline: NamedDependency[Service]) -> int:
    return inline.value


@get("/async", sync_to_thread=False)
def async_route(async_dep: NamedDependency[Service]) -> int:
    return async_dep.value


@get("/taking-request", sync_to_thread=False)
def request_route(taking_request: NamedDependency[Service]) -> int:
    return taking_request.value


@get("/taking-state", sync_to_thread=False)
def state_route(taking_state: NamedDependency[Service]) -> int:
    return taking_state.value


@get("/thread-pool", sync_to_thread=False)
def thread_route(threaded: NamedDependency[Service]) -> int:
    return threaded.value


@get("/two-independent", sync_to_thread=False)
def two_route(inline: NamedDependency[Service], other: NamedDependency[Service]) -> int:
    return inline.value + other.value


@get("/two-chained", sync_to_thread=False)
def chained_route(chained: NamedDependency[Service]) -> int:
    return chained.value


ROUTES = {
    "/app-state-getter": "request.app.state getter (before)",
    "/inline": "one provider, no parameters, sync_to_thread=False",
    "/async": "one async provider, no parameters",
    "/taking-request": "one provider taking request",
    "/taking-state": "one provider taking state",
    "/thread-pool": "one sync provider in the thread pool",
    "/two-independent": "two independent providers (task group)",
    "/two-chained": "two providers, one depending on the other",
}


def build_app() -> Litestar:
    """The app: one route per way of reaching the service."""
    app = Litestar(
        route_handlers=[
            app_state_getter,
            inline_route,
            async_route,
            request_route,
            state_route,
            thread_route,
            two_route,
            chained_route,
        ],
        dependencies={
            "inline": Provide(inline_provider, sync_to_thread=False),
            "other": Provide(other_provider, sync_to_thread=False),
            "async_dep": Provide(async_provider),
            "taking_request": Provide(request_provider, sync_to_thread=False),
            "taking_state": Provide(state_provider),
            "threaded": Provide(threaded_provider, sync_to_thread=True),
            "chained": Provide(chained_provider, sync_to_thread=False),
        },
        openapi_config=None,
        logging_config=None,
    )
    app.state.service = SERVICE
    return app


async def _call(app: Litestar, path: str) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"{path} answered {message['status']}")

    await app(scope, receive, send)  # type: ignore[arg-type]


async def _per_request(app: Litestar, path: str, requests: int) -> float:
    for _ in range(min(200, requests)):
        await _call(app, path)
    start = time.perf_counter()
    for _ in range(requests):
        await _call(app, path)
    return (time.perf_counter() - start) / requests * 1e6


def _cursor_costs(iterations: int) -> dict[str, float]:
    codec = CursorCodec("a bench master key of 32 characters")
    filters = {"query:workflow": "quote-to-cash", "audience:partner": None}
    position = Keyset(1_765_000_000.25, "txn_01JXYZABCDEFGHJKMNPQRSTVWX")
    start = time.perf_counter()
    for _ in range(iterations):
        cursor = codec.encode(position, list_id="GET /process/operations/v1/transactions", filters=filters)
    encode = (time.perf_counter() - start) / iterations * 1e6
    start = time.perf_counter()
    for _ in range(iterations):
        codec.decode(cursor, Keyset, list_id="GET /process/operations/v1/transactions", filters=filters)
    decode = (time.perf_counter() - start) / iterations * 1e6
    return {"cursor encode": encode, "cursor decode": decode}


async def main(requests: int, rounds: int) -> None:
    """Interleaved rounds; medians per route, and their difference to the getter."""
    app = build_app()
    samples: dict[str, list[float]] = {path: [] for path in ROUTES}
    async with app.lifespan():
        for _ in range(rounds):
            for path in ROUTES:
                samples[path].append(await _per_request(app, path, requests))
    base = statistics.median(samples["/app-state-getter"])
    print(f"{'route':60s} {'µs/request':>10s} {'vs getter':>10s}")
    for path, label in ROUTES.items():
        median = statistics.median(samples[path])
        print(f"{label:60s} {median:10.1f} {median - base:+10.1f}")
    for name, cost in _cursor_costs(requests * 4).items():
        print(f"{name:60s} {cost:10.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
