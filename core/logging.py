"""Log configuration: one API (structlog), one JSON object per line, whoever logs.

Our code logs through ``structlog.get_logger(<name>)`` only. structlog hands every event to
the standard library's logger of that name (configured when this module is imported, so a
structlog line never bypasses the standard library), and the process's one handler
(:data:`_HANDLER`, installed by :func:`configure_logging`) renders structlog events and the
standard-library records of libraries alike, through structlog's ``ProcessorFormatter``: the
same JSON shape, the same processors. Libraries that install plain-text handlers of their own
or stop propagation (DBOS, granian, uvicorn; see :data:`ROUTED_LIBRARIES`) are routed to that
handler; client libraries that log whole URLs at INFO (httpx logs every vendor request line,
query string included, which may carry PII or SOQL) are raised to WARNING.

Two processors run on every line, whichever API emitted it:

* :func:`add_correlation` adds the ``request_id`` and ``trace_id`` of the request being
  handled (read from :data:`core.correlation.CURRENT`, set by the pipeline), so a
  line can be joined to its trace and its audit record;
* :class:`Redactor` removes what a log must never hold: values under credential keys
  (``authorization``, ``*token*``, ``*secret*``, ``password``, ``cookie``, ``query_string``,
  …) and under the configured personal-data keys (by default every name of
  :data:`core.personal_data.PERSONAL_FIELDS` — names, ``email``, ``phone``, address lines,
  ``tax_id`` — and whole addresses), at any depth; and, inside any string, query strings of
  URLs, ``Bearer`` / ``Basic`` credentials, JWTs, ``*token*=`` / ``*secret*=`` /
  ``password=`` form fields, and e-mail addresses while ``email`` is a personal-data key.
  It runs last, after exceptions are rendered, so a traceback's message is scrubbed too.

A structlog call takes its fields as keyword arguments (``log.info("outbox purged",
events=3)``); ``%s`` arguments are formatted into the event as the standard library would.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
import structlog.types

from core.correlation import CURRENT
from core.personal_data import EMAIL_IN_TEXT

NOISY_LIBRARIES = ("httpx", "httpcore", "hpack", "aiosqlite", "asyncio")
ROUTED_LIBRARIES = (
    "dbos",
    "_granian",
    "granian.access",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "sqlalchemy",
    "alembic",
    "httpx",
)
"""Library loggers whose lines must reach our handler: their own handlers are removed and they
propagate. DBOS adds a plain-text handler (and stops propagating) only to a logger without
handlers, so each keeps a :class:`logging.NullHandler`; granian and uvicorn configure theirs
before the app factory runs."""
REDACTED = "[redacted]"
ALWAYS_REDACTED_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "password",
        "passwd",
        "client_assertion",
        "assertion",
        "api_key",
        "apikey",
        "query",
        "query_string",
        "querystring",
        "url_query",
    }
)
"""Keys whose value is never logged (compared lower-case, ``-`` read as ``_``)."""
_SECRET_KEY_PARTS = ("token", "secret", "credential", "private_key", "api_key", "apikey", "license_key", "password")
"""A key containing any of these (``access_token``, ``client_secret``, ``x_api_key``, …) is redacted too."""
_IN_TEXT = re.compile(
    r"(?P<url>\b[a-z][a-z0-9+.-]*://[^\s?#\"'<>]*)\?[^\s#\"'<>]*"  # a URL's query string
    r"|(?P<scheme>\b(?:Bearer|Basic|DPoP)\s+)[A-Za-z0-9._~+/=-]+"  # an HTTP credential
    # a form field
    r"|(?P<param>\b[\w.-]*(?:token|secret|password|assertion|api_?key|license_?key)[\w.-]*=)[^\s&\"'<>]+"
    r"|\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",  # a JWT (JWS compact)
    re.IGNORECASE,
)
_configured = False


def _scrub_text(match: re.Match[str]) -> str:
    if match["url"] is not None:
        return f"{match['url']}?{REDACTED}"
    if match["scheme"] is not None:
        return f"{match['scheme']}{REDACTED}"
    if match["param"] is not None:
        return f"{match['param']}{REDACTED}"
    return REDACTED


class Redactor:
    """A structlog processor removing credentials and personal data from a log event.

    Keys are matched case-insensitively with ``-`` read as ``_``, in nested mappings and
    sequences too; strings anywhere are scrubbed of URL query strings, HTTP credentials and
    JWTs. The personal-data keys are replaced by :meth:`configure` (settings are per app).
    """

    def __init__(self, pii_fields: Iterable[str] = ()) -> None:
        self.keys = ALWAYS_REDACTED_KEYS
        self.configure(pii_fields)

    def configure(self, pii_fields: Iterable[str]) -> None:
        """Redact ``pii_fields`` (besides the credential keys) from now on."""
        self.keys = ALWAYS_REDACTED_KEYS | {name.lower().replace("-", "_") for name in pii_fields}
        self.emails_in_text = "email" in self.keys
        """E-mail addresses are personal data here: cut out of free text too, not only under their key."""

    def __call__(self, logger: Any, method: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
        for key, value in event_dict.items():
            event_dict[key] = REDACTED if self._sensitive(key) else self._clean(value)
        return event_dict

    def _sensitive(self, key: Any) -> bool:
        if not isinstance(key, str):
            return False
        name = key.lower().replace("-", "_")
        return name in self.keys or any(part in name for part in _SECRET_KEY_PARTS)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            if not value:
                return value
            text = _IN_TEXT.sub(_scrub_text, value)
            return EMAIL_IN_TEXT.sub(REDACTED, text) if self.emails_in_text and "@" in text else text
        if isinstance(value, Mapping):
            return {key: REDACTED if self._sensitive(key) else self._clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(item) for item in value]
        if isinstance(value, bytes | bytearray):
            return self._clean(value.decode("utf-8", "replace"))
        return value


REDACTOR = Redactor()
_HANDLER = logging.StreamHandler(sys.stderr)
"""The process's one log handler: JSON lines on standard error."""


