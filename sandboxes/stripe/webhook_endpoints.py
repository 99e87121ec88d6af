"""Webhook endpoints (``/v1/webhook_endpoints``): where events go, and in which API version.

Stripe renders the events it sends to an endpoint in that endpoint's ``api_version`` (set when
the endpoint is created, never changed afterwards: the update call takes no ``api_version``), or
in the account's default version when the endpoint has none — not in the version of the request
that caused the event. The object's shape is Stripe's published example (``webhook_endpoint`` in
``fixtures3.json``); ``secret`` is in the create answer only.

Sandbox choice: events are delivered to the one endpoint the sandbox is configured with (its
settings, or ``POST /_control/webhook_endpoint`` with ``url``, ``secret`` and ``api_version``),
which is listed here first and changed only through the control API; endpoints created through
this API are kept and listed, with their versions, but receive no deliveries.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sandboxes.stripe import params as p
from sandboxes.stripe.account import Account
from sandboxes.stripe.errors import StripeError, invalid
from sandboxes.stripe.lists import page
from sandboxes.stripe.store import new_id

ENDPOINT_PARAMS = ("url", "enabled_events", "api_version", "description", "metadata", "connect")
UPDATE_PARAMS = ("url", "enabled_events", "description", "metadata", "disabled")
VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


def _not_configured(account: Account, endpoint_id: str) -> None:
    configured = account.webhook_endpoint()
    if configured is not None and configured["id"] == endpoint_id:
        raise StripeError(400, "This sandbox endpoint is changed through POST /_control/webhook_endpoint.")


def endpoint_object(account: Account, url: str, events: list[str], api_version: str | None) -> dict[str, Any]:
    """A new ``webhook_endpoint``, stored (without its secret)."""
    endpoint: dict[str, Any] = {
        "id": new_id("webhook_endpoint"),
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": account.now(),
        "description": None,
        "enabled_events": events,
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": url,
    }
    return account.store.add("webhook_endpoint", endpoint)


def _events(params: dict[str, Any]) -> list[str]:
    value = params.get("enabled_events")
    events = [value] if isinstance(value, str) else value
    if not isinstance(events, list) or not events or not all(isinstance(e, str) and e for e in events):
        raise invalid("enabled_events", "Missing required param: enabled_events.", "parameter_missing")
    return events


def _url(params: dict[str, Any]) -> str:
    url = p.text(params, "url", need=True)
    assert url is not None
    if not url.startswith(("https://", "http://")):
        raise invalid("url", f"Invalid URL: {url[:100]}", "url_invalid")
    return url


def create_endpoint(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/webhook_endpoints``: the answer carries the signing ``secret``, this once."""
    p.check_known(params, ENDPOINT_PARAMS)
    version = p.text(params, "api_version")
    if version is not None and not VERSION.match(version):
        raise invalid("api_version", f"Invalid API version: {version[:40]}", "parameter_invalid_string")
    endpoint = endpoint_object(account, _url(params), _events(params), version)
    endpoint["description"] = p.text(params, "description")
    endpoint["metadata"] = p.metadata({}, params)
    return {**endpoint, "secret": "whsec_" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")}


def update_endpoint(account: Account, endpoint_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/webhook_endpoints/{id}`` (no ``api_version``: Stripe fixes it at creation)."""
    p.check_known(params, UPDATE_PARAMS)
    _not_configured(account, endpoint_id)
    endpoint = account.store.get("webhook_endpoint", endpoint_id)
    if "url" in params:
        endpoint["url"] = _url(params)
    if "enabled_events" in params:
        endpoint["enabled_events"] = _events(params)
    if "description" in params:
        endpoint["description"] = p.text(params, "description")
    if "disabled" in params:
        endpoint["status"] = "disabled" if p.boolean(params, "disabled") else "enabled"
    endpoint["metadata"] = p.metadata(endpoint["metadata"], params)
    account.store.touched("webhook_endpoint")
    return endpoint


def list_endpoints(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/webhook_endpoints``: the configured endpoint first (on the first page), then the others."""
    p.check_known(params, ("limit", "starting_after", "ending_before"))
    listed = page(account.store, "webhook_endpoint", "/v1/webhook_endpoints", params)
    configured = account.webhook_endpoint()
    if configured is not None and not params.get("starting_after") and not params.get("ending_before"):
        listed["data"] = [configured, *listed["data"]]
    return listed


def get_endpoint(account: Account, endpoint_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/webhook_endpoints/{id}``."""
    p.check_known(params, ())
    configured = account.webhook_endpoint()
    if configured is not None and configured["id"] == endpoint_id:
        return configured
    return account.store.get("webhook_endpoint", endpoint_id, status=404)


def delete_endpoint(account: Account, endpoint_id: str) -> dict[str, Any]:
    """``DELETE /v1/webhook_endpoints/{id}`` → ``{"id", "object": "webhook_endpoint", "deleted": true}``."""
    _not_configured(account, endpoint_id)
    account.store.get("webhook_endpoint", endpoint_id)
    del account.store.objects["webhook_endpoint"][endpoint_id]
    account.store.touched("webhook_endpoint")
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def check_version(version: str | None) -> None:
    """Refuse a malformed API version (control API)."""
    if version is not None and not VERSION.match(version):
        raise StripeError(400, f"Invalid API version: {version[:40]}", param="api_version")
