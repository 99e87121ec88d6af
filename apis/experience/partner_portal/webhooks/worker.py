"""Partner webhook attempts: workflows on one engine queue, partitioned by partner.

Each attempt of a delivery is a workflow (:func:`attempt_delivery`) on the engine queue
``partner-webhooks`` (:mod:`apis.process.queues`), with the partner as partition key: at most
``partner_webhook_concurrency_per_partner`` attempts of one partner run at once and at most
``partner_webhook_rate_per_partner`` start per second, counted by the engine across every
process, so a partner whose endpoint is slow or dead holds only its own slots and never another
partner's deliveries. Whichever process polls the queue first runs an attempt.

An attempt signs and POSTs the event (one checkpointed step, which also records it). A 2xx
answer is delivered; anything else — another status, a timeout, a refused connection — is a
failed attempt, and the next attempt is enqueued with a delay of
``partner_webhook_backoff_base_ms · 2^(attempts-1)`` (capped at ``partner_webhook_backoff_max_ms``):
the engine holds it ``DELAYED`` (durably, without a slot) until it is due, then runs it. After
``partner_webhook_max_attempts`` the delivery is ``dead``. Which workflow may attempt a delivery
is recorded on the delivery itself (:mod:`apis.experience.partner_portal.webhooks.deliveries`).

Redirects are not followed (a receiver must answer at the URL it registered), the receiver's
body is never read, and every attempt goes through the outbound destination policy
(:mod:`core.destinations`): the URL's host is resolved, refused if any address is not
public, and the request is sent to the address that was checked — a refusal is a failed
attempt like any other, recorded with the rule (never the address).

A background job of every process with the engine (:func:`partner_webhook_queue`) registers the
queue and sweeps, every :data:`SWEEP_SECONDS`, for due deliveries whose attempt workflow is
missing or ended without recording (queued before this release, or redelivered through a process
without the engine): each is handed to a fresh attempt workflow.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx
import msgspec
import structlog

from apis.experience.partner_portal.webhooks.deliveries import (
    Attempt,
    DeliveryQueue,
    Finished,
    Owned,
    new_owner,
)
from apis.experience.partner_portal.webhooks.signing import SecretBox, signature_header
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from apis.process.engine import current_workflow_id, step, workflow
from apis.process.queues import QueueConfig, WorkQueue, workflow_status
from apis.process.runtime import runtime
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
QUEUE_NAME = "partner-webhooks"
WORKER_CONCURRENCY = 32
"""Attempts one process runs at once (over every partner)."""
SWEEP_SECONDS = 30.0
"""How often each process looks for due deliveries without a live attempt workflow."""
_FINISHED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


class WorkerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pacing and patience of partner webhook deliveries."""

    max_attempts: int = 6
    """Attempts before a delivery is dead."""
    backoff_base_ms: int = 60_000
    """Pause after the first failed attempt; doubles per attempt."""
    backoff_max_ms: int = 3_600_000
    """Longest pause between attempts."""
    timeout_seconds: float = 5.0
    """How long the receiver may take to answer."""
    concurrency_per_partner: int = 4
    """Attempts of one partner in flight at once, across every process."""
    rate_per_partner: int = 20
    """Attempts of one partner started per second, across every process."""
    allow_loopback: bool = False
    """Deliver to loopback addresses too (the ``allow_loopback_destinations`` setting)."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.timeout_seconds <= 0:
            raise ValueError("max_attempts and timeout_seconds must be positive")
        if self.concurrency_per_partner < 1 or self.rate_per_partner < 1:
            raise ValueError("concurrency_per_partner and rate_per_partner must be at least 1")

    @property
    def lease_seconds(self) -> float:
        """How long an attempt counts as in flight: past its timeout, with room for recording it."""
        return self.timeout_seconds + 30.0

    @property
    def queue(self) -> WorkQueue:
        """The engine queue of the attempts, with these limits."""
        return WorkQueue(
            QueueConfig(
                name=QUEUE_NAME,
                partitioned=True,
                partition_concurrency=self.concurrency_per_partner,
                partition_rate=self.rate_per_partner,
                worker_concurrency=max(WORKER_CONCURRENCY, self.concurrency_per_partner),
            )
        )

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> WorkerConfig:
        """The configuration of these settings."""
        return cls(
            max_attempts=settings.partner_webhook_max_attempts,
            backoff_base_ms=settings.partner_webhook_backoff_base_ms,
            backoff_max_ms=settings.partner_webhook_backoff_max_ms,
            timeout_seconds=float(settings.partner_webhook_timeout_seconds),
            concurrency_per_partner=settings.partner_webhook_concurrency_per_partner,
            rate_per_partner=settings.partner_webhook_rate_per_partner,
            allow_loopback=settings.allow_loopback_destinations,
        )


class WebhookWorker:
    """Sends one attempt of a delivery and records what happened."""

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

    async def attempt(self, delivery_id: str, owner: str) -> Finished | None:
        """The attempt of workflow ``owner``: sign, POST, record; what became of the delivery
        (``None``: ``owner`` no longer owns it, or its subscription is gone; nothing was sent)."""
        claimed = await self._queue.begin(delivery_id, owner, self.config.lease_seconds)
        if claimed is None:
            return None
        target = await self._subscriptions.signing_target(claimed.subscription_id)
        if target is None:
            return None  # the subscription was deleted (its deliveries with it) just now
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
        finished = await self._queue.finish(
            claimed,
            attempt,
            max_attempts=self.config.max_attempts,
            backoff_base_ms=self.config.backoff_base_ms,
            backoff_max_ms=self.config.backoff_max_ms,
        )
        if finished is not None and finished.status == "dead":
            logger.warning(
                "partner webhook delivery dead", delivery_id=claimed.id, event_id=claimed.event_id, error=error
            )
        return finished

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


# ------------------------------------------------------------------------------- on the engine

_worker: tuple[ProcessRuntime, WebhookWorker, httpx.AsyncClient] | None = None


def _worker_of(process: ProcessRuntime) -> WebhookWorker:
    """This process's sender (made at first use: recovered attempts may run before the job starts)."""
    global _worker
    if _worker is None or _worker[0] is not process:
        config = WorkerConfig.from_settings(process.settings)
        http = outbound_client(httpx.Timeout(config.timeout_seconds))
        box = SecretBox(resolve_master_key(process.settings))
        worker = WebhookWorker(DeliveryQueue(process.database), SubscriptionStore(process.database, box), http, config)
        _worker = (process, worker, http)
    return _worker[1]


