"""Mounting the vendor sandboxes under ``/sandbox/<vendor>`` in the embedded default.

Each sandbox is a separate ASGI app answering in its vendor's own dialect, outside the
governance pipeline and the contracts. The same instance is handed to the connector (over
an in-process ASGI transport), so what a test sees under ``/sandbox/salesforce`` is exactly
the state the CRM system API works on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.handlers import asgi

if TYPE_CHECKING:
    from gateway.components import Components


def sandbox_mounts(components: Components) -> list[Any]:
    """Litestar mount handlers for every embedded sandbox; registers the apps on ``components``."""
    from sandboxes.netsuite import create_netsuite_sandbox
    from sandboxes.salesforce import create_salesforce_sandbox

    settings = components.settings
    salesforce = create_salesforce_sandbox(
        state_dir=components.sandbox_state_dir("salesforce"),
        client_id=settings.salesforce_client_id,
        client_secret=settings.salesforce_client_secret,
    )
    components.sandbox_apps["salesforce"] = salesforce

    @asgi("/sandbox/salesforce", is_mount=True, copy_scope=True)
    async def salesforce_sandbox(scope: Any, receive: Any, send: Any) -> None:
        await salesforce(scope, receive, send)

    # No certificate is registered here: a client uploads its public key through the sandbox's
    # POST /_control/certificates, as an administrator uploads it to the integration record.
    netsuite = create_netsuite_sandbox(state_dir=components.sandbox_state_dir("netsuite"))
    components.sandbox_apps["netsuite"] = netsuite

    @asgi("/sandbox/netsuite", is_mount=True, copy_scope=True)
    async def netsuite_sandbox(scope: Any, receive: Any, send: Any) -> None:
        await netsuite(scope, receive, send)

    return [salesforce_sandbox, netsuite_sandbox]
