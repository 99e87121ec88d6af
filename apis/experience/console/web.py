"""How the console answers a browser: rendered pages, its headers, its cookies.

Pages are Jinja2 templates (``templates/``, autoescaped) rendered by one environment of this
package; assets (``static/``) ship with the project — no CDN, no inline script or style, so
the Content-Security-Policy can say ``'self'`` and nothing else. Every console answer is
``Cache-Control: no-store`` (pages show live operational data and carry a CSRF token) and
may not be framed.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.datastructures import Cookie

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
BASE = "/console"
SESSION_COOKIE = "strata_console"
"""The session cookie (``__Host-`` prefixed when served over https)."""
SIGN_IN_COOKIE = "strata_console_sign_in"
"""The sign-in form's own CSRF cookie (double submit: there is no session yet)."""

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

# How a state reads, by more than colour: a symbol and a word in every badge.
STATE_LOOK: dict[str, tuple[str, str]] = {
    "completed": ("✓", "ok"),
    "needs_attention": ("⚠", "warn"),
    "failed": ("✗", "bad"),
    "held": ("⏸", "warn"),
    "compensated": ("↺", "muted"),
    "dismissed": ("–", "muted"),
    # business alerts (their status shares the badge)
    "firing": ("!", "bad"),
    "pending": ("…", "warn"),
    "resolved": ("✓", "ok"),
}
IN_FLIGHT_LOOK = ("●", "info")
EXCEPTION_STATES = ("needs_attention", "failed", "held")


def state_look(state: str) -> tuple[str, str]:
    """``(symbol, css class)`` of a business state."""
    return STATE_LOOK.get(state, IN_FLIGHT_LOOK)


def _when(value: str | None) -> str:
    """An ISO instant as ``YYYY-MM-DD HH:MM:SS`` UTC (``—`` for none)."""
    if not value:
        return "—"
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _age(seconds: float | None) -> str:
    """A duration for people: ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    if seconds is None or math.isnan(seconds):
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _seconds(value: float | None) -> str:
    """Seconds for people, with a decimal under a minute (``0.3 s``), else as :func:`_age`."""
    if value is None:
        return "—"
    return f"{value:.1f} s" if value < 60 else _age(value)


def _money(amount: str | None, currency: str | None) -> str:
    """A decimal string as people read an amount: ``15,600.00 USD`` (as given when not a number)."""
    if amount is None:
        return "—"
    try:
        text = f"{Decimal(amount):,.2f}"
    except InvalidOperation:
        text = amount
    return f"{text} {currency}" if currency else text


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value < 10_000 else _age(value / 1000)


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(when=_when, age=_age, ms=_ms, seconds=_seconds, money=_money)
    environment.globals.update(state_look=state_look, BASE=BASE, EXCEPTION_STATES=EXCEPTION_STATES)
    return environment


ENVIRONMENT = _environment()


def page(template: str, status: int = 200, cookies: list[Cookie] | None = None, **context: Any) -> Response[bytes]:
    """A rendered page with the console's headers."""
    html = ENVIRONMENT.get_template(template).render(**context)
    return Response(
        content=html.encode("utf-8"),
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers=HEADERS,
        cookies=cookies or [],
    )


def secure_transport(request: Request[Any, Any, Any], issuer: str) -> bool:
    """Whether the browser reached us over https (directly, through a trusted proxy, or by the public URL)."""
    return request.url.scheme == "https" or issuer.startswith("https://")


def session_cookie_name(request: Request[Any, Any, Any], issuer: str) -> str:
    """``__Host-strata_console`` over https (the browser then insists on Secure, Path=/ and no Domain)."""
    return f"__Host-{SESSION_COOKIE}" if secure_transport(request, issuer) else SESSION_COOKIE


def cookie(request: Request[Any, Any, Any], issuer: str, key: str, value: str, max_age: int) -> Cookie:
    """A console cookie: HttpOnly, SameSite=Strict, Secure over https; ``max_age`` 0 deletes it."""
    secure = secure_transport(request, issuer)
    host_prefixed = key.startswith("__Host-")
    return Cookie(
        key=key,
        value=value,
        max_age=max_age,
        path="/" if host_prefixed else BASE,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
