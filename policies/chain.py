"""The policy chain: one ordered tuple of policy instances, compiled per route at start-up.

The composition root declares the chain once, as one literal tuple (``gateway.chain``), each
policy built with its config beside it. The tuple reads like nested middleware, outermost
first:

* request hooks (:meth:`~policies.base.Policy.on_request`) run first to last;
* response hooks (:meth:`~policies.base.Policy.on_response`) and completion hooks
  (:meth:`~policies.base.Policy.on_complete`) run last to first, so the last policy to see
  the request is the first to see its response, and the outermost (audit and metrics) sees
  every outcome, denials by any other policy included.

Which policies guard a route is decided here, once per route, not per request: a policy in
``off`` mode is left out, and so is one whose :meth:`~policies.base.Policy.applies_to` says
it has nothing to do on the route (authentication on a public operation, idempotency on a
safe method). The result is stored on the :class:`~policies.routes.CompiledRoute`; the
pipeline only walks those tuples.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar

from policies.base import Policy

if TYPE_CHECKING:
    from policies.governance import Governance
    from policies.routes import CompiledRoute

P = TypeVar("P", bound=Policy)


class DuplicatePolicyError(ValueError):
    """Two policies of a chain share a name (denials, metrics and audit are keyed by it)."""


class Chain:
    """The ordered policies of the pipeline (see the module docstring)."""

    def __init__(self, policies: tuple[Policy, ...]) -> None:
        names = [policy.name for policy in policies]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise DuplicatePolicyError(f"policy names must be unique in a chain: {', '.join(repeated)}")
        self.policies = policies

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies)

    def policy(self, kind: type[P]) -> P:
        """The chain's policy of class ``kind``.

        Raises:
            LookupError: the chain has none.
        """
        for policy in self.policies:
            if isinstance(policy, kind):
                return policy
        raise LookupError(f"no {kind.__name__} in the chain")

    def compile(self, route: CompiledRoute) -> None:
        """Set the request, response and completion policies of ``route``, in running order."""
        applying = tuple(policy for policy in self.policies if policy.mode != "off" and policy.applies_to(route))
        route.policies = tuple(policy for policy in applying if policy.has_request_hook)
        route.response_policies = tuple(policy for policy in reversed(applying) if policy.has_response_hook)
        route.completion_policies = tuple(policy for policy in reversed(applying) if policy.has_completion_hook)
        # The synchronous forms are decided per route too (e.g. the rate limit's, memory backend only).
        route.request_steps = tuple((policy, policy.request_hook_now()) for policy in route.policies)
        route.response_steps = tuple((policy, policy.response_hook_now()) for policy in route.response_policies)
        route.completion_steps = tuple((policy, policy.completion_hook_now()) for policy in route.completion_policies)

    def reconfigure(self, governance: Governance) -> None:
        """Hand a new governance document to every policy (hot reload); recompile routes after."""
        for policy in self.policies:
            policy.reconfigure(governance)
