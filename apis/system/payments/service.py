"""The payments system API's operations: payment intents, refunds, and Stripe webhook intake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx
import msgspec

from apis.canonical import (
    Page,
    PaymentIntent,
    PaymentIntentCancel,
    PaymentIntentConfirm,
    PaymentIntentCreate,
    Refund,
    RefundCreate,
    VendorEvent,
)
from apis.system.billing import mapping as bm
from apis.system.billing.connectors.stripe import StripeConfig, StripeConnector
from apis.system.billing.service import BillingService, checked_id
from apis.system.payments import mapping as m
from apis.system.payments.inbox import VendorEventInbox
from apis.system.payments.webhook import DEFAULT_TOLERANCE_SECONDS, WebhookSignatureInvalid, verify_signature
from core.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from apis.system.billing.settings import StripeSettings
    from apis.system.kit.link import ApiKey, VendorLink

STRIPE = "stripe"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _StripeEvent(msgspec.Struct, frozen=True):
    """What the inbox needs of a Stripe event (other members are kept in the raw payload)."""

    id: str
    type: str
    object: str = "event"


class PaymentsService:
    """Canonical payment operations over Stripe, plus the verified-event inbox."""

    def __init__(
        self,
        connector: StripeConnector,
        inbox: VendorEventInbox,
        webhook_secrets: tuple[str, ...],
        *,
        tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.connector = connector
        self.inbox = inbox
        self.webhook_secrets = webhook_secrets
        self.tolerance_seconds = tolerance_seconds
        self._client = client
        self._pages = BillingService(connector)  # shares its list paging
        self.on_event: Callable[[VendorEvent], Awaitable[None]] | None = None
        """Called with every verified event, a redelivery too, before the intake answers (the process
        layer's inbox installs it to start the event's workflow): the 2xx follows only once it
        returned, and an error from it is an error answer, which Stripe retries."""

    @property
    def vendor(self) -> str:
        """The vendor behind this API, as lineage and cross-references name it (``"stripe"``): what the
        process layer records instead of naming a vendor itself."""
        return self.connector.system

    async def aclose(self) -> None:
        """Close the HTTP client this service owns, if any."""
        if self._client is not None:
            await self._client.aclose()

    # -- payment intents ---------------------------------------------------------------------
    async def create_intent(self, body: PaymentIntentCreate, *, key: str) -> PaymentIntent:
        """A payment intent; with ``confirm`` it is charged at once (a decline is a 422 problem)."""
        amount, currency = bm.to_minor(body.amount, "/amount")
        if amount <= 0:
            raise InvalidInput(
                "amount must be positive",
                field_errors=[{"in": "body", "pointer": "/amount/amount", "detail": "must be greater than 0"}],
            )
        if body.confirm and not body.payment_method:
            raise InvalidInput(
                "confirm needs a payment method",
                field_errors=[{"in": "body", "pointer": "/payment_method", "detail": "required when confirm is true"}],
            )
        params = {
            "amount": amount,
            "currency": currency,
            "customer": body.customer_id,
            "payment_method": body.payment_method,
            "confirm": body.confirm or None,
            "description": body.description,
            "metadata": {bm.EXTERNAL_ID_KEY: body.external_id} if body.external_id else None,
            "payment_method_types": ["card"],
        }
        created = await self.connector.post(
            "/v1/payment_intents", params, idempotency_key=key, pointer=m.intent_pointer
        )
        return m.to_payment_intent(created)

    async def get_intent(self, intent_id: str) -> PaymentIntent:
        """One payment intent."""
        return m.to_payment_intent(
            await self.connector.get(f"/v1/payment_intents/{checked_id(intent_id, 'payment intent')}")
        )

    async def list_intents(
        self, *, customer_id: str | None = None, limit: int = 50, position: str | None = None
    ) -> Page[PaymentIntent]:
        """Payment intents, newest first."""
        data, next_position = await self._pages.list_page(
            "/v1/payment_intents", {"customer": customer_id}, limit, position
        )
        return Page(items=[m.to_payment_intent(x) for x in data], next_position=next_position)

    async def confirm_intent(self, intent_id: str, body: PaymentIntentConfirm, *, key: str) -> PaymentIntent:
        """Charge a payment intent (409 when it is not awaiting confirmation)."""
        path = f"/v1/payment_intents/{checked_id(intent_id, 'payment intent')}/confirm"
        params = {"payment_method": body.payment_method}
        return m.to_payment_intent(
            await self.connector.post(path, params, idempotency_key=key, pointer=m.intent_pointer)
        )

    async def cancel_intent(self, intent_id: str, body: PaymentIntentCancel, *, key: str) -> PaymentIntent:
        """Cancel a payment intent that has not succeeded (409 otherwise)."""
        path = f"/v1/payment_intents/{checked_id(intent_id, 'payment intent')}/cancel"
        return m.to_payment_intent(
            await self.connector.post(path, {"cancellation_reason": body.reason}, idempotency_key=key)
        )

    # -- refunds -----------------------------------------------------------------------------
    async def create_refund(self, body: RefundCreate, *, key: str) -> Refund:
        """Refund all or part of a succeeded payment (409 when there is nothing left to refund)."""
        amount = None
        if body.amount is not None:
            intent = await self.get_intent(body.payment_intent_id)
            if body.amount.currency != intent.amount.currency:
                raise InvalidInput(
                    "currency differs from the payment's",
                    field_errors=[
                        {
                            "in": "body",
                            "pointer": "/amount/currency",
                            "detail": f"the payment is in {intent.amount.currency}",
                        }
                    ],
                )
            amount, _ = bm.to_minor(body.amount, "/amount")
            if amount <= 0:
                raise InvalidInput(
                    "amount must be positive",
                    field_errors=[{"in": "body", "pointer": "/amount/amount", "detail": "must be greater than 0"}],
                )
        params = {"payment_intent": body.payment_intent_id, "amount": amount, "reason": body.reason}
        created = await self.connector.post("/v1/refunds", params, idempotency_key=key, pointer=m.refund_pointer)
        return m.to_refund(created)

    async def get_refund(self, refund_id: str) -> Refund:
        """One refund."""
        return m.to_refund(await self.connector.get(f"/v1/refunds/{checked_id(refund_id, 'refund')}"))

    async def list_refunds(
        self, *, payment_intent_id: str | None = None, limit: int = 50, position: str | None = None
    ) -> Page[Refund]:
        """Refunds, newest first."""
        data, next_position = await self._pages.list_page(
            "/v1/refunds", {"payment_intent": payment_intent_id}, limit, position
        )
        return Page(items=[m.to_refund(x) for x in data], next_position=next_position)

    # -- webhooks ------------------------------------------------------------------------------
    async def receive_stripe_event(self, payload: bytes, signature: str | None) -> tuple[str, bool]:
        """Verify a Stripe delivery and keep it; returns ``(event id, stored)``.

        ``stored`` is False for a redelivery of an event already in the inbox (answer 2xx anyway).

        Raises:
            WebhookSignatureInvalid: bad or missing signature, or a stale timestamp (400).
        """
        verify_signature(payload, signature, self.webhook_secrets, tolerance_seconds=self.tolerance_seconds)
        try:
            event = msgspec.json.decode(payload, type=_StripeEvent)
        except (msgspec.DecodeError, msgspec.ValidationError):
            # Signed by Stripe but not an event we can read: refusing makes Stripe retry, which cannot help.
            raise WebhookSignatureInvalid("the signed payload is not a Stripe event") from None
        stored = await self.inbox.store(STRIPE, event.id, event.type, payload)
        if self.on_event is not None:
            received = VendorEvent(id=event.id, vendor=STRIPE, type=event.type, received_at=_now(), payload=payload)
            await self.on_event(received)
        return event.id, stored

    async def unprocessed_events(self, *, limit: int = 100) -> list[VendorEvent]:
        """Verified Stripe events no consumer has processed yet, oldest first (issue 5 reads these)."""
        return await self.inbox.unprocessed(vendor=STRIPE, limit=limit)

    async def mark_events_processed(self, event_ids: list[str]) -> int:
        """Mark Stripe events handled (by the consumer of :meth:`unprocessed_events`); returns how many changed."""
        return await self.inbox.mark_processed(STRIPE, event_ids)


def build_payments_service(
    link: VendorLink[ApiKey], settings: StripeSettings, engine: AsyncEngine, *, config: StripeConfig | None = None
) -> PaymentsService:
    """The payments service over the Stripe account ``link`` reaches; the event inbox in ``engine``.

    Args:
        link: client, base URL, secret key and breaker, from the composition root.
        settings: Stripe's settings (the webhook signing secrets in force).
        engine: the state database holding the inbox of verified Stripe events.
        config: connector timeouts and retries (defaults: :class:`StripeConfig`).
    """
    connector = StripeConnector(
        link.client, link.base_url, link.credentials.key, config=config or StripeConfig(), breaker=link.breaker
    )
    return PaymentsService(connector, VendorEventInbox(engine), settings.webhook_secrets, client=link.client)
