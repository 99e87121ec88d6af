"""The contract every policy follows.

Like an Envoy HTTP filter, a policy returns a status and never drives the chain: ``None``
means *continue*, a :class:`~policies.context.Denial` means *stop with this problem*.
``mode`` decides what a denial does: ``enforce`` answers it, ``shadow`` only logs and
counts it, ``off`` keeps the policy out of the compiled chain altogether.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from policies.context import CapturedResponse, Denial, RequestContext

if TYPE_CHECKING:
    from policies.governance import Governance

PolicyMode = Literal["enforce", "shadow", "off"]


class Policy:
    """Base class: override :meth:`on_request` and/or :meth:`on_response`."""

    name: ClassVar[str] = "policy"
    mode: PolicyMode = "enforce"
    has_request_hook: ClassVar[bool] = True
    has_response_hook: ClassVar[bool] = False

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """Inspect the request; return a denial to stop it."""
        return None

    async def on_response(self, ctx: RequestContext, response: CapturedResponse) -> None:
        """Inspect or change the buffered response (headers, status, body)."""
        return None

    async def on_complete(self, ctx: RequestContext, status: int) -> None:
        """Called once the response is sent or the request denied (audit, metrics, locks)."""
        return None

    def reconfigure(self, governance: Governance) -> None:
        """Take a new governance document (hot reload); policies configured by it override this.

        Called on the event loop between requests' awaits, so a request sees either the old
        or the new settings of a policy, never a mix.
        """
        return None
