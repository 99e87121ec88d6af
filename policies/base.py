"""The contract every policy follows.

Like an Envoy HTTP filter, a policy returns a status and never drives the chain: ``None``
means *continue*, a :class:`~policies.context.Denial` means *stop with this problem*.
``mode`` decides what a denial does: ``enforce`` answers it, ``shadow`` only logs and
counts it, ``off`` keeps the policy out of the compiled chain altogether. Whether a policy
guards a route at all is its own decision (:meth:`Policy.applies_to`), taken once per route
when the chain is compiled (:mod:`policies.chain`).

Hooks are coroutines, but most do no I/O on most requests, and a coroutine costs more than
some of them do. A policy may therefore hand the pipeline a **synchronous form** of a hook
(:meth:`Policy.request_hook_now`, :meth:`Policy.response_hook_now`,
:meth:`Policy.completion_hook_now`), decided once per route when the chain is compiled. It
must behave exactly as the coroutine; a synchronous request hook that finds it needs I/O
after all (a token-cache miss) returns :data:`AWAIT`, and the pipeline then awaits
:meth:`Policy.on_request` instead, which starts over.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, Literal

from policies.context import CapturedResponse, Denial, RequestContext

if TYPE_CHECKING:
    from policies.governance import Governance
    from policies.routes import CompiledRoute

PolicyMode = Literal["enforce", "shadow", "off"]


class Deferred(Enum):
    """What a synchronous request hook returns when the request needs the coroutine after all."""

    AWAIT = "await"


AWAIT = Deferred.AWAIT
"""See :class:`Deferred`: the pipeline awaits :meth:`Policy.on_request` instead."""

RequestHookNow = Callable[[RequestContext], "Denial | Deferred | None"]
ResponseHookNow = Callable[[RequestContext, CapturedResponse], None]
CompletionHookNow = Callable[[RequestContext, int], None]


class Policy:
    """Base class: override :meth:`on_request`, :meth:`on_response` and/or :meth:`on_complete`.

    The pipeline calls only the hooks a policy overrides (``has_*_hook``, set per subclass).
    """

    name: ClassVar[str] = "policy"
    mode: PolicyMode = "enforce"
    has_request_hook: ClassVar[bool] = False
    has_response_hook: ClassVar[bool] = False
    has_completion_hook: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.has_request_hook = cls.on_request is not Policy.on_request
        cls.has_response_hook = cls.on_response is not Policy.on_response
        cls.has_completion_hook = cls.on_complete is not Policy.on_complete

    def applies_to(self, route: CompiledRoute) -> bool:
        """Whether this policy has work on ``route`` (decided once, when the chain is compiled)."""
        return True

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """Inspect the request; return a denial to stop it."""
        return None

    async def on_response(self, ctx: RequestContext, response: CapturedResponse) -> None:
        """Inspect or change the buffered response (headers, status, body)."""
        return None

    async def on_complete(self, ctx: RequestContext, status: int) -> None:
        """Called once the response is sent or the request denied (audit, metrics, locks)."""
        return None

    def request_hook_now(self) -> RequestHookNow | None:
        """The synchronous form of :meth:`on_request` (see the module docstring), or None."""
        return None

    def response_hook_now(self) -> ResponseHookNow | None:
        """The synchronous form of :meth:`on_response`, or None."""
        return None

    def completion_hook_now(self) -> CompletionHookNow | None:
        """The synchronous form of :meth:`on_complete`, or None."""
        return None

    def reconfigure(self, governance: Governance) -> None:
        """Take a new governance document (hot reload); policies configured by it override this.

        Called on the event loop between requests' awaits, so a request sees either the old
        or the new settings of a policy, never a mix.
        """
        return None
