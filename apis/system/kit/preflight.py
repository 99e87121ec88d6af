"""Preflight checks: does a vendor account have what its connector needs, before traffic depends on it.

Each vendor's checks live beside its connector (``apis/system/<domain>/preflight.py``) and answer
a list of :class:`Check` — one line each: what was checked, whether it holds, what was found and,
when it does not hold, what an operator does about it. The composition root runs them
(``strata vendors check``, ``GET /gateway/v1/vendors``; see :mod:`gateway.vendor_checks`).

:class:`Checks` collects them; :meth:`Checks.step` turns a Strata error raised by a vendor call
into a failed check instead of an exception, so one missing prerequisite never hides the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import msgspec

from core.errors import StrataError


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One prerequisite of a connector, checked against the vendor."""

    vendor: str
    """The vendor's name (``stripe``, ``salesforce``, …)."""
    name: str
    """What was checked: ``credentials``, ``api_version``, ``custom_fields``, …"""
    status: Literal["ok", "failed", "unchecked"]
    """``unchecked``: the vendor's API does not show it; ``action`` says how to verify it by hand."""
    detail: str
    """What was found (never a secret)."""
    action: str | None = None
    """What to do when it fails, or how to verify it by hand when unchecked (``None`` when it holds)."""

    @property
    def ok(self) -> bool:
        """Whether it did not fail (an unchecked prerequisite does not fail the preflight)."""
        return self.status != "failed"

    def line(self) -> str:
        """The check as one line of text: ``ok   stripe api_version: …`` or ``FAIL … → action``."""
        label = {"ok": "ok  ", "failed": "FAIL", "unchecked": "????"}[self.status]
        text = f"{label} {self.vendor} {self.name}: {self.detail}"
        return f"{text} → {self.action}" if self.action else text


class Checks:
    """The checks of one vendor, in the order they ran."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.results: list[Check] = []

    def passed(self, name: str, detail: str) -> None:
        """Record a check that holds."""
        self.results.append(Check(vendor=self.vendor, name=name, status="ok", detail=detail))

    def failed(self, name: str, detail: str, action: str) -> None:
        """Record a check that does not hold, with what to do about it."""
        self.results.append(Check(vendor=self.vendor, name=name, status="failed", detail=detail, action=action))

    def unchecked(self, name: str, detail: str, how_to_verify: str) -> None:
        """Record a prerequisite the vendor's API does not show, with how to verify it by hand."""
        self.results.append(
            Check(vendor=self.vendor, name=name, status="unchecked", detail=detail, action=how_to_verify)
        )

    def check(self, name: str, ok: bool, detail: str, action: str) -> bool:
        """Record ``ok`` under ``name``; ``action`` is kept only when it fails. Returns ``ok``."""
        if ok:
            self.passed(name, detail)
        else:
            self.failed(name, detail, action)
        return ok

    @property
    def ok(self) -> bool:
        """Whether every check so far holds."""
        return all(result.ok for result in self.results)

    @asynccontextmanager
    async def step(self, name: str, action: str) -> AsyncIterator[None]:
        """Run vendor calls; a :class:`~core.errors.StrataError` becomes a failed ``name`` check.

        The error's own detail says what the vendor answered (connectors never put secrets in it).
        """
        try:
            yield
        except StrataError as error:
            self.failed(name, f"{error.detail}", action)
