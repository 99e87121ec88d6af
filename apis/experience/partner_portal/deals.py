"""Deal registration: a partner claims a company (by web domain) with a CRM opportunity of its own.

Rules, in order:

1. The body is checked field by field (422 naming the field): the contract's shapes first (the
   request-contract policy), then what a schema cannot say — an amount above zero, a close date
   from today (UTC) to :data:`MAX_CLOSE_YEARS` years ahead.
2. Registrations for one domain are serialised across every gateway process by a short lease in
   the shared idempotency store (:func:`domain_lock`; the state database or Redis, the same
   atomic claim that guards Idempotency-Key). A second registration for the domain waits up to
   :data:`LOCK_WAIT_SECONDS`, then answers 409 ``deal-registration-in-progress``. Without it two
   partners (or two tabs of one) could both find "no open deal" and both register.
3. Under the lease, the company's CRM accounts (exact domain) and their open opportunities are
   read. An open deal of the caller's → 409 ``deal-already-registered`` with ``existing_deal_id``;
   any other open deal (another partner's, or a direct one: sales already works it) → 409
   ``company-already-registered``, naming neither the deal nor whose it is.
4. Otherwise the deal is written: the company's account (one attributed to the caller when there
   are several, else the oldest) or a new one attributed to the caller, the opportunity
   (prospecting, attributed), and the contact if one was given. Every write is an upsert by an
   external id derived from (partner, client, Idempotency-Key): a retry after a lost answer or a
   crash writes nothing twice.

An existing account keeps its attribution: a partner's deal on a direct (or another partner's)
customer does not make that customer the partner's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec
import structlog

from apis.canonical import ContactUpsert, Customer, CustomerUpsert, Money, Opportunity, OpportunityCreate
from apis.system.crm.service import CrmService
from core.errors import Conflict, InvalidInput, RetryableError
from core.idempotency_store import Claim, IdempotencyStore

logger = structlog.get_logger(__name__)

MAX_CLOSE_YEARS = 5
LOCK_CLIENT = "partner-portal:deal-registration"
"""The lease's "client" in the idempotency store (no OAuth client id has this shape)."""
LOCK_ROUTE = "partner-portal registerPartnerDeal domain lease"
LOCK_LEASE_SECONDS = 30
"""How long a lease holds if its process dies mid-registration (then the domain is free again)."""
LOCK_WAIT_SECONDS = 2.0
"""How long a registration waits for another one of the same domain to finish."""
LOCK_POLL_SECONDS = 0.05
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class DealContact(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The person at the company the partner works with."""

    last_name: str
    email: str
    first_name: str | None = None
    phone: str | None = None
    title: str | None = None


class DealAmount(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Expected deal value."""

    amount: str
    currency: str


class DealRegistration(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /deals``."""

    company_name: str
    company_domain: str
    amount: DealAmount
    close_date: dt.date
    contact: DealContact | None = None
    product: str | None = None
    notes: str | None = None


class Registered(NamedTuple):
    """A registered deal and whether its customer is the partner's."""

    deal: Opportunity
    customer: Customer


class DealAlreadyRegistered(Conflict):
    """The caller's own open deal exists for the company."""

    problem = "deal-already-registered"
    title = "Deal already registered"

    def __init__(self, domain: str, deal_id: str) -> None:
        super().__init__(f"You have an open deal for {domain} already: {deal_id}")
        self.deal_id = deal_id


class CompanyAlreadyRegistered(Conflict):
    """Someone else's open deal exists for the company (whose, is not said)."""

    problem = "company-already-registered"
    title = "Company already registered"

    def __init__(self, domain: str) -> None:
        super().__init__(f"{domain} is already registered; a deal for it cannot be registered now")


class RegistrationInProgress(Conflict):
    """Another registration for the same domain holds the lease."""

    problem = "deal-registration-in-progress"
    title = "Deal registration in progress"

    def __init__(self, domain: str) -> None:
        super().__init__(f"Another registration for {domain} is being made; retry shortly")


class LeaseUnavailable(RetryableError):
    """The store holding the domain leases cannot be reached: nothing was written, retry."""

    status = 503
    problem = "deal-registration-unavailable"
    title = "Deal registration unavailable"
    retry_after = 1.0


def normalised_domain(domain: str) -> str:
    """``WWW.Fabrikam.COM`` → ``fabrikam.com`` (the form the CRM mapping gives ``Customer.domain``)."""
    return domain.strip().lower().removeprefix("www.")


def check(body: DealRegistration, today: dt.date) -> None:
    """What the contract cannot say about a registration (422 naming the field)."""
    errors = []
    if Decimal(body.amount.amount) <= 0:
        errors.append({"in": "body", "pointer": "/amount/amount", "detail": "must be more than zero"})
    try:
        latest = today.replace(year=today.year + MAX_CLOSE_YEARS)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + MAX_CLOSE_YEARS, day=28)
    if not today <= body.close_date <= latest:
        detail = f"must be from {today.isoformat()} to {latest.isoformat()}"
        errors.append({"in": "body", "pointer": "/close_date", "detail": detail})
    if len(normalised_domain(body.company_domain).split(".")) < 2:
        errors.append({"in": "body", "pointer": "/company_domain", "detail": "must be a domain under a TLD"})
    if errors:
        fields = ", ".join(e["pointer"] for e in errors)
        raise InvalidInput(f"Deal registration is not valid: {fields}", field_errors=errors)


def derived_id(prefix: str, *parts: str) -> str:
    """A canonical-looking id (``cus_`` + 26 Crockford characters) that is the same for the same parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    number = int.from_bytes(digest[:17], "big")
    chars = []
    for _ in range(26):
        number, rest = divmod(number, 32)
        chars.append(_CROCKFORD[rest])
    return prefix + "".join(chars)


@asynccontextmanager
async def domain_lock(store: IdempotencyStore, domain: str) -> AsyncIterator[None]:
    """Hold the registration lease of ``domain`` (see the module docstring), waiting briefly for it.

    Raises:
        RegistrationInProgress: another registration kept it for :data:`LOCK_WAIT_SECONDS`.
        LeaseUnavailable: the store failed (503; a registration never runs unguarded).
    """
    wanted = Claim(LOCK_CLIENT, domain, secrets.token_hex(16), "domain-lease")
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        now = time.time()
        try:
            result = await store.claim(wanted, LOCK_ROUTE, now, now + LOCK_LEASE_SECONDS)
        except Exception as error:  # any store failure: refuse rather than register unguarded
            raise LeaseUnavailable(f"Deal registration is unavailable ({type(error).__name__}); retry") from None
        if result.claim is not None:
            break
        if time.monotonic() >= deadline:
            raise RegistrationInProgress(domain)
        await asyncio.sleep(LOCK_POLL_SECONDS)
    try:
        yield
    finally:
        try:
            await store.release(result.claim)
        except Exception as error:  # the registration is done; the lease runs out by itself
            logger.warning("deal registration lease not released (%s); it expires on its own", type(error).__name__)


def _description(body: DealRegistration) -> str | None:
    parts = [f"Product: {body.product}"] if body.product else []
    if body.notes:
        parts.append(body.notes)
    return "\n\n".join(parts) or None


async def register(
    crm: CrmService, store: IdempotencyStore, body: DealRegistration, *, partner_id: str, seed: tuple[str, ...]
) -> Registered:
    """Register ``body`` for ``partner_id`` (see the module docstring); ``seed`` derives the external ids.

    Raises:
        InvalidInput: a field is wrong (422).
        DealAlreadyRegistered, CompanyAlreadyRegistered, RegistrationInProgress: 409.
    """
    check(body, dt.datetime.now(dt.UTC).date())
    domain = normalised_domain(body.company_domain)
    async with domain_lock(store, domain):
        accounts, open_deals = await crm.open_opportunities_by_domain(domain)
        own = [d for d in open_deals if d.partner_id == partner_id]
        if own:
            raise DealAlreadyRegistered(domain, own[0].id)
        if open_deals:
            raise CompanyAlreadyRegistered(domain)
        customer = await _account(crm, body, accounts, domain, partner_id=partner_id, seed=seed)
        amount = Money(amount=format(Decimal(body.amount.amount), "f"), currency=body.amount.currency)
        create = OpportunityCreate(
            name=f"{body.company_name} (partner deal)"[:120],
            account_id=customer.id,
            close_date=body.close_date,
            amount=amount,
            description=_description(body),
            partner_id=partner_id,
        )
        deal, _ = await crm.create_opportunity(derived_id("opp_", "deal", *seed), create)
        if body.contact is not None:
            contact = body.contact
            await crm.upsert_contact_by_external_id(
                derived_id("con_", "contact", *seed),
                ContactUpsert(
                    account_id=customer.id,
                    last_name=contact.last_name,
                    first_name=contact.first_name,
                    email=contact.email,
                    phone=contact.phone,
                    title=contact.title,
                ),
            )
    return Registered(deal, customer)


async def _account(
    crm: CrmService, body: DealRegistration, accounts: list[Customer], domain: str, *, partner_id: str, seed: Any
) -> Customer:
    """The company's account: the partner's own among ``accounts``, else the oldest, else a new one."""
    if accounts:
        return next((a for a in accounts if a.partner_id == partner_id), accounts[0])
    created, _ = await crm.upsert_account_by_external_id(
        derived_id("cus_", "account", *seed),
        CustomerUpsert(name=body.company_name, domain=domain, currency=body.amount.currency, partner_id=partner_id),
    )
    return created
