"""A webhook receiver on a local HTTP server, and a Standard Webhooks verifier written from the spec.

The verifier is deliberately independent of ``apis.experience.partner_portal.webhooks.signing``
(no import from it): it follows https://www.standardwebhooks.com (spec v1, "Verifying webhook
signatures") as a receiver would.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60
"""The spec's advice: reject timestamps more than five minutes away from now."""


class InvalidSignature(Exception):
    """The message does not verify."""


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None) -> None:
    """Verify a Standard Webhooks message, as a receiver would.

    Raises:
        InvalidSignature: the timestamp is off by more than five minutes, or no ``v1``
            signature of the message matches the secret.
    """
    message_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp too far from now")
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return
    raise InvalidSignature("no signature matches")


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 (its own thread) recording every POST; answers ``status``."""

    status: int = 200
    delay_seconds: float = 0.0
    """How long each request is held before the answer (a slow receiver; longer than the
    delivery timeout: a receiver that never answers)."""
    gate: threading.Event | None = None
    """When given, each held request also waits until the gate is open (at most 30 s): work
    handed out before the gate opens stays in flight."""
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    """Requests being held right now."""
    most_in_flight: int = 0
    """The most requests held at once so far."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    path: str = field(default_factory=lambda: f"/hooks/{uuid.uuid4().hex}")
    """This receiver's own path: a later receiver on a reused port is not mistaken for it."""
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                if self.path == receiver.path:
                    receiver.requests.append(Received(self.path, headers, body, time.time()))
                if receiver.delay_seconds:
                    with receiver._lock:
                        receiver.in_flight += 1
                        receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                    if receiver.gate is not None:
                        receiver.gate.wait(30)
                    time.sleep(receiver.delay_seconds)
                    with receiver._lock:
                        receiver.in_flight -= 1
                self.send_response(receiver.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def with_id(self, event_id: str) -> list[Received]:
        """The requests carrying ``webhook-id: event_id``."""
        return [r for r in list(self.requests) if r.headers.get("webhook-id") == event_id]

    async def wait_for(self, event_id: str, count: int = 1, within: float = 10.0) -> list[Received]:
        """The requests for ``event_id`` once there are ``count`` (fails after ``within`` seconds)."""
        deadline = time.monotonic() + within
        while len(self.with_id(event_id)) < count:
            assert time.monotonic() < deadline, f"{count} request(s) for {event_id} not received in {within} s"
            await asyncio.sleep(0.02)
        return self.with_id(event_id)
