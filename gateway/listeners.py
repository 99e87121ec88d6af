"""The two listeners of a gateway: the public port, and the admin port (``STRATA_ADMIN_PORT``).

Both run the same app (:func:`gateway.app.create_app`); what differs is which paths each
answers, decided here once per process:

* **admin** (one server for the whole group of workers, started by ``strata serve`` in a
  process of its own): ``/metrics`` (every worker's, from prometheus_client's multiprocess
  files), ``/health/live``, ``/health/ready`` with every detail (checks, vendor circuits),
  ``/docs`` and, with ``admin_management``, the management API ``/gateway/v1``. Nothing else.
* **public**: everything, except that in production, or once an admin port is set, ``/metrics``
  and ``/docs`` are not served there and ``/health/ready`` answers without details (see
  :mod:`gateway.health`); with ``admin_management`` the management API leaves it too.

A path a listener does not serve is a 404 problem, as for any unknown path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from core.problems import PROBLEM_MEDIA_TYPE, problem_body

if TYPE_CHECKING:
    from gateway.settings import Settings

Listener = Literal["public", "admin"]
METRICS = "/metrics"
DOCS = "/docs"
HEALTH = "/health/"
MANAGEMENT = "/gateway/v1"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def admin_paths_split(settings: Settings) -> bool:
    """Whether the operational paths are off the public port: in production, or with an admin port."""
    return settings.mode == "production" or bool(settings.admin_port)


def public_port_restricted(settings: Settings) -> bool:
    """Whether the public port leaves any path to the admin listener."""
    return admin_paths_split(settings) or (settings.admin_management and bool(settings.admin_port))


def serves(listener: Listener, settings: Settings, path: str) -> bool:
    """Whether ``listener`` answers ``path`` under ``settings``."""
    if listener == "admin":
        return (
            _under(path, METRICS)
            or _under(path, DOCS)
            or path.startswith(HEALTH)
            or (settings.admin_management and _under(path, MANAGEMENT))
        )
    if settings.admin_management and settings.admin_port and _under(path, MANAGEMENT):
        return False
    if admin_paths_split(settings):
        return not (_under(path, METRICS) or _under(path, DOCS))
    return True


class ListenerApp:
    """The gateway app as one listener serves it (an ASGI app; lifespan events pass through)."""

    def __init__(self, app: Any, listener: Listener) -> None:
        """
        Args:
            app: the :class:`~gateway.app.GatewayApp` (typed loosely: the app imports this module).
            listener: which listener serves it.
        """
        self.app = app
        self.listener = listener
        self.settings: Settings = app.state.settings
        app.state.listener = listener
        self._not_found = problem_body(
            status=404,
            problem="not-found",
            title="Not Found",
            detail="no such resource on this listener",
            base_uri=self.settings.problem_base_uri,
        )

    @property
    def state(self) -> Any:
        """The app's state (as on :class:`~gateway.app.GatewayApp`)."""
        return self.app.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not serves(self.listener, self.settings, scope.get("path", "")):
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"cache-control", b"no-store")],
                }
            )
            await send({"type": "http.response.body", "body": self._not_found})
            return
        await self.app(scope, receive, send)
