"""Every experience API's router, in one list (the gateway serves each)."""

from __future__ import annotations

from typing import Any


def experience_routers() -> list[Any]:
    """The routers of every experience API."""
    from apis.experience.customer_portal.routes import router as customer_portal
    from apis.experience.operations.routes import router as operations

    return [customer_portal, operations]
