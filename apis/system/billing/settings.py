"""Settings of Stripe, the vendor of the billing and payments system APIs (``STRATA_STRIPE_*``)."""

from __future__ import annotations

from typing import ClassVar

from core.settings import SettingsSection


class StripeSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The Stripe account behind ``/system/billing/v1`` and ``/system/payments/v1``."""

    SECTION: ClassVar[str] = "stripe"
    SECRETS: ClassVar[tuple[str, ...]] = ("secret_key", "webhook_secret")

    url: str = ""
    """Stripe API base URL (``https://api.stripe.com``); empty = the embedded sandbox, in process."""
    secret_key: str = ""
    """Stripe secret API key (``sk_live_…`` / ``sk_test_…``; read from the environment or a secret file).
    Empty with the embedded sandbox: its random key from ``sandbox-credentials.json``."""
    webhook_url: str = ""
    """Where the embedded Stripe sandbox POSTs its webhooks (e.g. this gateway's
    ``/system/payments/v1/webhooks/stripe``); empty = no deliveries. Real Stripe is configured in its Dashboard."""
    webhook_secret: str = ""
    """Signing secret of the Stripe webhook endpoint (``whsec_…``), used to verify ``Stripe-Signature``;
    several, comma-separated, while a secret is rolled (the sandbox signs with the first). Empty with the
    embedded sandbox: its random secret from ``sandbox-credentials.json``."""

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        """``webhook_secret`` split: every secret in force, the newest (the one the sandbox signs with) first."""
        return tuple(secret.strip() for secret in self.webhook_secret.split(",") if secret.strip())
