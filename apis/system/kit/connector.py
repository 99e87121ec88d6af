"""The base every vendor connector is built on.

A connector adds its vendor's dialect (authentication, paths, paging, error bodies) to what
:class:`VendorConnector` does the same way for every vendor:

* one HTTP exchange under the connector's deadline (:meth:`_exchange`), transport failures
  mapped onto the error tree;
* calls retried when safe, through the vendor's circuit breaker (:meth:`_retrying`, see
  :func:`~apis.system.kit.vendor_http.call_with_retries`);
* every :class:`~core.errors.StrataError` leaving :meth:`_retrying` marked with the connector's
  :attr:`system`, so the process layer knows which system failed without reading the detail;
* lenient JSON decoding (:meth:`_decode`, :mod:`apis.system.kit.decoding`);
* the HTTP client closed with the connector.

The client, base URL and breaker come from a :class:`~apis.system.kit.link.VendorLink` the
composition root built; a token cache (:mod:`apis.system.kit.tokens`) is the connector's own.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import httpx

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.decoding import decode_json
from apis.system.kit.vendor_http import RetryPolicy, call_with_retries, exchange
from core.errors import StrataError

T = TypeVar("T")


class VendorConnector:
    """One vendor account reached through ``client`` (network or an in-process sandbox)."""

    system: ClassVar[str]
    """The vendor's name in lineage, cross-references and errors (``"netsuite"``)."""
    display: ClassVar[str]
    """The vendor's name in error details (``"NetSuite"``)."""
    decimals: ClassVar[bool] = False
    """Decode non-integer JSON numbers as :class:`~decimal.Decimal` (vendors sending amounts as numbers)."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, config: RetryPolicy, breaker: CircuitBreaker | None
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self.config = config
        self.breaker = breaker
        self._random = random.Random()

    async def aclose(self) -> None:
        """Close the HTTP client the connector owns."""
        await self._client.aclose()

    async def _exchange(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One exchange under the connector's deadline (``config.timeout_seconds``)."""
        return await exchange(
            self._client, method, url, vendor=self.display, timeout_seconds=self.config.timeout_seconds, **kwargs
        )

    async def _retrying(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        policy: RetryPolicy | None = None,
        guarded: bool = True,
    ) -> T:
        """``attempt`` through the breaker (unless not ``guarded``), retried when ``idempotent``;
        errors leave marked with :attr:`system`."""
        try:
            return await call_with_retries(
                attempt,
                policy=policy or self.config,
                idempotent=idempotent,
                breaker=self.breaker if guarded else None,
                rng=self._random,
            )
        except StrataError as error:
            mark(error, self.system)
            raise

    def _decode(self, response: httpx.Response, strict: bool = True) -> Any:
        """The body as JSON (see :func:`~apis.system.kit.decoding.decode_json`)."""
        return decode_json(response, display=self.display, strict=strict, decimals=self.decimals)


def mark(error: StrataError, system: str) -> StrataError:
    """Name ``system`` as where ``error`` came from, unless a lower layer named one already."""
    if error.system is None:
        error.system = system
    return error
