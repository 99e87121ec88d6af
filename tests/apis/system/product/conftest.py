"""The product platform fixtures (:mod:`tests.support.product_platform`), shared with the other tests of this vendor."""

from tests.support.product_platform import connector, http, sandbox, service

__all__ = ["connector", "http", "sandbox", "service"]
