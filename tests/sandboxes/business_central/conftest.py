"""The Business Central fixtures (:mod:`tests.support.business_central`), shared with the other tests of this vendor."""

from tests.support.business_central import connector, odata, plain, sandbox

__all__ = ["connector", "odata", "plain", "sandbox"]
