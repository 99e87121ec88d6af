"""Every experience API's router, in one list (the gateway serves each), and the web console's."""

from __future__ import annotations

from typing import Any


def experience_routers() -> list[Any]:
    """The routers of every experience API."""
    from apis.experience.console.routes import router as console
    from apis.experience.customer_portal.routes import router as customer_portal

    return [customer_portal, console]
