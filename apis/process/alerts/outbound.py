"""One POST of an alert channel, through the outbound destination policy, and what its failure means.

Every HTTP channel (the generic webhook, the Slack-compatible one) sends here: the host is resolved
and refused if an address is not public (loopback only with ``allow_loopback_destinations``), and
the request is pinned to the checked address (:mod:`core.destinations`). The outbox relay
(:class:`~apis.process.events.OutboxRelay`) decides from the exception what to do with the event:

* the receiver is out of reach (connection refused or cut, time-out) or answers 5xx / 408 / 429:
  :class:`AlertChannelUnreachable` (a :class:`~core.errors.RetryableError`, an *outage*): the event
  is held and tried again, however long the receiver is down, so no alert is lost;
* any other answer (4xx: a wrong or revoked URL): :class:`AlertChannelRefused`, retried a few times
  then dead-lettered with the error.

Errors never name the URL (an incoming-webhook URL carries its credential in its path).
"""

from __future__ import annotations

import httpx

from core.destinations import DestinationGuard
from core.errors import RetryableError

TIMEOUT = httpx.Timeout(10.0)
RETRYABLE_STATUSES = frozenset({408, 425, 429})


class AlertChannelRefused(Exception):
    """The channel answered but did not take the event (the relay retries, then dead-letters it)."""


class AlertChannelUnreachable(RetryableError):
    """The channel is out of reach or overloaded for now (the relay holds the event until it is back)."""


async def post(
    guard: DestinationGuard, http: httpx.AsyncClient, url: str, *, channel: str, headers: dict[str, str], body: bytes
) -> None:
    """POST ``body`` to ``url``; returns when a 2xx came back (the receiver's body is never read)."""
    try:
        async with guard.stream(http, "POST", url, headers=headers, content=body) as answer:
            status = answer.status_code
    except httpx.HTTPError as exc:
        raise AlertChannelUnreachable(f"{type(exc).__name__}: could not deliver to the {channel}") from None
    if 200 <= status < 300:
        return
    if status >= 500 or status in RETRYABLE_STATUSES:
        raise AlertChannelUnreachable(f"the {channel} answered HTTP {status}")
    raise AlertChannelRefused(f"the {channel} answered HTTP {status}")
