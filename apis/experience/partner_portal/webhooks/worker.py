"""The delivery worker: POSTs due partner webhook deliveries, signed, and schedules retries.

A background job of every process with the engine (:func:`deliver_partner_webhooks`). Each
round claims a batch of due deliveries (:meth:`DeliveryQueue.claim`; several processes take
disjoint batches), sends them concurrently and records each attempt. A 2xx answer is
delivered; anything else — another status, a timeout, a refused connection — is a failed
attempt, retried after ``partner_webhook_backoff_base_ms · 2^(attempts-1)`` (capped at
``partner_webhook_backoff_max_ms``) until ``partner_webhook_max_attempts``, then ``dead``.
Redirects are not followed (a receiver must answer at the URL it registered), the receiver's
body is never read, and every attempt goes through the outbound destination policy
(:mod:`core.destinations`): the URL's host is resolved, refused if any address is not
public, and the request is sent to the address that was checked — a refusal is a failed
attempt like any other, recorded with the rule (never the address).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx
import msgspec
import structlog

from apis.experience.partner_portal.webhooks.deliveries import Attempt, Claimed, DeliveryQueue
from apis.experience.partner_portal.webhooks.signing import SecretBox, signature_header
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from core.destinations import (
    DestinationGuard,
    DestinationPolicy,
    DestinationRefused,
    DestinationUnresolved,
    Resolver,
    outbound_client,
    system_resolver,
)
from core.master_key import resolve_master_key

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime
    from core.settings import CoreSettings

logger = structlog.get_logger("strata.partner_webhooks")
USER_AGENT = "Strata-Webhooks/1"


class WorkerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pacing and patience of the delivery worker."""

    max_attempts: int = 6
    """Attempts before a delivery is dead."""
    backoff_base_ms: int = 60_000
    """Pause after the first failed attempt; doubles per attempt."""
    backoff_max_ms: int = 3_600_000
    """Longest pause between attempts."""
    timeout_seconds: float = 5.0
    """How long the receiver may take to answer."""
    poll_seconds: float = 0.5
    """Longest pause between rounds (shorter when a retry falls due sooner)."""
    batch_size: int = 20
    """Deliveries claimed and sent concurrently per round."""
    allow_loopback: bool = False
    """Deliver to loopback addresses too (the ``allow_loopback_destinations`` setting)."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.batch_size < 1 or self.timeout_seconds <= 0 or self.poll_seconds <= 0:
            raise ValueError("max_attempts, batch_size, timeout_seconds and poll_seconds must be positive")

    @property
    def lease_seconds(self) -> float:
        """How long a claim holds: past the attempt's timeout, with room for recording it."""
        return self.timeout_seconds + 30.0

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> WorkerConfig:
        """The worker configuration of these settings."""
        return cls(
            max_attempts=settings.partner_webhook_max_attempts,
            backoff_base_ms=settings.partner_webhook_backoff_base_ms,
            backoff_max_ms=settings.partner_webhook_backoff_max_ms,
            timeout_seconds=float(settings.partner_webhook_timeout_seconds),
            allow_loopback=settings.allow_loopback_destinations,
        )


class WebhookWorker:
    """Sends claimed deliveries and records what happened."""

    def __init__(
        self,
        queue: DeliveryQueue,
        subscriptions: SubscriptionStore,
        http: httpx.AsyncClient,
        config: WorkerConfig,
        resolve: Resolver = system_resolver,
    ) -> None:
        self._queue = queue
        self._subscriptions = subscriptions
        self._http = http
        self.config = config
        self._guard = DestinationGuard(
            DestinationPolicy(allow_loopback=config.allow_loopback), resolve, config.timeout_seconds
        )

    async def run_once(self) -> int:
        """One batch: claim, send, record; how many deliveries were attempted."""
        claimed = await self._queue.claim(self.config.batch_size, self.config.lease_seconds)
        await asyncio.gather(*(self._attempt(item) for item in claimed))
        return len(claimed)

    async def run(self) -> None:
        """Deliver until cancelled, up to ``batch_size`` attempts in flight at once.

        A slow endpoint holds one slot for up to the timeout, not the whole worker: a slot is
        refilled as soon as its attempt is recorded. A failing round (the database is away) is
        logged and tried again after a pause.
        """
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                room = self.config.batch_size - len(in_flight)
                due: float | None = None
                try:
                    claimed = await self._queue.claim(room, self.config.lease_seconds) if room > 0 else []
                    if len(claimed) < room:  # nothing else is due now: when is the next one?
                        due = await self._queue.next_due_at()
                except Exception:
                    logger.exception("partner webhook round failed")
                    claimed = []
                for item in claimed:
                    task = asyncio.create_task(self._attempt(item))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                # Full: wait for a slot. Otherwise until the next delivery falls due (or a poll,
                # for deliveries other processes queue), or an attempt ends (its retry may be due).
                pause = self.config.poll_seconds if due is None else min(self.config.poll_seconds, due - time.time())
                pause = max(0.005, pause)
                if in_flight:
                    await asyncio.wait(set(in_flight), timeout=pause, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.sleep(pause)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _attempt(self, claimed: Claimed) -> None:
        try:
            await self._send(claimed)
        except Exception:  # the claim expires and another round tries again
            logger.exception("partner webhook attempt not recorded", delivery_id=claimed.id)

    async def _send(self, claimed: Claimed) -> None:
        target = await self._subscriptions.signing_target(claimed.subscription_id)
        if target is None:
            return  # the subscription was deleted (its deliveries with it) after the claim
        started = time.time()
        timestamp = int(started)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": claimed.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(claimed.event_id, timestamp, claimed.payload, target.secrets),
        }
        status_code, error = await self._post(target.url, headers, claimed.payload)
        attempt = Attempt(
            at=started, status_code=status_code, error=error, duration_ms=int((time.time() - started) * 1000)
        )
        status = await self._queue.finish(
            claimed,
            attempt,
            max_attempts=self.config.max_attempts,
            backoff_base_ms=self.config.backoff_base_ms,
            backoff_max_ms=self.config.backoff_max_ms,
        )
        if status == "dead":
            logger.warning(
                "partner webhook delivery dead",
                delivery_id=claimed.id,
                event_id=claimed.event_id,
                error=error,
            )

    async def _post(self, url: str, headers: dict[str, str], payload: bytes) -> tuple[int | None, str | None]:
        """POST to ``url`` through the destination policy: the status code and the error, if any."""
        try:
            async with self._guard.stream(self._http, "POST", url, headers=headers, content=payload) as response:
                status_code = response.status_code  # the receiver's body is never read
        except DestinationUnresolved:
            return None, "not sent: the URL's host does not resolve"
        except DestinationRefused as refused:
            return None, f"not sent: {refused}"
        except httpx.TimeoutException:
            return None, f"no answer within {self.config.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: could not deliver to the endpoint"
        if not 200 <= status_code < 300:
            return status_code, f"the endpoint answered HTTP {status_code}"
        return status_code, None


async def deliver_partner_webhooks(process: ProcessRuntime) -> None:
    """Background job: deliver partner webhooks until cancelled."""
    config = WorkerConfig.from_settings(process.settings)
    box = SecretBox(resolve_master_key(process.settings))
    async with outbound_client(httpx.Timeout(config.timeout_seconds)) as http:
        worker = WebhookWorker(DeliveryQueue(process.database), SubscriptionStore(process.database, box), http, config)
        await worker.run()
