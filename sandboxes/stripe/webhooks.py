"""Webhook delivery: signed POSTs of events to the configured endpoint, retried on non-2xx.

The body is the event JSON; ``Stripe-Signature: t=<unix>,v1=<hex>`` where the hex is
HMAC-SHA256 with the endpoint secret over ``<t>.<raw body>``, as Stripe signs. Deliveries
run as tasks on the event loop serving the request that caused the event; a delivery that
fails (non-2xx or no connection) is retried up to ``max_attempts`` times with exponential
backoff (Stripe retries for up to three days; here the schedule is seconds, configurable).

An event is delivered rendered in the endpoint's ``api_version``, or in the account's default
version when the endpoint has none (Stripe's rule; here rendering a version only sets the
event's ``api_version``: the sandbox has one object shape, see the package docstring).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from typing import Any

import httpx
import msgspec
import structlog

logger = structlog.get_logger(__name__)
DELIVERED_EVENTS = (
    "invoice.finalized",
    "invoice.paid",
    "payment_intent.succeeded",
    "charge.refunded",
    "credit_note.created",
    "customer.subscription.updated",
)
"""Event types sent to the endpoint (the endpoint's ``enabled_events``)."""
DELIVERY_TIMEOUT_SECONDS = 10.0


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class WebhookSender:
    """Sends events to one endpoint and remembers every attempt."""

    def __init__(
        self,
        url: str = "",
        secret: str = "",
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        enabled_events: tuple[str, ...] = DELIVERED_EVENTS,
        api_version: str | None = None,
        account_version: str = "",
    ) -> None:
        self.url, self.secret = url, secret
        self.api_version = api_version
        """The endpoint's API version (``None``: events go out in ``account_version``)."""
        self.account_version = account_version
        self.created = int(time.time())
        self.transport = transport
        self.max_attempts, self.backoff_seconds = max_attempts, backoff_seconds
        self.enabled_events = enabled_events
        self.attempts: dict[str, list[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    def configure(self, url: str, secret: str) -> None:
        """Point the sender at another endpoint (its ``api_version`` stays)."""
        self.url, self.secret = url, secret

    def endpoint(self) -> dict[str, Any] | None:
        """The endpoint as Stripe's ``webhook_endpoint`` object (``None`` while there is none).

        Its id is derived from the URL, so it is stable across restarts and resets.
        """
        if not self.url:
            return None
        return {
            "id": "we_" + hashlib.sha256(self.url.encode()).hexdigest()[:24],
            "object": "webhook_endpoint",
            "api_version": self.api_version,
            "application": None,
            "created": self.created,
            "description": "Configured in the sandbox (settings or POST /_control/webhook_endpoint)",
            "enabled_events": list(self.enabled_events),
            "livemode": False,
            "metadata": {},
            "status": "enabled",
            "url": self.url,
        }

    def wants(self, event: dict[str, Any]) -> bool:
        """Whether the endpoint subscribed to this event type."""
        return bool(self.url and self.secret) and event["type"] in self.enabled_events

    def submit(self, event: dict[str, Any]) -> None:
        """Schedule the delivery of ``event`` (no-op without an endpoint or a running loop)."""
        if not self.wants(event):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.warning("stripe sandbox: no event loop to deliver %s", event["id"])
            return
        task = loop.create_task(self._deliver(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, wait_seconds: float = 10.0) -> None:
        """Wait for every scheduled delivery (tests)."""
        deadline = time.monotonic() + wait_seconds
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))

    async def aclose(self) -> None:
        """Cancel deliveries still waiting."""
        for task in list(self._tasks):
            task.cancel()

    async def _deliver(self, event: dict[str, Any]) -> None:
        payload = msgspec.json.encode({**event, "api_version": self.api_version or self.account_version})
        async with httpx.AsyncClient(transport=self.transport, timeout=DELIVERY_TIMEOUT_SECONDS) as client:
            for attempt in range(1, self.max_attempts + 1):
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": sign(payload, self.secret),
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                }
                record: dict[str, Any] = {"attempt": attempt, "at": time.time()}
                try:
                    response = await client.post(self.url, content=payload, headers=headers)
                    record["status"] = response.status_code
                except httpx.HTTPError as error:
                    record["error"] = type(error).__name__
                with self._lock:
                    self.attempts.setdefault(event["id"], []).append(record)
                if 200 <= record.get("status", 0) < 300:
                    return
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))

    def status(self, event_id: str) -> dict[str, Any]:
        """Attempts so far and whether one succeeded."""
        with self._lock:
            attempts = list(self.attempts.get(event_id, []))
        return {"attempts": attempts, "delivered": any(200 <= a.get("status", 0) < 300 for a in attempts)}
