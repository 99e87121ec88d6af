"""The policy chain: one declared order, each policy choosing its routes, compiled per route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from gateway.app import GatewayApp, create_app
from policies.authorization import AuthorizationPolicy
from policies.chain import Chain, DuplicatePolicyError
from policies.lifecycle import LifecyclePolicy
from policies.routes import CompiledRoute
from tests.support.harness import gateway_settings
from tests.support.probe import probe_options

DECLARED = (
    "observe",
    "lifecycle",
    "request_limits",
    "pre_auth_limit",
    "authentication",
    "authorization",
    "rate_limit",
    "request_contract",
    "idempotency",
    "response_contract",
    "pii",
)


def _app(tmp_path: Path, **options: Any) -> GatewayApp:
    probe = probe_options(tmp_path, **options)
    handlers = probe.pop("extra_route_handlers")
    return create_app(gateway_settings(tmp_path / "state", **probe), extra_route_handlers=handlers)


def _route(app: GatewayApp, operation_id: str) -> CompiledRoute:
    return next(route for route in app.state.route_table.routes if route.operation_id == operation_id)


def _names(policies: tuple[Any, ...]) -> list[str]:
    return [policy.name for policy in policies]


def test_every_hook_runs_in_the_one_declared_order(tmp_path: Path) -> None:
    app = _app(tmp_path)
    assert tuple(policy.name for policy in app.state.chain) == DECLARED
    create = _route(app, "createProbeItem")  # POST, secured, idempotency required
    assert _names(create.policies) == [
        "request_limits",
        "pre_auth_limit",
        "authentication",
        "authorization",
        "rate_limit",
        "request_contract",
        "idempotency",
    ]
    # The way back runs inside out: the contract check, then the idempotency store, then audit.
    assert _names(create.response_policies) == ["response_contract", "idempotency"]
    assert _names(create.completion_policies) == ["idempotency", "observe"]


def test_each_policy_chooses_the_routes_it_guards(tmp_path: Path) -> None:
    app = _app(tmp_path)
    public = _route(app, "getProbePublic")  # GET, security: []
    assert _names(public.policies) == ["request_limits", "pre_auth_limit", "request_contract"]
    assert _names(public.response_policies) == ["response_contract"]
    assert _names(public.completion_policies) == ["observe"]
    read = _route(app, "getProbeItem")  # GET, secured: no idempotency on a safe method
    assert "idempotency" not in _names((*read.policies, *read.response_policies, *read.completion_policies))
    assert "authentication" in _names(read.policies)


def test_a_version_with_something_to_announce_gets_the_lifecycle_policy(tmp_path: Path) -> None:
    lifecycle = {"state": "deprecated", "deprecated_at": "2026-01-01T00:00:00Z"}
    app = _app(tmp_path, lifecycle=lifecycle)
    assert _names(_route(app, "getProbePublic").policies)[0] == "lifecycle"
    assert _names(_route(app, "createProbeItem").policies)[0] == "lifecycle"


def test_a_policy_switched_off_leaves_every_route_and_a_shadow_one_stays(tmp_path: Path) -> None:
    app = _app(tmp_path)
    chain: Chain = app.state.chain
    governance = app.state.governance
    chain.reconfigure(replace(governance, rate_limit=replace(governance.rate_limit, mode="off")))
    for route in app.state.route_table.routes:
        chain.compile(route)
        assert "rate_limit" not in _names(route.policies)
    chain.reconfigure(replace(governance, rate_limit=replace(governance.rate_limit, mode="shadow")))
    create = _route(app, "createProbeItem")
    chain.compile(create)
    assert "rate_limit" in _names(create.policies)


def test_a_chain_refuses_two_policies_of_one_name() -> None:
    with pytest.raises(DuplicatePolicyError, match="lifecycle"):
        Chain((LifecyclePolicy(), AuthorizationPolicy(), LifecyclePolicy()))


def test_a_chain_finds_its_policy_by_class() -> None:
    chain = Chain((LifecyclePolicy(),))
    assert isinstance(chain.policy(LifecyclePolicy), LifecyclePolicy)
    with pytest.raises(LookupError, match="AuthorizationPolicy"):
        chain.policy(AuthorizationPolicy)
