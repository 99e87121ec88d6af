"""The Oracle Fusion fixtures (:mod:`tests.support.oracle_fusion`)."""

from tests.support.oracle_fusion import plain, rest, sandbox

__all__ = ["plain", "rest", "sandbox"]
