"""The HTTP client a system API's connector talks through: the vendor, or its sandbox in process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from core.tracing import TracedClient

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from core.settings import Settings


def vendor_client(
    settings: Settings,
    *,
    vendor_url: str,
    sandbox_vendor: str,
    sandbox: Any | None,
    sandbox_base_url: str,
    tracer: Tracer | None,
    peer_service: str,
) -> tuple[httpx.AsyncClient, str]:
    """(client, base URL): the network when ``vendor_url`` is set, else an ASGI transport to the
    sandbox (the one given, or the embedded one built from :mod:`sandboxes.registry`)."""
    if vendor_url:
        return TracedClient(tracer=tracer, peer_service=peer_service), vendor_url
    if sandbox is None:
        from sandboxes.registry import build_embedded_sandbox

        sandbox = build_embedded_sandbox(settings, sandbox_vendor)
    client = TracedClient(
        transport=httpx.ASGITransport(app=sandbox), base_url=sandbox_base_url, tracer=tracer, peer_service=peer_service
    )
    return client, sandbox_base_url