def add_correlation(logger: Any, method: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    """Add ``request_id`` and ``trace_id`` of the request this line is logged for, if any."""
    current = CURRENT.get()
    if current is not None:
        request_id, traceparent = current
        event_dict.setdefault("request_id", request_id)
        event_dict.setdefault("trace_id", traceparent[3:35])
    return event_dict


def configure_logging(level: str, pii_fields: Iterable[str] = ()) -> None:
    """Install the JSON handler on the root logger and set the levels (every call).

    Args:
        level: minimum level of the lines written.
        pii_fields: log-event keys holding personal data, redacted wherever they appear
            (replaces the previous list on every call).
    """
    global _configured
    numeric = getattr(logging, level.upper(), logging.INFO)
    REDACTOR.configure(pii_fields)
    root = logging.getLogger()
    if not _configured:
        root.handlers[:] = [_HANDLER]
        _configured = True
    elif _HANDLER not in root.handlers:
        # Something replaced the root handlers since (e.g. a Litestar app built with its
        # default logging config): put ours back, leave theirs.
        root.addHandler(_HANDLER)
    root.setLevel(numeric)
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    for name in ROUTED_LIBRARIES:
        library = logging.getLogger(name)
        library.handlers[:] = [_PASS_THROUGH]
        library.propagate = True


_SHARED: tuple[structlog.types.Processor, ...] = (
    structlog.contextvars.merge_contextvars,
    add_correlation,
    structlog.stdlib.add_logger_name,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)
"""What every line gets, logged through structlog or through a standard-library logger."""

_HANDLER.setFormatter(
    structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            REDACTOR,
            structlog.processors.JSONRenderer(),
        ],
    )
)
_PASS_THROUGH = logging.NullHandler()
structlog.configure(
    processors=[
        structlog.stdlib.filter_by_level,  # a line below the level costs no processing
        *_SHARED,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)