async def _attempt_step(delivery_id: str, owner: str) -> Finished | None:
    return await _worker_of(runtime()).attempt(delivery_id, owner)


@workflow("partner-webhook-attempt")
async def attempt_delivery(delivery_id: str, partner_id: str) -> str | None:
    """One attempt of a delivery (this workflow's id owns it); enqueues the next after a failure.
    Returns the delivery's status after it (``None``: not this workflow's to attempt any more)."""
    process = runtime()
    finished = await step("attempt", _attempt_step, delivery_id, current_workflow_id(), retry=process.step_retry)
    if finished is None:
        return None
    if finished.next_owner is not None:
        await WorkerConfig.from_settings(process.settings).queue.enqueue(
            attempt_delivery,
            delivery_id,
            partner_id,
            workflow_id=finished.next_owner,
            partition_key=partner_id,
            delay_seconds=finished.retry_in,
        )
    return finished.status


async def enqueue_attempt(settings: CoreSettings, owned: Owned) -> None:
    """Put the attempt of ``owned.owner`` on the queue, due at ``owned.due_at`` (idempotent by its id)."""
    if owned.owner is None:
        raise ValueError("a delivery without an owner is handed over first (see sweep)")
    await WorkerConfig.from_settings(settings).queue.enqueue(
        attempt_delivery,
        owned.id,
        owned.partner_id,
        workflow_id=owned.owner,
        partition_key=owned.partner_id,
        delay_seconds=owned.due_at - time.time(),
    )


async def enqueue_redelivery(delivery_id: str, partner_id: str, owner: str) -> bool:
    """Enqueue a redelivery's attempt now if this process runs the engine (else the sweep of a
    process that does picks it up); whether it was enqueued here."""
    try:
        process = runtime()
    except RuntimeError:
        return False
    await enqueue_attempt(process.settings, Owned(id=delivery_id, owner=owner, partner_id=partner_id, due_at=0.0))
    return True


async def sweep(process: ProcessRuntime, *, older_than: float) -> int:
    """Hand each delivery due since before ``older_than`` whose attempt workflow is missing or over
    to a fresh attempt workflow, and enqueue it; how many were handed over."""
    queue = DeliveryQueue(process.database)
    handed = 0
    for owned in await queue.stranded(older_than=older_than):
        if owned.owner is not None and await workflow_status(owned.owner) not in (None, *_FINISHED):
            continue  # waiting in the queue (delayed, enqueued) or running
        owner = new_owner(owned.id)
        if await queue.hand_over(owned.id, owned.owner, owner):
            await enqueue_attempt(
                process.settings, Owned(id=owned.id, owner=owner, partner_id=owned.partner_id, due_at=0.0)
            )
            handed += 1
    if handed:
        logger.warning("partner webhook deliveries without an attempt workflow were enqueued", count=handed)
    return handed


async def partner_webhook_queue(process: ProcessRuntime) -> None:
    """Background job: register the queue (this process's limits), then sweep every :data:`SWEEP_SECONDS`."""
    global _worker
    try:
        while True:
            try:
                await WorkerConfig.from_settings(process.settings).queue.register()
                break
            except Exception:  # the database is away at start: attempts wait in the queue meanwhile
                logger.exception("partner webhook queue not registered; trying again")
                await asyncio.sleep(1.0)
        while True:
            try:
                await sweep(process, older_than=time.time() - SWEEP_SECONDS)
            except Exception:
                logger.exception("partner webhook sweep failed")
            await asyncio.sleep(SWEEP_SECONDS)
    finally:
        if _worker is not None and _worker[0] is process:
            await _worker[2].aclose()
            _worker = None
