"""Fault injection for every vendor sandbox.

A :class:`FaultInjector` holds an ordered list of :class:`FaultRule` and wraps a sandbox's ASGI
app (:meth:`FaultInjector.wrap`). Before a request reaches the simulator, the first rule that
matches (method, path prefix) and fires (probability, remaining count) decides what happens:

* ``latency`` — sleep ``latency_seconds``, then serve the request normally;
* ``status`` — answer ``status`` at once, with ``Retry-After`` when ``retry_after`` is set; the
  body comes from the sandbox's *renderer*, so every sandbox fails in its own vendor's format
  (a Salesforce error array, a Stripe error object, ...);
* ``timeout`` — sleep ``latency_seconds`` (choose more than the client's deadline), then answer
  as ``status`` would (a client that waits that long sees a late error, not data);
* ``lost_response`` — serve the request (a write is applied), discard the simulator's answer,
  sleep ``latency_seconds``, then answer as ``status`` would: the client sees a failure although
  the write happened, which is what an idempotency key or an upsert must survive;
* ``drop`` — the connection drops with no answer at all (:class:`ConnectionDropped` is raised
  out of the ASGI app, as a reset socket raises in a client): before the request is served, or
  after it was (the write applied) when ``after_write`` is set.

Rules are switched from Python (``sandbox.faults.add(FaultRule(...))``) or over HTTP by the
control API each sandbox mounts: ``POST /_control/faults`` (one rule as JSON, or a list),
``DELETE /_control/faults``, ``GET /_control/counts``. Paths under ``/_control`` never fault.

A dropped connection reaches an in-process client (httpx's ASGI transport) as the
:class:`ConnectionDropped` (a :class:`ConnectionResetError`) the app raised; a sandbox served
over a real socket (``strata sandboxes serve``) by granian answers it with a bare 500 instead,
since ASGI gives an app no way to reset its connection.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

import msgspec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ErrorRenderer = Callable[[int], tuple[bytes, str]]
"""``status -> (body, content type)``: how a sandbox writes an injected error."""

CONTROL_PREFIX = "/_control"

FaultKind = Literal["latency", "status", "timeout", "lost_response", "drop"]


class ConnectionDropped(ConnectionResetError):
    """Raised out of a sandbox app to drop the connection without an answer."""


class FaultRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One fault: what to do, to which requests, how often."""

    kind: FaultKind
    """``latency`` (delay then serve), ``status`` (answer an error), ``timeout`` (delay then error),
    ``lost_response`` (serve, drop the answer, then error), ``drop`` (no answer at all)."""
    status: int = 503
    """HTTP status of ``status``, ``timeout`` and ``lost_response`` faults (429, 403 for a quota, 5xx, ...)."""
    latency_seconds: float = 0.0
    """Delay of ``latency``, ``timeout`` and ``lost_response`` faults."""
    retry_after: float | None = None
    """Value of the ``Retry-After`` header on an injected error, in seconds; ``None`` = no header."""
    after_write: bool = False
    """For ``drop``: serve the request first (the write is applied), then drop the connection."""
    method: str | None = None
    """Only requests with this HTTP method (upper case); ``None`` = any."""
    path_prefix: str = ""
    """Only requests whose path starts with this; empty = any path."""
    probability: float = 1.0
    """Chance that a matching request is hit (0..1)."""
    count: int | None = None
    """How many requests the rule hits before it expires; ``None`` = unlimited."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.latency_seconds < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise ValueError("latency_seconds and retry_after must not be negative")

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule applies to a request (probability and count aside)."""
        return (self.method is None or self.method.upper() == method) and path.startswith(self.path_prefix)


class FaultInjector:
    """Rules plus counters; thread-safe, so a test thread may switch faults of a served sandbox."""

    def __init__(self, renderer: ErrorRenderer, *, seed: int | None = None) -> None:
        self._renderer = renderer
        self._rules: list[tuple[FaultRule, list[int | None]]] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.requests: Counter[str] = Counter()
        """Requests seen, keyed ``"METHOD /path"`` (control calls excluded)."""
        self.injected: Counter[str] = Counter()
        """Faults injected, keyed by kind."""

    def add(self, *rules: FaultRule) -> None:
        """Append rules; earlier rules win."""
        with self._lock:
            self._rules.extend((rule, [rule.count]) for rule in rules)

    def clear(self) -> None:
        """Remove every rule (counters stay)."""
        with self._lock:
            self._rules.clear()

    def reset(self) -> None:
        """Remove every rule and zero the counters."""
        with self._lock:
            self._rules.clear()
            self.requests.clear()
            self.injected.clear()

    @property
    def rules(self) -> list[FaultRule]:
        """The active rules, in order."""
        with self._lock:
            return [rule for rule, _ in self._rules]

    def counts(self) -> dict[str, Any]:
        """Counters as JSON-ready data."""
        with self._lock:
            return {
                "requests": sum(self.requests.values()),
                "by_route": dict(self.requests),
                "faults_injected": dict(self.injected),
                "active_rules": len(self._rules),
            }

    def pick(self, method: str, path: str) -> FaultRule | None:
        """Count the request and return the rule that fires for it, if any."""
        with self._lock:
            self.requests[f"{method} {path}"] += 1
            for index, (rule, remaining) in enumerate(self._rules):
                if not rule.matches(method, path):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                if remaining[0] is not None:
                    remaining[0] -= 1
                    if remaining[0] <= 0:
                        del self._rules[index]
                self.injected[rule.kind] += 1
                return rule
        return None

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """An ASGI app applying the rules in front of ``app``."""

        async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
                await app(scope, receive, send)
                return
            rule = self.pick(scope["method"], path)
            if rule is None:
                await app(scope, receive, send)
                return
            if rule.kind == "lost_response" or (rule.kind == "drop" and rule.after_write):
                await app(scope, receive, _discard)
            if rule.latency_seconds:
                await asyncio.sleep(rule.latency_seconds)
            if rule.kind == "latency":
                await app(scope, receive, send)
                return
            if rule.kind == "drop":
                when = "after" if rule.after_write else "before"
                raise ConnectionDropped(f"sandbox dropped the connection ({when} the write)")
            await self._send_error(rule, send)

        return faulty

    async def _send_error(self, rule: FaultRule, send: Send) -> None:
        body, content_type = self._renderer(rule.status)
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        if rule.retry_after is not None:
            value = rule.retry_after
            text = str(int(value)) if float(value).is_integer() else str(value)
            headers.append((b"retry-after", text.encode()))
        await send({"type": "http.response.start", "status": rule.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _discard(message: Message) -> None:
    """An ASGI ``send`` that throws the answer away."""


def decode_rules(body: bytes) -> list[FaultRule]:
    """Rules from a control-API body: one rule object or a list of them.

    Raises:
        msgspec.ValidationError: the body is not a rule or a list of rules.
    """
    raw = msgspec.json.decode(body)
    items = raw if isinstance(raw, list) else [raw]
    return [msgspec.convert(item, FaultRule) for item in items]
