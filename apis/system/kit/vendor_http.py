"""What every vendor connector does the same way: deadlines, retries, backoff, the breaker.

A connector speaks its vendor's dialect (auth handshake, error bodies, pagination); this
module holds the part that does not depend on the vendor, so it is written once:

- :class:`RetryPolicy` — named timeout and retry settings, one per connector config;
- :func:`exchange` — one HTTP exchange under a hard deadline (``asyncio.timeout`` as well as
  httpx's, because in-process ASGI transports ignore httpx timeouts), with transport
  failures mapped onto the error tree (:class:`~core.errors.UpstreamTimeout` → 504,
  :class:`~core.errors.UpstreamUnavailable` → 503);
- :func:`call_with_retries` — runs an attempt through the vendor's circuit breaker and
  retries :class:`~core.errors.RetryableError` with exponential backoff and full jitter,
  never sooner than the vendor's ``Retry-After``, and only when the caller says the call is
  safe to repeat (a read, an upsert by external id, or a write carrying an idempotency key).
  A ``Retry-After`` longer than ``backoff_max_seconds`` is not slept through: the error is
  raised with its ``retry_after`` so a durable workflow can schedule the retry instead of
  holding a request open;
- :func:`parse_retry_after` — delta-seconds or an HTTP date.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import msgspec

from apis.system.kit.circuit_breaker import CircuitBreaker
from core.errors import RetryableError, StrataError, UpstreamTimeout, UpstreamUnavailable

T = TypeVar("T")


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Deadline and retry settings of one connector."""

    timeout_seconds: float = 10.0
    """Deadline of one HTTP exchange, connect to last byte."""
    max_retries: int = 3
    """Retries after the first attempt, for calls that are safe to repeat only."""
    backoff_base_seconds: float = 0.5
    """First backoff step; doubles per retry, with full jitter."""
    backoff_max_seconds: float = 30.0
    """Ceiling of one backoff; a longer ``Retry-After`` is raised instead of waited for."""

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0 or self.backoff_base_seconds < 0 or self.max_retries < 0:
            raise ValueError("timeout_seconds must be positive; backoff and retries not negative")
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("backoff_max_seconds must be at least backoff_base_seconds")


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value: delta-seconds (fractions tolerated) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def backoff_delay(policy: RetryPolicy, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
    """Full-jitter exponential backoff for retry ``attempt`` (0-based), never shorter than
    ``retry_after``; None when the vendor asks for a longer pause than the policy waits."""
    ceiling = min(policy.backoff_max_seconds, policy.backoff_base_seconds * 2**attempt)
    delay = rng.uniform(0, ceiling)
    if retry_after is not None:
        if retry_after > policy.backoff_max_seconds:
            return None
        delay = max(delay, retry_after)
    return delay


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    idempotent: bool,
    breaker: CircuitBreaker | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run ``attempt`` through ``breaker``, retrying retryable errors when ``idempotent``.

    Raises:
        CircuitOpen: the vendor's circuit is open (no call was made).
        StrataError: the last attempt's error, or the first permanent one.
    """
    rng = rng or _RNG
    tries = 0
    while True:
        if breaker is not None:
            breaker.before_call()
        try:
            result = await attempt()
        except StrataError as error:
            if breaker is not None:
                breaker.record(error)
            if not isinstance(error, RetryableError) or not idempotent or tries >= policy.max_retries:
                raise
            delay = backoff_delay(policy, tries, error.retry_after, rng)
            if delay is None:
                raise
            tries += 1
            await asyncio.sleep(delay)
        except BaseException:
            if breaker is not None:
                breaker.abandon()
            raise
        else:
            if breaker is not None:
                breaker.record(None)
            return result


async def exchange(
    client: httpx.AsyncClient, method: str, url: str, *, vendor: str, timeout_seconds: float, **kwargs: Any
) -> httpx.Response:
    """One HTTP exchange under a hard deadline, transport failures mapped to the error tree.

    ``vendor`` is the display name used in the error detail (e.g. ``"NetSuite"``).
    """
    try:
        async with asyncio.timeout(timeout_seconds):
            return await client.request(method, url, timeout=timeout_seconds, **kwargs)
    except (TimeoutError, httpx.TimeoutException):
        raise UpstreamTimeout(f"{vendor} did not answer within {timeout_seconds}s") from None
    except httpx.TransportError as error:
        raise UpstreamUnavailable(f"{vendor} unreachable: {type(error).__name__}") from None
    except ConnectionError:
        # An in-process (ASGI) transport passes a dropped connection through as the app raised it.
        raise UpstreamUnavailable(f"{vendor} dropped the connection") from None


_RNG = random.Random()
