"""Response contract: the handler's answer checked against the operation (policy 10).

``enforce`` (the test default) turns a drift into a 502 problem, so a handler that returns
what its contract does not promise fails its tests; ``shadow`` (the production default)
logs and counts the drift and lets the response through. Checked: the status is declared,
the media type is one the contract lists for it, and a JSON body matches its schema (an
NDJSON body: every line, against the media type's ``x-strata-item-schema``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import structlog
from prometheus_client import Counter

from core.problems import problem_body
from policies.base import Policy, ResponseHookNow
from policies.context import CapturedResponse, RequestContext
from policies.request_contract import SEQUENCE_MEDIA_TYPES, OperationValidators, body_errors
from policies.request_limits import media_type

logger = structlog.get_logger("strata.policies.response_contract")

RESPONSE_DRIFT = Counter(
    "strata_response_contract_violations_total",
    "Responses that did not match their contract",
    ["api", "operation", "mode"],
)


def response_violations(validators: OperationValidators, response: CapturedResponse) -> list[str]:
    """Ways in which ``response`` departs from the contract (empty when it conforms)."""
    declared = validators.response_for(response.status)
    if declared is None:
        return [f"status {response.status} is not declared"]
    if not response.body:
        return []
    received = media_type((response.header(b"content-type") or b"").decode("latin-1"))
    if declared.media_types and received not in declared.media_types:
        return [f"media type {received or 'none'} is not one of {', '.join(declared.media_types)}"]
    if received in SEQUENCE_MEDIA_TYPES:
        return _sequence_violations(declared.item_validator, response.body)
    if declared.validator is None or not received.endswith("json"):
        return []
    try:
        value = msgspec.json.decode(response.body)
    except msgspec.DecodeError:
        return ["the body is not valid JSON"]
    return [f"{error['pointer'] or '/'}: {error['detail']}" for error in body_errors(declared.validator, value, 10)]


def _sequence_violations(item_validator: Any, body: bytes, limit: int = 10) -> list[str]:
    """Violations of a one-JSON-document-per-line body: each line parsed and, with a schema, checked."""
    violations: list[str] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = msgspec.json.decode(line)
        except msgspec.DecodeError:
            violations.append(f"line {number}: not valid JSON")
        else:
            if item_validator is not None:
                for error in body_errors(item_validator, value, limit):
                    violations.append(f"line {number}: {error['pointer'] or '/'}: {error['detail']}")
        if len(violations) >= limit:
            break
    return violations[:limit]


class ResponseContractPolicy(Policy):
    """Compare every governed response with its contract."""

    name: ClassVar[str] = "response_contract"

    def __init__(self, mode: str, problem_base_uri: str) -> None:
        self.mode = mode  # type: ignore[assignment]
        self.problem_base_uri = problem_base_uri

    async def on_response(self, ctx: RequestContext, response: CapturedResponse) -> None:
        """See :meth:`on_response_now` (no I/O: the pipeline calls that one)."""
        self.on_response_now(ctx, response)

    def response_hook_now(self) -> ResponseHookNow:
        """:meth:`on_response_now`: this hook does no I/O."""
        return self.on_response_now

    def on_response_now(self, ctx: RequestContext, response: CapturedResponse) -> None:
        violations = response_violations(ctx.route.validators, response)
        if not violations:
            return
        RESPONSE_DRIFT.labels(ctx.route.api.api_id, ctx.route.operation_id, self.mode).inc()
        logger.warning(
            "response contract violation",
            request_id=ctx.request_id,
            route=ctx.route.label,
            violations=violations,
        )
        if self.mode != "enforce":
            ctx.shadow_denials.append(self.name)
            return
        response.status = 502
        response.headers = [(b"content-type", b"application/problem+json")]
        response.body = problem_body(
            status=502,
            problem="response-contract-violation",
            title="Response does not match the contract",
            detail="; ".join(violations),
            instance=ctx.path,
            request_id=ctx.request_id,
            base_uri=self.problem_base_uri,
        )
