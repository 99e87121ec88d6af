"""The AvaTax fixtures (:mod:`tests.support.avalara`), shared with the other tests of this vendor."""

from tests.support.avalara import connector, http, sandbox, service

__all__ = ["connector", "http", "sandbox", "service"]
