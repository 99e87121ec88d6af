"""The governance chain, declared: every policy in order, each with its config beside it.

This is the one place the order lives (``docs/architecture.md``, "One request"). Read it like nested
middleware, outermost first: request hooks run top to bottom, response and completion hooks
bottom to top (:mod:`policies.chain`). Correlation is not in the tuple: the pipeline applies
it to every request, governed or not, before the chain. Which of these policies guard a
given route is each policy's own :meth:`~policies.base.Policy.applies_to`, decided once per
route at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from policies.authentication import AuthenticationPolicy
from policies.authorization import AuthorizationPolicy
from policies.chain import Chain
from policies.idempotency import IdempotencyConfig, IdempotencyPolicy
from policies.lifecycle import LifecyclePolicy
from policies.observe import ObservePolicy
from policies.pii import PiiPolicy
from policies.pre_auth_limit import PreAuthLimitPolicy
from policies.rate_limit import RateLimitPolicy
from policies.request_contract import RequestContractPolicy
from policies.request_limits import RequestLimitsPolicy
from policies.response_contract import ResponseContractPolicy

if TYPE_CHECKING:
    from gateway.components import Components
    from gateway.settings import Settings
    from policies.governance import Governance


def governance_chain(settings: Settings, governance: Governance, components: Components) -> Chain:
    """The policy chain of this process: instances shared by every route."""
    return Chain(
        (
            ObservePolicy(components.audit_proxy),  # audit + metrics: completes last, sees every outcome
            LifecyclePolicy(),  # retired → 410 before any other work
            RequestLimitsPolicy(governance.request_limits),
            PreAuthLimitPolicy(governance.pre_auth_limit),  # cheap, before any signature check
            AuthenticationPolicy(governance.authentication, components.trusted_issuers, components.revocations),
            AuthorizationPolicy(),
            RateLimitPolicy(governance, components.rate_limit_backend, components.live_client_settings),
            RequestContractPolicy(),
            IdempotencyPolicy(
                IdempotencyConfig(retention_seconds=settings.idempotency_retention_seconds),
                components.idempotency_store,
            ),  # stores the response after the response contract checked it
            ResponseContractPolicy(settings.response_contract_mode, settings.problem_base_uri),
            PiiPolicy(),  # innermost: masks first, so the response contract checks the masked body
        )
    )
