"""Binding contracts to handlers: one :class:`CompiledRoute` per contract operation.

At start-up every operation of every contract is matched, by method and path template, to
the Litestar handler serving it; the compiled route (scopes, cost, idempotency, lifecycle,
validators, policy chain) is stored in the handler's ``opt`` where the governance
middleware finds it. Operations without a handler and handlers without an operation are
reported, and a test keeps both lists empty outside the explicit exemptions.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute

from gateway.contracts.loader import ContractFile, discover, shared_dereferenced
from policies.chain import Chain
from policies.pipeline import ROUTE_OPT_KEY
from policies.request_contract import OperationValidators, compile_operation
from policies.routes import ApiVersion, CompiledRoute, Lifecycle

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_CONVERTER = re.compile(r"\{([^}:]+):[^}]+\}")

# Routes that have no contract, on purpose: protocol endpoints with their own RFCs,
# documentation, metrics, health, vendor sandboxes and the console.
UNCONTRACTED_PREFIXES = ("/oauth/", "/.well-known/", "/docs", "/metrics", "/health/", "/sandbox/", "/console")


@dataclass
class RouteTable:
    """The outcome of binding contracts to the app's handlers."""

    routes: list[CompiledRoute] = field(default_factory=list)
    apis: list[ApiVersion] = field(default_factory=list)
    operations_without_handler: list[str] = field(default_factory=list)
    handlers_without_operation: list[str] = field(default_factory=list)


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def api_version(contract: ContractFile, document: dict[str, Any]) -> ApiVersion:
    """The API version a contract describes, with its lifecycle and owner."""
    info = document.get("info", {})
    lifecycle = info.get("x-strata-lifecycle") or {}
    return ApiVersion(
        layer=contract.layer,
        name=contract.name,
        version=contract.version,
        base_path=contract.base_path,
        title=str(info.get("title", contract.api_id)),
        owner=str(info.get("x-strata-owner", "")),
        lifecycle=Lifecycle(
            state=lifecycle.get("state", "active"),
            deprecated_at=_epoch(lifecycle.get("deprecated_at")),
            sunset_at=_epoch(lifecycle.get("sunset_at")),
            successor=lifecycle.get("successor"),
        ),
    )


def _security(operation: dict[str, Any], document: dict[str, Any]) -> tuple[frozenset[str], ...]:
    requirements = operation.get("security", document.get("security", []))
    alternatives = []
    for requirement in requirements:
        scopes: set[str] = set()
        for scheme_scopes in requirement.values():
            scopes.update(scheme_scopes)
        alternatives.append(frozenset(scopes))
    # An empty alternative ({}) means anonymous access is allowed: the operation is public.
    if any(not alternative for alternative in alternatives):
        return ()
    return tuple(alternatives)


def _handler_index(app: Litestar) -> dict[tuple[str, str], Any]:
    index: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        template = _CONVERTER.sub(r"{\1}", route.path)
        for handler in route.route_handlers:
            for method in handler.http_methods:
                index[(method.upper(), template)] = handler
    return index


_COMPILED: dict[tuple[str, str, str], tuple[dict[str, Any], OperationValidators]] = {}
"""Validators compiled per (contract, path, method), with the dereferenced document they came from."""


def _validators(contract: ContractFile, document: dict[str, Any], path: str, method: str) -> OperationValidators:
    """The operation's validators, compiled once per process while its contract is unchanged.

    :func:`shared_dereferenced` hands out the same document until a contract file changes,
    so a cached entry is valid while its document is that one. Compiling every schema costs
    ~0.2 s per app: nothing for one server process, much for a test suite starting hundreds of
    apps. The compiled schemas are immutable and shared; each app gets its own query memo.
    """
    key = (str(contract.path.resolve()), path, method)
    cached = _COMPILED.get(key)
    if cached is None or cached[0] is not document:
        item = document["paths"][path]
        cached = (document, compile_operation(item[method], item.get("parameters")))
        _COMPILED[key] = cached
    return dataclasses.replace(cached[1], query_memo={})


def bind_contracts(app: Litestar, contracts_dir: Path, chain: Chain) -> RouteTable:
    """Compile every contract operation and attach it to its handler."""
    table = RouteTable()
    index = _handler_index(app)
    bound: set[tuple[str, str]] = set()
    for contract in discover(contracts_dir):
        document = shared_dereferenced(contract.path)
        api = api_version(contract, document)
        table.apis.append(api)
        for path, item in (document.get("paths") or {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                key = (method.upper(), contract.base_path + path)
                route = CompiledRoute(
                    api=api,
                    operation_id=str(operation.get("operationId", f"{method}{path}")),
                    method=key[0],
                    path_template=key[1],
                    security=_security(operation, document),
                    rate_cost=int(operation.get("x-strata-rate-cost", 1)),
                    idempotency=operation.get("x-strata-idempotency", "none"),
                    operation=operation,
                    validators=_validators(contract, document, path, method),
                )
                chain.compile(route)
                handler = index.get(key)
                if handler is None:
                    table.operations_without_handler.append(route.label)
                    continue
                handler.opt[ROUTE_OPT_KEY] = route
                bound.add(key)
                table.routes.append(route)
    for method, template in index:
        if (method, template) in bound or method in ("HEAD", "OPTIONS"):
            continue
        if template.startswith(UNCONTRACTED_PREFIXES) or template == "/":
            continue
        table.handlers_without_operation.append(f"{method} {template}")
    return table
