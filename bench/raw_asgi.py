"""Calling the bench route as raw ASGI, with no server or HTTP client in between.

The in-process CPU benches (:mod:`bench.request_cpu`, :mod:`bench.tracing_cost`) call
``GET /system/bench/v1/ping?echo=hello`` straight into the app, so what they measure is the app's
own CPU per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class PingCaller:
    """Sends the bench ping, as a client holding ``token``, straight into an ASGI app."""

    def __init__(self, token: str) -> None:
        self.headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode()), (b"accept", b"*/*")]
        self.statuses: list[int] = []

    async def _receive(self) -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.statuses.append(message["status"])

    def _scope(self) -> dict[str, Any]:
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
            "headers": list(self.headers),
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8080),
            "state": {},
        }

    async def call(self, app: Any, times: int = 1, concurrency: int = 1) -> None:
        """Send the ping ``times`` times (warming caches: token cache, compiled limits, memoised checks).

        With ``concurrency`` > 1, that many at once (one task each), as a server with that many
        connections would: what a pipelined Redis connection needs to batch its round trips.
        """
        if concurrency == 1:
            for _ in range(times):
                await app(self._scope(), self._receive, self._send)
            return
        for start in range(0, times, concurrency):
            batch = min(concurrency, times - start)
            await asyncio.gather(*(app(self._scope(), self._receive, self._send) for _ in range(batch)))

    async def cpu_us_per_request(
        self, app: Any, requests: int, clock: Callable[[], float], concurrency: int = 1
    ) -> float:
        """CPU µs per request over ``requests`` pings, by ``clock``; every answer must be 200."""
        self.statuses.clear()
        start = clock()
        await self.call(app, requests, concurrency)
        elapsed = clock() - start
        assert self.statuses == [200] * requests, self.statuses[:5]
        return elapsed / requests * 1e6
