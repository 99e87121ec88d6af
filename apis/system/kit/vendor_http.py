"""What every vendor connector does the same way: deadlines, retries, backoff, the breaker.

A connector speaks its vendor's dialect (auth handshake, error bodies, pagination); this
module holds the part that does not depend on the vendor, so it is written once:

- :class:`RetryPolicy` — named timeout and retry settings, one per connector config;
- :func:`exchange` — one HTTP exchange under a hard deadline (``asyncio.timeout`` as well as
  httpx's, because in-process ASGI transports ignore httpx timeouts), with transport
  failures mapped onto the error tree (:class:`~core.errors.UpstreamTimeout` → 504,
  :class:`~core.errors.UpstreamUnavailable` → 503);
- :func:`call_with_retries` — runs an attempt through the vendor's circuit breaker and
  retries :class:`~core.errors.RetryableError` (tenacity's loop, :func:`core.backoff.backoff_delay`'s
  formula with full jitter), never sooner than the vendor's ``Retry-After``, and only when the
  caller says the call is safe to repeat (a read, an upsert by external id, or a write carrying
  an idempotency key). A ``Retry-After`` longer than ``backoff_max_seconds`` is not slept
  through: the error is raised with its ``retry_after`` so a durable workflow can schedule the
  retry instead of holding a request open;
- :func:`parse_retry_after` — delta-seconds or an HTTP date;
- :func:`upstream_transient` — the retryable error of a throttled (429) or failing (5xx) answer,
  which every vendor maps the same way.
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
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitOpen
from core.backoff import backoff_delay
from core.errors import RetryableError, StrataError, UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable

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


def _worth_retrying(error: BaseException, policy: RetryPolicy) -> bool:
    """A retryable error whose ``Retry-After`` (if any) this policy waits for; never an open circuit."""
    if not isinstance(error, RetryableError) or isinstance(error, CircuitOpen):
        return False
    return error.retry_after is None or error.retry_after <= policy.backoff_max_seconds


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

    async def guarded() -> T:
        if breaker is None:
            return await attempt()
        breaker.before_call()
        try:
            result = await attempt()
        except StrataError as error:
            breaker.record(error)
            raise
        except BaseException:
            breaker.abandon()
            raise
        breaker.record(None)
        return result

    def pause(retry: int, error: BaseException | None) -> float:
        return backoff_delay(
            retry,
            base=policy.backoff_base_seconds,
            cap=policy.backoff_max_seconds,
            jitter="full",
            retry_after=getattr(error, "retry_after", None),
            rng=rng,
        )

    # The first attempt runs outside tenacity: most calls succeed at once, and tenacity's
    # bookkeeping costs ~30 µs a call (bench/retry_loop.py) — more than the rest of the kit.
    try:
        return await guarded()
    except BaseException as error:
        if not idempotent or policy.max_retries == 0 or not _worth_retrying(error, policy):
            raise
        await asyncio.sleep(pause(0, error))
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_retries),
        retry=retry_if_exception(lambda error: _worth_retrying(error, policy)),
        # attempt_number counts tenacity's attempts; one retry came before its first
        wait=lambda state: pause(state.attempt_number, state.outcome.exception() if state.outcome else None),
        sleep=asyncio.sleep,
        reraise=True,
    )
    return await retrying(guarded)


def upstream_transient(
    display: str,
    status: int,
    message: str,
    vendor_code: str | None,
    retry_after_header: str | None,
    *,
    throttled: bool | None = None,
) -> RetryableError | None:
    """The retryable error of a throttled or failing answer, or None for any other answer.

    Args:
        display: the vendor's name in the detail (``"NetSuite"``).
        status: the HTTP status.
        message: the vendor's own message.
        vendor_code: the vendor's error code, if it sent one.
        retry_after_header: the ``Retry-After`` header; both errors carry it as ``retry_after``.
        throttled: whether the vendor throttled us (default: ``status == 429``; Salesforce also
            throttles with 403 ``REQUEST_LIMIT_EXCEEDED``).
    """
    retry_after = parse_retry_after(retry_after_header)
    if status == 429 if throttled is None else throttled:
        return UpstreamRateLimited(
            f"{display} throttled the call: {message}", retry_after=retry_after, vendor_code=vendor_code
        )
    if status >= 500:
        unavailable = UpstreamUnavailable(f"{display} answered {status}: {message}", vendor_code=vendor_code)
        unavailable.retry_after = retry_after
        return unavailable
    return None


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
