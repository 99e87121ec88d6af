"""The Stripe fixtures (:mod:`tests.support.stripe`), shared with the other tests of this vendor."""

from tests.support.stripe import gw, http, sandbox, shared_gateway

__all__ = ["gw", "http", "sandbox", "shared_gateway"]
