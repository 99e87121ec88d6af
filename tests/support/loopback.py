"""Serving an ASGI app (the Stripe sandbox) on a real loopback port: granian's embedded server in a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from granian.constants import Interfaces
from granian.server.embed import Server

START_DEADLINE_SECONDS = 10.0


@contextmanager
def serve_on_loopback(app: Any) -> Iterator[str]:
    """Run ``app`` (no lifespan) on 127.0.0.1, a free port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = Server(app, address="127.0.0.1", port=port, interface=Interfaces.ASGINL, log_enabled=False)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while True:
        try:
            httpx.get(f"{url}/_control/counts", timeout=1.0)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the loopback server did not start") from None
            time.sleep(0.02)
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(server.stop)
        thread.join(5)
