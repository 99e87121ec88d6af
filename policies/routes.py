"""A governed route, compiled once at start-up from its contract operation.

Everything a policy needs to know about the route it guards is here, decided before the
first request: required scopes, audience, rate cost, idempotency, lifecycle, validators,
and the ordered policy chain itself (:mod:`policies.chain`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from policies.base import CompletionHookNow, Policy, RequestHookNow, ResponseHookNow

IdempotencyMode = Literal["required", "optional", "none"]
LifecycleState = Literal["active", "deprecated", "retired"]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """``info.x-strata-lifecycle`` of an API version."""

    state: LifecycleState = "active"
    deprecated_at: float | None = None
    """Epoch seconds of deprecation (``Deprecation: @<epoch>``, RFC 9745)."""
    sunset_at: float | None = None
    """Epoch seconds of the sunset (``Sunset: <HTTP-date>``, RFC 8594)."""
    successor: str | None = None
    """Path or URL of the successor version (``Link: <...>; rel="successor-version"``)."""


@dataclass(frozen=True, slots=True)
class ApiVersion:
    """One API major version, i.e. one contract file."""

    layer: str
    """``system``, ``process``, ``experience`` or ``gateway``."""
    name: str
    """The API's name, e.g. ``crm``, ``partner-portal``."""
    version: int
    base_path: str
    """``/<layer>/<name>/v<N>``."""
    title: str = ""
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    owner: str = ""

    @property
    def api_id(self) -> str:
        """``<layer>/<name>/v<N>``, the key used in metrics and audit."""
        return f"{self.layer}/{self.name}/v{self.version}"


@dataclass(slots=True)
class CompiledRoute:
    """One contract operation bound to one handler, with its compiled policy chain."""

    api: ApiVersion
    operation_id: str
    method: str
    path_template: str
    """Full template, e.g. ``/system/crm/v1/accounts/{account_id}``."""
    security: tuple[frozenset[str], ...]
    """OAuth alternatives: any one suffices, each needs all its scopes. Empty = public."""
    rate_cost: int = 1
    idempotency: IdempotencyMode = "none"
    operation: dict[str, Any] = field(default_factory=dict)
    """The dereferenced OpenAPI operation object (parameters, requestBody, responses)."""
    validators: Any = None
    """Compiled request/response validators (``policies.request_contract``)."""
    policies: tuple[Policy, ...] = ()
    """Request hooks, in running order (set by :meth:`policies.chain.Chain.compile`)."""
    response_policies: tuple[Policy, ...] = ()
    """Response hooks, in running order."""
    completion_policies: tuple[Policy, ...] = ()
    """Completion hooks (audit, metrics, releasing locks), in running order."""
    request_steps: tuple[tuple[Policy, RequestHookNow | None], ...] = ()
    """``policies`` with the synchronous form of each one's hook, where it has one."""
    response_steps: tuple[tuple[Policy, ResponseHookNow | None], ...] = ()
    """``response_policies`` with the synchronous form of each one's hook, where it has one."""
    completion_steps: tuple[tuple[Policy, CompletionHookNow | None], ...] = ()
    """``completion_policies`` with the synchronous form of each one's hook, where it has one."""

    @property
    def label(self) -> str:
        """``METHOD template`` for logs, audit and metrics."""
        return f"{self.method} {self.path_template}"
