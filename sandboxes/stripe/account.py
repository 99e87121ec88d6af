"""What every resource module shares: the store, the clock, the request context, events."""

from __future__ import annotations

import contextvars
import copy
import time
from collections.abc import Callable
from typing import Any

from sandboxes.stripe.store import Store, new_id

API_VERSION = "2026-10-28.endive"
"""The account's default API version (the one the stripe 16.1 SDK pins)."""
CURRENT_REQUEST: contextvars.ContextVar[dict[str, str | None] | None] = contextvars.ContextVar(
    "stripe_sandbox_request", default=None
)
"""Request id and idempotency key of the request being served (for events; its API version is
echoed in the answer only: events are rendered in the account's or the endpoint's version)."""

EventSink = Callable[[dict[str, Any]], None]


class Account:
    """One simulated Stripe account: its objects and what happens when they change."""

    def __init__(
        self,
        store: Store,
        on_event: EventSink,
        clock: Callable[[], float] = time.time,
        webhook_endpoint: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self.store = store
        self._on_event = on_event
        self._clock = clock
        self.webhook_endpoint = webhook_endpoint
        self.search_lag_seconds = 0.0
        """How long a new customer stays out of ``/v1/customers/search`` (Stripe: under a minute,
        up to an hour during outages; 0 here unless set, so tests that search stay fast)."""
        self.search_available = True
        """False: the account has no Search (Stripe does not offer it to merchants in India)."""
        """The endpoint events are delivered to, as a ``webhook_endpoint`` object (or ``None``)."""

    def now(self) -> int:
        """Unix seconds (Stripe's timestamps)."""
        return int(self._clock())

    def emit(self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record an event about ``obj`` (a snapshot) and hand it to the webhook sender."""
        request = CURRENT_REQUEST.get() or {}
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": new_id("event"),
            "object": "event",
            # Stripe renders an event in the account's default version, whatever version the
            # request that caused it named; a webhook endpoint with a version of its own gets
            # the event in that one (sandboxes.stripe.webhooks).
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": request.get("id"), "idempotency_key": request.get("idempotency_key")},
            "type": event_type,
        }
        self.store.add("event", event, count=False)
        self._on_event(event)
        return event
